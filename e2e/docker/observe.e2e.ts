/**
 * What the switch and the CLI say about a release equals what the clients saw, for real: two model-server
 * stand-ins (test/fixtures/model-server, FROM scratch, from the local registry) behind the switch
 * (`gpu-services:switch`, built from switch/ or `$GPU_SWITCH_BIN`), on the real engine and the local dockerd, each
 * with an NVIDIA device request for GPU 0 (dockerd's stand-in hook; no GPU is used). GPU 0 declares 3 GiB: `tts`
 * is released blue-green (two copies of 1 GiB beside stt's), `stt` stop-then-start as its config asks, so the
 * switch holds stt's requests while v2 loads. The load: the hold lab's traffic on both services
 * (test/labs/modelTraffic.ts) and a GET of a path the stand-in does not serve (404) every 100 ms on each, through
 * one `pulumi up` that releases both v1 -> v2.
 *
 * Checked: the switch's Prometheus counters (`gpu-switch metrics` in its container) moved by exactly the
 * clients' answers by status class, per service; the held requests are counted (stt: at least every request that
 * waited out the load; tts: none); `gpu-services metrics --json` gives the counters the exposition gives;
 * `gpu-services logs tts --since <before the first up>`, run while both of tts's copies exist, shows the lines of
 * both releases; a real Prometheus (test/labs/prometheus.ts: built from the Go module proxy, run in the switch's
 * network namespace as docs/operations/metrics-and-logs.md says) answers PromQL with the same counts.
 */
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { docker } from "../../test/labs/docker";
import {
  HoldLab,
  IMAGE_LOAD_SECONDS,
  MODEL_SERVICES,
  sleep,
  switchContainer,
  type ModelService,
} from "../../test/labs/holdLab";
import { startModelTraffic } from "../../test/labs/modelTraffic";
import {
  prometheusBinary,
  startPrometheus,
  PROMETHEUS_VERSION,
  type RunningPrometheus,
} from "../../test/labs/prometheus";
import { freePorts } from "../../test/labs/releaseLab";
import { expectExit, type RunResult } from "../../test/labs/workspace";
import { PROJECT_DIR } from "../../test/support/harness";

const STACK = "observe-e2e";
/**
 * The loads: stt's is short (its requests are held through it); tts's v1 is short too, and its release loads for
 * the image's 30 s beside the old copy, the time `logs` has to read both (the CLI takes up to 20 s on a busy
 * machine).
 */
const LOAD = { stt: 8, tts: 5, ttsRelease: IMAGE_LOAD_SECONDS } as const;
/**
 * The real Prometheus: built from the Go module proxy once into its cache (about 13 minutes cold on 2 cores),
 * then reused; GPU_SERVICES_E2E_PROMETHEUS=0 leaves it out.
 */
const WITH_PROMETHEUS = process.env.GPU_SERVICES_E2E_PROMETHEUS !== "0";
const CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
type Classes = Record<(typeof CLASSES)[number], number>;

/** What the switch counts of one service: requests by status class, held and shed. */
interface Counted {
  readonly requests: Classes;
  readonly held: number;
  readonly shed: number;
}

interface World {
  lab: HoldLab;
  ports: Record<ModelService, number>;
  prometheus?: RunningPrometheus;
  /** The Prometheus binary, and how long its build took (0: from the cache). */
  prometheusBin?: { path: string; builtSeconds: number };
  /** Before the first up: `logs --since` from here shows every copy's lines. */
  since: string;
  durations: string[];
  stepStarted: number;
}
const world = {} as World;

