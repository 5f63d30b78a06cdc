/**
 * Client-side traffic for releases, loopback only. `startProbe`: a GET every 50 ms, reporting the longest stretch
 * without a good answer. `startTraffic`: a GET every 20 ms plus a loop of 8 KiB POSTs on keep-alive connections,
 * recording every request (send and end time, status, the release that answered, the error), with `figures`
 * for failures, the longest gap and latency percentiles, steady and during a window.
 */
import * as http from "node:http";

/** An HTTP probe every 50 ms, for the downtime of a release: the longest stretch without a good answer. */
export interface ProbeReport {
  readonly requests: number;
  readonly failures: number;
  /** The longest time between two good answers (or from the start/to the end, when failing there). */
  readonly longestGapMs: number;
}

export function startProbe(url: string, intervalMs = 50): { stop(): Promise<ProbeReport> } {
  let running = true;
  let requests = 0;
  let failures = 0;
  let lastGood = Date.now();
  let longestGapMs = 0;
  const loop = (async () => {
    while (running) {
      const sent = Date.now();
      requests++;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await response.text();
        if (!response.ok) throw new Error(String(response.status));
        longestGapMs = Math.max(longestGapMs, Date.now() - lastGood);
        lastGood = Date.now();
      } catch {
        failures++;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - sent))));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      longestGapMs = Math.max(longestGapMs, failures > 0 ? Date.now() - lastGood : 0);
      return { requests, failures, longestGapMs };
    },
  };
}

/** One request of `startTraffic`, as the client saw it. Times are ms since the epoch, fractional. */
export interface Answer {
  readonly kind: "get" | "post";
  readonly sent: number;
  readonly ended: number;
  /** The HTTP status, when an answer came. */
  readonly status?: number;
  /** The first line of the body: the release that answered (the web image's RELEASE_PATH). */
  readonly release?: string;
  /** Why the request failed (a connection error, a timeout, a status other than 200, a POST body not read). */
  readonly error?: string;
  /** It went over a kept-alive connection that had carried a request before. */
  readonly reused: boolean;
}

export const isGood = (a: Answer): boolean => a.error === undefined;

export interface TrafficOptions {
  /** Time between the starts of two GETs (default 20 ms; a GET that takes longer delays the next). */
  readonly getIntervalMs?: number;
  /** The POST body size (default 8 KiB); POSTs go one after the other with no pause. */
  readonly postBytes?: number;
  /** A request gets this long to answer (default 15 s: more than the switch's longest hold). */
  readonly timeoutMs?: number;
}

/** Wall-clock ms with sub-ms resolution, comparable with Docker's timestamps (same machine, same clock). */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * Load like CAAL's: a GET every 20 ms and a loop of POSTs with an 8 KiB body, each on its own keep-alive
 * connection (node:http Agents with keepAlive and one socket, so connections are reused as a client pool does).
 * Every request is recorded. Only loopback URLs are accepted.
 */
export function startTraffic(
  url: string,
  options: TrafficOptions = {},
): { answers: readonly Answer[]; stop(): Promise<Answer[]> } {
  const target = new URL(url);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(target.hostname) && !target.hostname.startsWith("127.")) {
    throw new Error(`traffic only goes to loopback, not ${target.hostname}`);
  }
  const { getIntervalMs = 20, postBytes = 8192, timeoutMs = 15_000 } = options;
  const body = Buffer.alloc(postBytes, "a");
  const answers: Answer[] = [];
  const agents = [1, 2].map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  let running = true;

  const one = (kind: Answer["kind"], agent: http.Agent): Promise<Answer> =>
    new Promise((resolve) => {
      const sent = now();
      let reused = false;
      let settled = false;
      const done = (fields: Partial<Answer>) => {
        if (settled) return;
        settled = true;
        const answer = { kind, sent, ended: now(), reused, ...fields };
        answers.push(answer);
        resolve(answer);
      };
      const request = http.request(
        target,
        {
          method: kind === "get" ? "GET" : "POST",
          agent,
          timeout: timeoutMs,
          headers: kind === "post" ? { "content-type": "application/octet-stream", "content-length": postBytes } : {},
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", (error) => done({ status: response.statusCode, error: error.message }));
          response.on("end", () => {
            const lines = Buffer.concat(chunks).toString("utf8").trim().split("\n");
            const release = lines[0]?.trim() || undefined;
            const status = response.statusCode;
            let error: string | undefined;
            if (status !== 200) error = `status ${status}`;
            else if (!release) error = "an empty answer";
            else if (kind === "post" && !new RegExp(`^received\\s+${postBytes} bytes$`).test(lines[1]?.trim() ?? "")) {
              error = `the POST body was not read in full: ${JSON.stringify(lines[1] ?? "")}`;
            }
            done({ status, release, error });
          });
        },
      );
      request.on("socket", () => (reused = request.reusedSocket));
      request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on("error", (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
      request.end(kind === "post" ? body : undefined);
    });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const getLoop = (async () => {
    // On a fixed schedule (a GET that takes longer moves it on, with no burst to catch up): timers may fire a
    // little early, which a delay measured from each send would add up to more than one GET per interval.
    let next = now();
    while (running) {
      next = Math.max(next + getIntervalMs, now());
      await one("get", agents[0]);
      await sleep(Math.max(0, next - now()));
    }
  })();
  const postLoop = (async () => {
    while (running) {
      // A refused connection returns at once: do not spin on it.
      if (!isGood(await one("post", agents[1]))) await sleep(getIntervalMs);
    }
  })();
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all([getLoop, postLoop]);
      for (const agent of agents) agent.destroy();
      return [...answers].sort((a, b) => a.sent - b.sent);
    },
  };
}

