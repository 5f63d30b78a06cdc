/**
 * Client traffic of the model-server stand-in (test/fixtures/model-server), loopback only, as STT and TTS
 * clients send it: a GET of /v1/models every 20 ms, each on a new connection and sent on schedule whether the
 * earlier ones were answered or not (open loop: requests held by the switch pile up as a real client's would),
 * and two loops of POSTs, each on one keep-alive connection: a multipart upload of a one-second WAV to
 * /transcribe (STT) and a JSON synthesis request to /v1/audio/speech (TTS); or, for throughput, only POST loops
 * (closed loop: each sends its next request when its last was answered), as many as asked. Every request is
 * recorded as probe.ts records them (so its figures apply), with the copy and release that answered and a 503's
 * Retry-After.
 */
import * as http from "node:http";
import { now, type Answer } from "./probe";

export type ModelPath = "/v1/models" | "/transcribe" | "/v1/audio/speech";

/** One request as the client saw it; `release` is the answer's X-Release. */
export interface ModelAnswer extends Answer {
  readonly path: ModelPath;
  /** The copy (container hostname) that answered: its X-Copy header. */
  readonly copy?: string;
  /** A 503's Retry-After header. */
  readonly retryAfter?: string;
}

export interface ModelTrafficOptions {
  /** Time between two GETs' sends (default 20 ms). */
  readonly getIntervalMs?: number;
  /** A request gets this long to answer (default 150 s: more than any hold of the e2e). */
  readonly timeoutMs?: number;
  /** Send the GETs (default true); without them, only the POST loops run (closed loop, e.g. for throughput). */
  readonly gets?: boolean;
  /** The POST loops, one keep-alive connection each (default one to /transcribe and one to /v1/audio/speech). */
  readonly posts?: readonly ModelPath[];
}

/** The audio of /transcribe: one second of 16 kHz mono 16-bit silence, as a WAV. */
function oneSecondWav(): Buffer {
  const samples = 16_000;
  const wav = Buffer.alloc(44 + 2 * samples);
  wav.write("RIFF", 0);
  wav.writeUInt32LE(36 + 2 * samples, 4);
  wav.write("WAVEfmt ", 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(16_000, 24);
  wav.writeUInt32LE(32_000, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write("data", 36);
  wav.writeUInt32LE(2 * samples, 40);
  return wav;
}

const AUDIO = oneSecondWav();
const BOUNDARY = "gpu-services-e2e-boundary";
const MULTIPART = Buffer.concat([
  Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="audio"; filename="one-second.wav"\r\n` +
      "Content-Type: audio/wav\r\n\r\n",
  ),
  AUDIO,
  Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
]);
const SPEECH = Buffer.from(JSON.stringify({ input: "hello", voice: "af_heart" }));

const REQUESTS: Record<ModelPath, { method: string; type?: string; body?: Buffer }> = {
  "/v1/models": { method: "GET" },
  "/transcribe": { method: "POST", type: `multipart/form-data; boundary=${BOUNDARY}`, body: MULTIPART },
  "/v1/audio/speech": { method: "POST", type: "application/json", body: SPEECH },
};

/** Why a 200 answer is not what the stand-in sends for `path`, or undefined when it is. */
function badBody(path: ModelPath, body: Buffer, release: string | undefined): string | undefined {
  if (!release) return "no X-Release header";
  if (path === "/v1/audio/speech") return body.subarray(0, 4).toString() === "RIFF" ? undefined : "not a WAV";
  try {
    const json = JSON.parse(body.toString("utf8")) as { release?: string; bytes?: number };
    if (json.release !== release) return `the body names release ${json.release}`;
    if (path === "/transcribe" && json.bytes !== AUDIO.length) return `the audio arrived with ${json.bytes} bytes`;
    return undefined;
  } catch {
    return `not JSON: ${JSON.stringify(body.toString("utf8").slice(0, 80))}`;
  }
}

function send(port: number, path: ModelPath, agent: http.Agent | false, timeoutMs: number): Promise<ModelAnswer> {
  const { method, type, body } = REQUESTS[path];
  const kind = method === "GET" ? "get" : "post";
  return new Promise((resolve) => {
    const sent = now();
    let reused = false;
    let settled = false;
    const done = (fields: Partial<ModelAnswer>) => {
      if (settled) return;
      settled = true;
      resolve({ kind, path, sent, ended: now(), reused, ...fields });
    };
    const headers = body ? { "content-type": type!, "content-length": body.length } : {};
    const request = http.request(
      { host: "127.0.0.1", port, path, method, agent, timeout: timeoutMs, headers },
      (response) => {
        const chunks: Buffer[] = [];
        const status = response.statusCode;
        const release = response.headers["x-release"] as string | undefined;
        const copy = response.headers["x-copy"] as string | undefined;
        const retryAfter = response.headers["retry-after"] as string | undefined;
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", (error) => done({ status, release, copy, error: error.message }));
        response.on("end", () => {
          const error = status !== 200 ? `status ${status}` : badBody(path, Buffer.concat(chunks), release);
          done({ status, release, copy, retryAfter, ...(error ? { error } : {}) });
        });
      },
    );
    request.on("socket", () => (reused = request.reusedSocket));
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    request.end(body);
  });
}

export interface ModelTraffic {
  /** Every answer so far, in the order they ended. */
  readonly answers: readonly ModelAnswer[];
  /** Stop sending; resolves, once every request sent has ended, with all of them sorted by send time. */
  stop(): Promise<ModelAnswer[]>;
}

/** Start the traffic to the switch's port on 127.0.0.1. */
export function startModelTraffic(port: number, options: ModelTrafficOptions = {}): ModelTraffic {
  const { getIntervalMs = 20, timeoutMs = 150_000, gets = true } = options;
  const postPaths = options.posts ?? ["/transcribe", "/v1/audio/speech"];
  const answers: ModelAnswer[] = [];
  const pending: Promise<void>[] = [];
  let running = true;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const record = (p: Promise<ModelAnswer>) => p.then((a) => void answers.push(a));

  const getLoop = (async () => {
    // On a fixed schedule, with no burst to catch up when a timer fires late.
    let next = now();
    while (running && gets) {
      pending.push(record(send(port, "/v1/models", false, timeoutMs)));
      next = Math.max(next + getIntervalMs, now());
      await sleep(Math.max(0, next - now()));
    }
  })();
  const agents: http.Agent[] = [];
  const postLoop = async (path: ModelPath) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    while (running) {
      const answer = await send(port, path, agent, timeoutMs);
      answers.push(answer);
      // A refusal comes back at once: do not spin on it.
      if (answer.error !== undefined) await sleep(getIntervalMs);
    }
  };
  const posts = postPaths.map(postLoop);
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all([getLoop, ...posts]);
      await Promise.all(pending);
      for (const agent of agents) agent.destroy();
      return [...answers].sort((a, b) => a.sent - b.sent);
    },
  };
}