const zero = (): Classes => ({ "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 });
const classOf = (status: number) => `${Math.floor(status / 100)}xx` as keyof Classes;

/** `gpu-services <verb> --stack <stack> …` in the lab's workspace. */
const gpuServices = (verb: string, ...args: string[]): Promise<RunResult> =>
  world.lab.ws.run(path.join(PROJECT_DIR, "node_modules", ".bin", "tsx"), [
    "cli/gpu-services.ts",
    verb,
    "--stack",
    STACK,
    ...args,
  ]);

/** One sample's value of the exposition's text format, `name{labels} value`, where every label given matches. */
function sampled(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** The switch's counters per service, from its Prometheus exposition (`gpu-switch metrics` in its container). */
function exposition(): Record<ModelService, Counted> {
  const text = docker(["exec", switchContainer(STACK), "/gpu-switch", "metrics"]);
  const of = (service: ModelService): Counted => ({
    requests: Object.fromEntries(
      CLASSES.map((c) => [c, sampled(text, "gpu_switch_requests_total", { service, class: c })]),
    ) as Classes,
    held: sampled(text, "gpu_switch_requests_held_total", { service }),
    shed: sampled(text, "gpu_switch_requests_shed_total", { service }),
  });
  return { stt: of("stt"), tts: of("tts") };
}

const minus = (a: Counted, b: Counted): Counted => ({
  requests: Object.fromEntries(CLASSES.map((c) => [c, a.requests[c] - b.requests[c]])) as Classes,
  held: a.held - b.held,
  shed: a.shed - b.shed,
});

/** The time of a scrape of Prometheus's that came after `t` (ms), waited for. */
async function scrapedAfter(prometheus: RunningPrometheus, t: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const last = await prometheus.lastScrape();
    if (last > t) return last;
    if (Date.now() > deadline) throw new Error(`Prometheus scraped nothing after ${new Date(t).toISOString()} in 30 s`);
    await sleep(250);
  }
}

/** A GET of a path the stand-in does not serve, every `intervalMs` on a new connection; its statuses counted. */
function startMissing(port: number, intervalMs = 100) {
  const statuses: (number | string)[] = [];
  const pending: Promise<void>[] = [];
  let running = true;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/missing", agent: false, timeout: 150_000 }, (res) => {
        res.resume();
        res.on("end", () => resolve(void statuses.push(res.statusCode ?? "no status")));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (e: NodeJS.ErrnoException) => resolve(void statuses.push(e.code ?? e.message)));
    });
  const loop = (async () => {
    while (running) {
      pending.push(one());
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(pending);
      return statuses;
    },
  };
}

/** The docker CLI's stdout and stderr, run without blocking the traffic's timers. */
async function dockerOut(args: string[]): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)("docker", args, { maxBuffer: 1 << 26 });
  return `${stdout}${stderr}`;
}

/**
 * `logs tts --since`, run as soon as both copies of tts run (the new one has said its release; the stand-in logs to
 * stderr): the old one is removed once the new one has loaded and the switch moved to it.
 */
async function logsWhileBothRun(deadline: number): Promise<RunResult | undefined> {
  const filters = ["--filter", "label=gpu-services.service=tts", "--filter", `label=gpu-services.stack=${STACK}`];
  while (Date.now() < deadline) {
    const copies = (await dockerOut(["ps", "-q", ...filters])).split("\n").filter(Boolean);
    if (copies.length === 2) {
      const logs = await Promise.all(copies.map((id) => dockerOut(["logs", id])));
      if (logs.some((l) => l.includes("(release v2,"))) {
        return gpuServices("logs", "tts", "--since", world.since);
      }
    }
    await sleep(500);
  }
  return undefined;
}

/** PromQL's sums by service and class, at two scrapes, moved by what the switch counted (the exposition's). */
async function expectPromql(
  prometheus: RunningPrometheus,
  scraped: [number, number],
  counted: Record<ModelService, Counted>,
): Promise<void> {
  const promql = async (metric: string, at: number) =>
    Object.fromEntries(
      (await prometheus.query(`sum by (service, class) (${metric})`, at)).map((r) => [
        `${r.metric.service} ${r.metric.class ?? ""}`.trim(),
        r.value,
      ]),
    );
  for (const metric of ["gpu_switch_requests_total", "gpu_switch_requests_held_total"]) {
    const [from, to] = [await promql(metric, scraped[0]), await promql(metric, scraped[1])];
    const moved = Object.fromEntries(Object.entries(to).map(([k, v]) => [k, v - (from[k] ?? 0)]));
    console.log(
      `[observe-e2e] PromQL sum by (service, class) (${metric}), after minus before: ${JSON.stringify(moved)}`,
    );
    for (const service of MODEL_SERVICES) {
      if (metric === "gpu_switch_requests_held_total")
        expect.soft(moved[service], `${service} held`).toBe(counted[service].held);
      else
        for (const c of CLASSES)
          expect.soft(moved[`${service} ${c}`], `${service} ${c}`).toBe(counted[service].requests[c]);
    }
  }
}