export interface Figures {
  readonly requests: number;
  readonly failures: number;
  /** The longest time without a good answer ending, within the range (its edges count as answers). */
  readonly longestGapMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface Range {
  readonly from: number;
  readonly to: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Figures of the answers sent within `ranges` (all of them when none is given). The gap is taken per range,
 * over good answers ending in it, with the range's start and end as edges.
 */
export function figures(answers: readonly Answer[], ranges?: readonly Range[]): Figures {
  const all: Range[] = [
    { from: Math.min(...answers.map((a) => a.sent)), to: Math.max(...answers.map((a) => a.ended)) },
  ];
  const within = ranges ?? all;
  const sent = answers.filter((a) => within.some((r) => a.sent >= r.from && a.sent < r.to));
  const latencies = sent
    .filter(isGood)
    .map((a) => a.ended - a.sent)
    .sort((a, b) => a - b);
  let longestGapMs = 0;
  for (const range of within) {
    const ends = answers
      .filter((a) => isGood(a) && a.ended >= range.from && a.ended <= range.to)
      .map((a) => a.ended)
      .sort((a, b) => a - b);
    const points = [range.from, ...ends, range.to];
    for (let i = 1; i < points.length; i++) longestGapMs = Math.max(longestGapMs, points[i] - points[i - 1]);
  }
  return {
    requests: sent.length,
    failures: sent.filter((a) => !isGood(a)).length,
    longestGapMs,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length ? latencies[latencies.length - 1] : NaN,
  };
}

/** Steady (before and after the window) and during the window, per kind and for all requests together. */
export function steadyAndDuring(answers: readonly Answer[], window: Range) {
  const start = Math.min(...answers.map((a) => a.sent));
  const end = Math.max(...answers.map((a) => a.ended));
  const steady = [
    { from: start, to: window.from },
    { from: window.to, to: end },
  ].filter((r) => r.to > r.from);
  const of = (kind?: Answer["kind"]) => {
    const list = kind ? answers.filter((a) => a.kind === kind) : answers;
    return { steady: figures(list, steady), during: figures(list, [window]) };
  };
  return { all: of(), get: of("get"), post: of("post") };
}

export function formatFigures(f: Figures): string {
  const ms = (x: number) => (Number.isNaN(x) ? "-" : `${x.toFixed(1)} ms`);
  return `${f.failures}/${f.requests} failed, longest gap ${ms(f.longestGapMs)}, p50 ${ms(f.p50Ms)}, p99 ${ms(f.p99Ms)}, max ${ms(f.maxMs)}`;
}

/** The answers per release, in the order of their first answer, with counts: `v1 ×812, v2 ×640`. */
export function releasesSeen(answers: readonly Answer[]): string {
  const counts = new Map<string, number>();
  for (const a of [...answers].sort((x, y) => x.ended - y.ended)) {
    if (isGood(a)) counts.set(a.release!, (counts.get(a.release!) ?? 0) + 1);
  }
  return [...counts].map(([release, n]) => `${release} ×${n}`).join(", ");
}

/** The first good answer (by end time) from a release. */
export function firstAnswerFrom(answers: readonly Answer[], release: string): Answer | undefined {
  return answers.filter((a) => isGood(a) && a.release === release).sort((a, b) => a.ended - b.ended)[0];
}