describe("the switch's metrics and the CLI's logs and metrics under a release, on the real engine and dockerd", () => {
  beforeAll(async () => {
    const started = Date.now();
    world.lab = await HoldLab.start("observe-e2e");
    if (WITH_PROMETHEUS) {
      const built = Date.now();
      world.prometheusBin = prometheusBinary();
      const how = world.prometheusBin.builtSeconds ? "built from the Go module proxy" : "from its cache";
      console.log(
        `[observe-e2e] Prometheus ${PROMETHEUS_VERSION} ${how} in ${((Date.now() - built) / 1000).toFixed(1)} s`,
      );
    } else console.log("[observe-e2e] no Prometheus (GPU_SERVICES_E2E_PROMETHEUS=0)");
    const [stt, tts] = await freePorts(2);
    world.ports = { stt, tts };
    world.durations = [];
    await world.lab.init(STACK, {
      gpuMemoryGiB: 3,
      holdSeconds: 10,
      readiness: true,
      services: {
        stt: { tag: "v1", port: stt, mode: "refuse", loadSeconds: LOAD.stt, queue: 4096 },
        tts: { tag: "v1", port: tts, mode: "503", loadSeconds: LOAD.tts, queue: 4096 },
      },
    });
    // stt's release: stop-then-start, as its config says (two copies would fit): its requests are held.
    world.lab.edit(STACK, "stt stop-then-start", (text) =>
      text.replace(/( {6}release:\n {8})(drainSeconds: 10)/, "$1strategy: stop-then-start\n        $2"),
    );
    world.durations.push(`images, registry and workspace ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 1_800_000);

  beforeEach(() => {
    world.stepStarted = Date.now();
  });

  afterEach((ctx) => {
    const seconds = ((Date.now() - world.stepStarted) / 1000).toFixed(1);
    world.durations.push(`${ctx.task.name.split(":")[0]} ${seconds} s`);
    console.log(`[observe-e2e] step ${ctx.task.name.split(":")[0]} took ${seconds} s`);
  });

  afterAll(async () => {
    const started = Date.now();
    world.prometheus?.remove();
    await world.lab?.destroy(STACK);
    await world.lab?.stop();
    world.durations?.push(`teardown ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`[observe-e2e] durations: ${world.durations?.join("; ")}`);
  });

  it("0: the first up: both stand-ins v1 behind the switch", async () => {
    world.since = new Date(Date.now() - 1000).toISOString();
    const first = expectExit(await world.lab.up(STACK), 0, "first pulumi up");
    console.log(`[observe-e2e] first up: ${first.seconds.toFixed(1)} s`);
    if (world.prometheusBin) world.prometheus = startPrometheus(switchContainer(STACK), world.prometheusBin.path);
  });

  it("(a) both released v1 -> v2 under load: the counters equal the clients' answers by class; held counted; metrics --json the same; logs shows both releases", async () => {
    await world.lab.release("release", STACK, "stt", "v2");
    await world.lab.release("release", STACK, "tts", "v2");
    world.lab.edit(STACK, `tts loads for the image's ${LOAD.ttsRelease} s`, (text) =>
      text.replace(/(\n {4}tts:\n[\s\S]*?) {8}MODEL_LOAD: 5s\n([\s\S]*?startPeriod: )5s/, `$1$2${LOAD.ttsRelease}s`),
    );
    const preview = expectExit(await world.lab.ws.pulumi("preview", "--stack", STACK), 0, "preview");
    expect(preview.output).toContain("tts: blue-green: 2 × 1 GiB + stt 1 GiB = 3 GiB ≤ 3 GiB on GPU 0");

    const before = exposition();
    // Prometheus has scraped the counters as they are before the traffic.
    const scrapedBefore = world.prometheus ? await scrapedAfter(world.prometheus, Date.now()) : 0;
    const traffic = MODEL_SERVICES.map((s) => startModelTraffic(world.ports[s]));
    const missing = MODEL_SERVICES.map((s) => startMissing(world.ports[s]));
    await sleep(2000);
    const up = world.lab.up(STACK);
    const logs = logsWhileBothRun(Date.now() + 240_000);
    const result = await up;
    await sleep(2000);
    const answers = await Promise.all(traffic.map((t) => t.stop()));
    const misses = await Promise.all(missing.map((m) => m.stop()));
    expectExit(result, 0, "pulumi up (stt and tts v1 -> v2)");
    await sleep(500);
    const after = exposition();
    const scrapedAfterLoad = world.prometheus ? await scrapedAfter(world.prometheus, Date.now()) : 0;

    const counted = { stt: minus(after.stt, before.stt), tts: minus(after.tts, before.tts) };
    MODEL_SERVICES.forEach((service, i) => {
      const seen = zero();
      const noStatus: string[] = [];
      for (const a of answers[i]) {
        if (a.status === undefined) noStatus.push(`${a.path}: ${a.error}`);
        else seen[classOf(a.status)]++;
      }
      for (const s of misses[i]) {
        if (typeof s === "number") seen[classOf(s)]++;
        else noStatus.push(`/missing: ${s}`);
      }
      const longWaits = answers[i].filter((a) => a.ended - a.sent > 3000).length;
      console.log(
        `[observe-e2e] ${service}: the clients saw ${JSON.stringify(seen)} (${answers[i].length + misses[i].length} ` +
          `requests, ${longWaits} waited over 3 s, ${noStatus.length} with no status); the switch counted ` +
          `${JSON.stringify(counted[service].requests)}, held ${counted[service].held}, shed ${counted[service].shed}`,
      );
      expect.soft(noStatus, `${service}'s requests answered with no status`).toEqual([]);
      expect.soft(counted[service].requests, `${service}: the switch's counts by class`).toEqual(seen);
      expect.soft(seen["4xx"], `${service}'s GETs of /missing`).toBe(misses[i].length);
      expect.soft(counted[service].shed).toBe(0);
      if (service === "stt") {
        // Each request that waited out (part of) the load was held; the service takes 200 ms.
        expect(counted.stt.held).toBeGreaterThanOrEqual(longWaits);
        expect(counted.stt.held).toBeGreaterThan(100);
      } else expect(counted.tts.held, "tts, blue-green, held nothing").toBe(0);
    });

    // A real Prometheus, scraping the switch from its namespace: PromQL gives the same counts.
    if (world.prometheus) await expectPromql(world.prometheus, [scrapedBefore, scrapedAfterLoad], counted);

    // gpu-services metrics --json: the counters now, as the exposition gives them (no traffic since).
    const report = expectExit(await gpuServices("metrics", "--json", "--since", "15m"), 0, "gpu-services metrics");
    const json = JSON.parse(report.stdout) as {
      services: { name: string; totals: { requests: Classes; held: number; shed: number } }[];
    };
    const again = exposition();
    for (const service of MODEL_SERVICES) {
      const { totals } = json.services.find((s) => s.name === service)!;
      expect.soft({ requests: totals.requests, held: totals.held, shed: totals.shed }, service).toEqual(again[service]);
    }

    // logs --since: both releases' lines of tts, read while both copies ran.
    const read = await logs;
    expect(read, "both copies of tts ran at once during the up").toBeDefined();
    expectExit(read!, 0, "gpu-services logs tts --since");
    const lines = read!.stdout.split("\n").filter(Boolean);
    console.log(
      `[observe-e2e] $ gpu-services logs tts --since ${world.since} (${read!.seconds.toFixed(1)} s)\n${lines.join("\n")}`,
    );
    for (const release of ["v1", "v2"]) {
      expect(lines.some((l) => l.startsWith("local/tts-") && l.includes(`(release ${release},`))).toBe(true);
    }
    // The switch's lines since the same time (all of them: it logs each admin request), stt's route ready with v1,
    // then, after the hold, with v2.
    const sw = await gpuServices(
      "logs",
      "--switch",
      "--since",
      world.since,
      "--tail",
      "10000",
      "--grep",
      "route ready",
    );
    expectExit(sw, 0, "gpu-services logs --switch --since --grep");
    const ready = sw.stdout
      .split("\n")
      .filter((l) => l.startsWith(`local/${switchContainer(STACK)} `) && l.includes(`"route":"stt-${world.ports.stt}"`))
      .map((l) => /"release":"([^"]*)"/.exec(l)?.[1]);
    console.log(
      `[observe-e2e] stt's route ready in the switch's log, with releases: ${ready.join(", ")}` +
        (ready.length ? "" : `\n--- stdout ---\n${sw.stdout.slice(-3000)}\n--- stderr ---\n${sw.stderr.slice(-2000)}`),
    );
    expect(new Set(ready).size).toBe(2);
  });
});
