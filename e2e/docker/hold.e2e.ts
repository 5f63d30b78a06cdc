/**
 * No request lost while a model loads, for real: two model-server stand-ins (test/fixtures/model-server, FROM
 * scratch, from the local registry) behind the switch (`gpu-services:switch`, built from switch/ or
 * `$GPU_SWITCH_BIN`), on the real engine and the local dockerd, each with an NVIDIA device request for GPU 0
 * (dockerd's stand-in hook; no GPU is used). GPU 0 holds one copy of each, so both are stop-then-start. `stt`
 * loads for 30 s and `tts` for 10 s, refusing connections or answering 503 while they load (MODEL_MODE); each
 * transcription or synthesis takes 200 ms. Their readiness check is declared (GET /health, 2 passes in a row) and
 * the hold's budget is the default, the healthcheck's start period + 30 s. The traffic, on both services
 * (test/labs/modelTraffic.ts): a GET every 20 ms on new connections, open loop, plus a multipart POST loop to
 * /transcribe and a JSON POST loop to /v1/audio/speech on keep-alive connections, all to 127.0.0.1.
 *
 * Steps: (a) stop-then-start releases in each load mode, (d) one of them a rollback, (c) crashes in each mode (the
 * copy's process killed from the host: its restart policy brings it back and it loads again), (b) the queue cap
 * exceeded during a load, (f) a release whose readiness never passes and the rollback after it, (e) blue/green in
 * the mode that answers 503 while loading. Each prints its figures and its duration.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { docker } from "../../test/labs/docker";
import {
  HoldLab,
  MODEL_SERVICES,
  routeTable,
  serviceContainer,
  sleep,
  switchLog,
  type HoldStackOptions,
  type MeasuredModelUp,
  type ModelService,
  type RouteCounters,
} from "../../test/labs/holdLab";
import { startModelTraffic, type ModelAnswer, type ModelPath } from "../../test/labs/modelTraffic";
import { figures, formatFigures, isGood, now, releasesSeen, type Range } from "../../test/labs/probe";
import { freePorts, GPU_REQUEST } from "../../test/labs/releaseLab";
import { expectExit } from "../../test/labs/workspace";

const STACK = "hold-e2e";
const LOAD = { stt: 30, tts: 10 } as const;
/** stt's queue holds a GET every 20 ms through a release that never passes (60 s); tts's is small, for (b). */
const QUEUE = { stt: 4096, tts: 8 } as const;
/** The hold budget: the start period (the load) + 30 s. */
const HOLD_SECONDS = LOAD.stt + 30;
/** The push's wait for stt's readiness: the healthcheck's worst case (start period, 2 × (1 s + 1 s)) + 60 s. */
const STT_WAIT_SECONDS = LOAD.stt + 2 * 2 + 60;
const PATHS: readonly ModelPath[] = ["/v1/models", "/transcribe", "/v1/audio/speech"];

interface World {
  lab: HoldLab;
  ports: Record<ModelService, number>;
  durations: string[];
  stepStarted: number;
}
const world = {} as World;

const routeId = (service: ModelService) => `${service}-${world.ports[service]}`;
const dockerAsync = async (args: string[]) => (await promisify(execFile)("docker", args)).stdout.trim();

/** stt answers 503 while it loads (MODEL_MODE), instead of refusing connections. */
const stt503 = (text: string) => text.replace(/(\n {4}stt:\n[\s\S]*?MODEL_MODE: )"refuse"/, '$1"503"');
const setGpuMemory = (gib: number) => (text: string) => text.replace(/(- id: "0"\n\s+memoryGiB: )\d+/, `$1${gib}`);

/** The route's counters now (the docker CLI run without blocking the traffic's timers). */
async function counters(service: ModelService): Promise<RouteCounters> {
  const out = await dockerAsync(["exec", `gpu-switch-${STACK}`, "/gpu-switch", "upstreams"]);
  return JSON.parse(out).routes[routeId(service)];
}

const delta = (after: RouteCounters, before: RouteCounters) => ({
  held: after.held - before.held,
  shed: after.shed - before.shed,
  replayed: after.replayed - before.replayed,
  "5xx": (after.requests["5xx"] ?? 0) - (before.requests["5xx"] ?? 0),
});

/** The failed requests, each with its path, when it was sent into the window, its wait and why. */
const failedOf = (answers: readonly ModelAnswer[], window: Range) =>
  answers
    .filter((a) => !isGood(a))
    .map(
      (a) =>
        `${a.path} sent ${((a.sent - window.from) / 1000).toFixed(2)} s into the window ` +
        `(${(a.ended - a.sent).toFixed(0)} ms, ${a.reused ? "reused" : "new"} connection): ${a.error}`,
    );

/** The longest wait of a good answer sent within the window, in ms. */
const longestWait = (answers: readonly ModelAnswer[], window: Range) =>
  Math.max(
    0,
    ...answers.filter((a) => isGood(a) && a.sent >= window.from && a.sent < window.to).map((a) => a.ended - a.sent),
  );

/** Figures per path, steady (before and after the window) and during it. */
function printFigures(what: string, service: ModelService, answers: readonly ModelAnswer[], window: Range): void {
  const start = Math.min(...answers.map((a) => a.sent));
  const end = Math.max(...answers.map((a) => a.ended));
  const steady = [
    { from: start, to: window.from },
    { from: window.to, to: end },
  ].filter((r) => r.to > r.from);
  const lines = [
    `[hold-e2e] ${what}: ${service} (${((window.to - window.from) / 1000).toFixed(1)} s): ${releasesSeen(answers)}; ` +
      `longest wait ${(longestWait(answers, window) / 1000).toFixed(2)} s`,
  ];
  for (const path of PATHS) {
    const list = answers.filter((a) => a.path === path);
    lines.push(`  ${path.padEnd(17)} steady: ${formatFigures(figures(list, steady))}`);
    lines.push(`  ${path.padEnd(17)} during: ${formatFigures(figures(list, [window]))}`);
  }
  console.log(lines.join("\n"));
}

/**
 * The other service was not held: the switch held none of its requests, and each was answered within 5 s (a hold
 * until the push would be the other's whole load; this machine's 2 cores, busy with the up and thousands of
 * held connections, delay some answers by up to 2 s).
 */
function expectNotHeld(service: ModelService, answers: readonly ModelAnswer[], window: Range, held: number): void {
  expect.soft(failedOf(answers, window), `${service}'s failed requests`).toEqual([]);
  expect.soft(longestWait(answers, window), `${service}'s longest wait (ms)`).toBeLessThan(5000);
  expect.soft(held, `${service}'s requests held by the switch`).toBe(0);
}

/** The index of a resource's step in an up's output, -1 when absent. */
const stepAt = (output: string, text: string) => output.indexOf(text);

/**
 * A stop-then-start release of stt under load, seen from outside: 0 failed on both services; the new image is
 * pulled before the drain, the drain before the old container's stop; the switch sent the old copy nothing new
 * after the drain began, and the requests it had then were answered by it; tts was not held.
 */
async function expectStopThenStart(what: string, from: string, to: string): Promise<void> {
  const before = { stt: await counters("stt"), tts: await counters("tts") };
  const run = await world.lab.measuredUp(STACK, world.ports);
  expectExit(run.result, 0, `pulumi up (${what})`);
  const after = { stt: await counters("stt"), tts: await counters("tts") };
  for (const s of MODEL_SERVICES) printFigures(what, s, run.answers[s], run.window);
  const stt = run.answers.stt;
  expect.soft(failedOf(stt, run.window)).toEqual([]);
  expect.soft(new Set(stt.filter(isGood).map((a) => a.release))).toEqual(new Set([from, to]));
  // Held through the load: the longest wait is about the load, well within the hold's budget.
  const longest = longestWait(stt, run.window);
  expect(longest).toBeGreaterThan((LOAD.stt - 2) * 1000);
  expect(longest).toBeLessThan(HOLD_SECONDS * 1000);
  expect(delta(after.stt, before.stt)).toMatchObject({ shed: 0, "5xx": 0 });
  expect(delta(after.stt, before.stt).held).toBeGreaterThan(100);
  expectNotHeld("tts", run.answers.tts, run.window, delta(after.tts, before.tts).held);

  // In order: the new image, the drain, the old container's stop, the new one, the push.
  const out = run.result.output;
  const order = [
    "stt-image created replacement",
    "local-switch-drain created",
    "stt-container deleted original",
    "stt-container created replacement",
    "local-switch-push created",
  ].map((step) => [step, stepAt(out, step)] as const);
  console.log(`[hold-e2e]   steps at: ${order.map(([s, at]) => `${s} ${at}`).join(", ")}`);
  for (let i = 1; i < order.length; i++) expect(order[i][1], order[i][0]).toBeGreaterThan(order[i - 1][1]);
  expectDrain(stt, from, run.window);
}

/** The drain of stt's route in the window: the old copy got nothing new after it began, and answered what it had. */
function expectDrain(stt: readonly ModelAnswer[], from: string, window: Range): void {
  const posts = switchLog(STACK, ["received request"]).filter(
    (l) => l.uri === "/gpu-switch/drain" && l.at >= window.from && l.at <= window.to,
  );
  const drained = switchLog(STACK, ["routes drained"]).filter((l) => l.at >= window.from && l.at <= window.to);
  expect(posts, "POST /gpu-switch/drain during the up").toHaveLength(1);
  expect(drained, "'routes drained' in the switch's log").toHaveLength(1);
  const drainAt = posts[0].at;
  const routes = drained[0].routes as Record<string, { inflightBefore: number; inflight: number }>;
  // Only stt's route: tts serves the release the drain lists already, and is left alone.
  expect(Object.keys(routes)).toEqual([routeId("stt")]);
  const { inflightBefore, inflight } = routes[routeId("stt")];
  const oldCopy = new Set(stt.filter((a) => isGood(a) && a.release === from).map((a) => a.copy));
  expect(oldCopy.size, "copies of the old release that answered").toBe(1);
  const servedAtDrain = stt.filter((a) => oldCopy.has(a.copy) && a.sent < drainAt && a.ended > drainAt);
  // 50 ms: the switch logs the POST as it receives it, a moment before it marks the route drained.
  const sentAfter = stt.filter((a) => oldCopy.has(a.copy) && a.sent > drainAt + 50);
  console.log(
    `[hold-e2e]   drain ${((drainAt - window.from) / 1000).toFixed(2)} s into the up: ${inflightBefore} in flight ` +
      `on the old copy, ${inflight} left after ${(((drained[0].at as number) - drainAt) / 1000).toFixed(2)} s; ` +
      `the client saw ${servedAtDrain.length} of its requests answered by the old copy after the drain began`,
  );
  expect(inflight).toBe(0);
  expect(inflightBefore).toBeGreaterThan(0);
  expect(servedAtDrain.length).toBeGreaterThan(0);
  expect(servedAtDrain.filter((a) => !isGood(a))).toEqual([]);
  expect(sentAfter.map((a) => `${a.path} sent ${(a.sent - drainAt).toFixed(0)} ms after the drain`)).toEqual([]);
}

/**
 * The copy's main process killed from the host under load (as the OOM killer or a crash would; `docker kill` is a
 * stop, which the restart policy leaves stopped); its restart policy brings it back and it loads again. The
 * window runs from the kill until the switch says the route is ready again.
 */
async function crash(service: ModelService) {
  const { name, pid } = serviceContainer(STACK, service);
  const restarts = async () => Number(await dockerAsync(["inspect", "--format", "{{.RestartCount}}", name]));
  const restartsBefore = await restarts();
  const before = { stt: await counters("stt"), tts: await counters("tts") };
  const traffic = MODEL_SERVICES.map((s) => startModelTraffic(world.ports[s]));
  await sleep(2000);
  const from = now();
  process.kill(pid, "SIGKILL");
  const deadline = Date.now() + (LOAD[service] + 60) * 1000;
  while ((await restarts()) === restartsBefore || (await counters(service)).state !== "ready") {
    if (Date.now() > deadline) throw new Error(`${service} was not ready again ${LOAD[service] + 60} s after the kill`);
    await sleep(250);
  }
  await sleep(2000);
  const [stt, tts] = await Promise.all(traffic.map((t) => t.stop()));
  const after = { stt: await counters("stt"), tts: await counters("tts") };
  const ready = switchLog(STACK, ["route ready"]).find((l) => l.route === routeId(service) && l.at > from);
  const window = { from, to: ready?.at ?? now() };
  return {
    answers: { stt, tts },
    window,
    delta: { stt: delta(after.stt, before.stt), tts: delta(after.tts, before.tts) },
  };
}

/** The live copy of stt: its container's start and hostname (the X-Copy of its answers). */
function liveStt(): { name: string; startedAt: number; copy: string } {
  const { name, id } = serviceContainer(STACK, "stt");
  return {
    name,
    startedAt: Date.parse(docker(["inspect", "--format", "{{.State.StartedAt}}", name])),
    copy: id.slice(0, 12),
  };
}

describe("no request lost while a model loads, behind the switch, on the real engine and dockerd", () => {
  beforeAll(async () => {
    const started = Date.now();
    world.lab = await HoldLab.start("hold-e2e");
    const [stt, tts] = await freePorts(2);
    world.ports = { stt, tts };
    world.durations = [];
    const options: HoldStackOptions = {
      gpuMemoryGiB: 2,
      holdSeconds: 10,
      readiness: true,
      services: {
        stt: { tag: "v1", port: stt, mode: "refuse", loadSeconds: LOAD.stt, queue: QUEUE.stt },
        tts: { tag: "v1", port: tts, mode: "503", loadSeconds: LOAD.tts, queue: QUEUE.tts },
      },
    };
    await world.lab.init(STACK, options);
    world.durations.push(`images, registry and workspace ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 600_000);

  beforeEach(() => {
    world.stepStarted = Date.now();
  });

  afterEach((ctx) => {
    const seconds = ((Date.now() - world.stepStarted) / 1000).toFixed(1);
    world.durations.push(`${ctx.task.name.split(":")[0]} ${seconds} s`);
    console.log(`[hold-e2e] step ${ctx.task.name.split(":")[0]} took ${seconds} s`);
  });

  afterAll(async () => {
    const started = Date.now();
    await world.lab?.destroy(STACK);
    await world.lab?.stop();
    world.durations?.push(`teardown ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`[hold-e2e] durations: ${world.durations?.join("; ")}`);
  });

  it("0: the first up: both stand-ins behind the switch, stop-then-start; plan prints each readiness check and hold", async () => {
    const plan = expectExit(await world.lab.ws.cli("plan", "--stack", STACK), 0, "npm run plan");
    console.log(`[hold-e2e] $ npm run plan -- --stack ${STACK}\n${plan.stdout}`);
    expect(plan.stdout).toContain("stt: stop-then-start: 2 × 1 GiB + tts 1 GiB = 3 GiB > 2 GiB on GPU 0");
    expect(plan.stdout).toContain(
      `stt: readiness GET /health on 8000, 2 passes; requests held up to ${HOLD_SECONDS} s (queue ${QUEUE.stt})`,
    );
    expect(plan.stdout).toContain(
      `tts: readiness GET /health on 8000, 2 passes; requests held up to ${LOAD.tts + 30} s (queue ${QUEUE.tts})`,
    );
    const first = expectExit(await world.lab.up(STACK), 0, "first pulumi up");
    console.log(`[hold-e2e] first up: ${first.seconds.toFixed(1)} s`);
    // The next up adds the drain (the switch ran before now) and changes nothing else.
    const second = expectExit(await world.lab.up(STACK), 0, "second pulumi up");
    console.log(`[hold-e2e] second up: ${second.seconds.toFixed(1)} s`);
    for (const service of MODEL_SERVICES) {
      const { name } = serviceContainer(STACK, service);
      expect(name).toBe(`${service}-${STACK}`);
      const requests = JSON.parse(docker(["inspect", "--format", "{{json .HostConfig.DeviceRequests}}", name]));
      expect(requests).toEqual([expect.objectContaining(GPU_REQUEST)]);
      expect(routeTable(STACK)[routeId(service)]).toMatchObject({ state: "ready" });
    }
    const clean = await world.lab.ws.pulumi("preview", "--stack", STACK, "--expect-no-changes");
    expectExit(clean, 0, "preview --expect-no-changes after the first ups");
  });

  it("(a) refuse mode: stop-then-start v1 -> v2 under load: 0 failed, held through the load, the old copy drained, tts not held", async () => {
    await world.lab.release("release", STACK, "stt", "v2");
    await expectStopThenStart("stop-then-start stt v1 -> v2, refusing while it loads", "v1", "v2");
  });

  it("(c) refuse mode: stt's process killed under load: held until the restarted copy is ready, 0 failed", async () => {
    const { answers, window, delta: d } = await crash("stt");
    for (const s of MODEL_SERVICES) printFigures("crash of stt, refusing while it loads", s, answers[s], window);
    console.log(`[hold-e2e]   the switch: stt ${JSON.stringify(d.stt)}`);
    expect.soft(failedOf(answers.stt, window)).toEqual([]);
    expect(longestWait(answers.stt, window)).toBeGreaterThan((LOAD.stt - 2) * 1000);
    expect(d.stt).toMatchObject({ shed: 0, "5xx": 0 });
    expect(d.stt.held).toBeGreaterThan(100);
    expectNotHeld("tts", answers.tts, window, d.tts.held);
  });

  it("(a, d) 503 mode: the rollback v2 -> v1, stop-then-start to a copy that answers 503 while it loads: 0 failed", async () => {
    world.lab.edit(STACK, "stt answers 503 while it loads", stt503);
    const rollback = await world.lab.release("rollback", STACK, "stt");
    expect(rollback.output).toContain(world.lab.digests.v1);
    await expectStopThenStart("rollback stt v2 -> v1, answering 503 while it loads", "v2", "v1");
  });

  it("(c) 503 mode: stt's process killed under load: the restarted copy's 503s never reach a client, 0 failed", async () => {
    const { answers, window, delta: d } = await crash("stt");
    for (const s of MODEL_SERVICES) printFigures("crash of stt, answering 503 while it loads", s, answers[s], window);
    console.log(`[hold-e2e]   the switch: stt ${JSON.stringify(d.stt)}`);
    expect.soft(failedOf(answers.stt, window)).toEqual([]);
    expect(longestWait(answers.stt, window)).toBeGreaterThan((LOAD.stt - 2) * 1000);
    expect(d.stt).toMatchObject({ shed: 0, "5xx": 0 });
    expect(d.stt.held).toBeGreaterThan(100);
    expectNotHeld("tts", answers.tts, window, d.tts.held);
  });

  it("(b) the queue cap exceeded while tts loads after a crash: the excess gets 503 + Retry-After, counted; no reset; the rest answered", async () => {
    const { answers, window, delta: d } = await crash("tts");
    for (const s of MODEL_SERVICES) printFigures(`crash of tts, queue ${QUEUE.tts}`, s, answers[s], window);
    const shed = answers.tts.filter((a) => a.status === 503);
    const retryAfter = [...new Set(shed.map((a) => a.retryAfter))].sort();
    console.log(
      `[hold-e2e]   tts: ${shed.length} answered 503 (Retry-After ${retryAfter.join(", ")}), ` +
        `${answers.tts.filter(isGood).length} answered 200; the switch: tts ${JSON.stringify(d.tts)}`,
    );
    expect(shed.length).toBeGreaterThan(100);
    // Every failure is a shed 503 with a Retry-After of the expected load time left (at least 1 s): no reset.
    expect(answers.tts.filter((a) => !isGood(a) && a.status !== 503).map((a) => `${a.path}: ${a.error}`)).toEqual([]);
    for (const value of retryAfter) {
      expect(Number(value), `Retry-After ${value}`).toBeGreaterThanOrEqual(1);
      expect(Number(value), `Retry-After ${value}`).toBeLessThanOrEqual(LOAD.tts);
    }
    // Counted by the switch, each of them; the held ones were answered once the copy was ready.
    expect(d.tts.shed).toBe(shed.length);
    expect(d.tts.held).toBeGreaterThan(0);
    expect(longestWait(answers.tts, window)).toBeGreaterThan((LOAD.tts - 2) * 1000);
    expectNotHeld("stt", answers.stt, window, d.stt.held);
  });

  it("(f) stop-then-start of a release whose readiness never passes: up fails within its bound, clients get 503 + Retry-After past the hold, counted; the up after the rollback is clean", async () => {
    await world.lab.release("release", STACK, "stt", "broken");
    const before = { stt: await counters("stt"), tts: await counters("tts") };
    const traffic = MODEL_SERVICES.map((s) => startModelTraffic(world.ports[s]));
    await sleep(2000);
    const from = now();
    const failed = await world.lab.up(STACK);
    const upFailed = now();
    expectExit(failed, "non-zero", "pulumi up of a release whose readiness never passes");
    console.log(`[hold-e2e] the up of broken failed after ${failed.seconds.toFixed(1)} s`);
    expect(failed.output).toMatch(/"failed":\["stt"\]/);
    expect(failed.output).toContain(`stt-${STACK} not ready after ${STT_WAIT_SECONDS} s`);
    expect(failed.output).toContain(`npm run release -- rollback ${STACK} stt`);
    // Its bound: the push waits STT_WAIT_SECONDS for the readiness check, after the drain, the stop and the start.
    expect(failed.seconds).toBeGreaterThan(STT_WAIT_SECONDS);
    expect(failed.seconds).toBeLessThan(STT_WAIT_SECONDS + 60);

    await world.lab.release("rollback", STACK, "stt");
    const rollbackFrom = now();
    const rollback = expectExit(await world.lab.up(STACK), 0, "pulumi up after the rollback");
    const rollbackTo = now();
    await sleep(2000);
    const [stt, tts] = await Promise.all(traffic.map((t) => t.stop()));
    const after = { stt: await counters("stt"), tts: await counters("tts") };
    const d = delta(after.stt, before.stt);
    const up = { from, to: upFailed };
    const back = { from: rollbackFrom, to: rollbackTo };
    printFigures("up of broken (fails)", "stt", stt, up);
    printFigures(`rollback up (${rollback.seconds.toFixed(1)} s)`, "stt", stt, back);
    printFigures("up of broken and the rollback", "tts", tts, { from, to: rollbackTo });

    // What clients get while no copy is ready: held for the budget, then 503 with Retry-After; nothing else.
    const shed = stt.filter((a) => a.status === 503);
    const waits = shed.map((a) => a.ended - a.sent);
    console.log(
      `[hold-e2e]   stt: ${shed.length} of ${stt.length} requests answered 503 after waiting ` +
        `${(Math.min(...waits) / 1000).toFixed(1)}-${(Math.max(...waits) / 1000).toFixed(1)} s, Retry-After ` +
        `${[...new Set(shed.map((a) => a.retryAfter))].join(", ")}; the switch: stt ${JSON.stringify(d)}`,
    );
    expect(shed.length).toBeGreaterThan(100);
    expect(stt.filter((a) => !isGood(a) && a.status !== 503).map((a) => `${a.path}: ${a.error}`)).toEqual([]);
    for (const a of shed) expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Math.min(...waits)).toBeGreaterThan((HOLD_SECONDS - 1) * 1000);
    expect(d.shed).toBe(shed.length);
    // The rollback: every request sent during its up was answered (held while v1 loads), by v1.
    expect
      .soft(
        failedOf(
          stt.filter((a) => a.sent >= rollbackFrom),
          back,
        ),
      )
      .toEqual([]);
    expect(new Set(stt.filter((a) => isGood(a) && a.sent >= rollbackFrom).map((a) => a.release))).toEqual(
      new Set(["v1"]),
    );
    expect(stt.filter((a) => a.release === "broken")).toEqual([]);
    expectNotHeld("tts", tts, { from, to: rollbackTo }, delta(after.tts, before.tts).held);
    const clean = await world.lab.ws.pulumi("preview", "--stack", STACK, "--expect-no-changes");
    expectExit(clean, 0, "preview --expect-no-changes after the rollback");
  });

  it("(e) 503 mode, GPU 0 holding a second copy: blue/green v1 -> v2: 0 failed, no request to the new copy before its readiness passed", async () => {
    world.lab.edit(STACK, "GPU 0 holds 3 GiB: stt blue-green", setGpuMemory(3));
    await world.lab.release("release", STACK, "stt", "v2");
    const preview = expectExit(await world.lab.ws.pulumi("preview", "--stack", STACK), 0, "preview");
    expect(preview.output).toContain("stt: blue-green: 2 × 1 GiB + tts 1 GiB = 3 GiB ≤ 3 GiB on GPU 0");
    const before = { stt: await counters("stt"), tts: await counters("tts") };
    const run: MeasuredModelUp = await world.lab.measuredUp(STACK, world.ports);
    expectExit(run.result, 0, "pulumi up (stt v1 -> v2, blue/green)");
    const after = { stt: await counters("stt"), tts: await counters("tts") };
    for (const s of MODEL_SERVICES)
      printFigures("blue/green stt v1 -> v2, answering 503 while it loads", s, run.answers[s], run.window);
    const stt = run.answers.stt;
    expect.soft(failedOf(stt, run.window)).toEqual([]);
    expect.soft(new Set(stt.filter(isGood).map((a) => a.release))).toEqual(new Set(["v1", "v2"]));
    // Nothing was held, and no request reached the loading copy: its 503 would have been kept from the client,
    // counted in 5xx and sent again (replayed).
    expect(delta(after.stt, before.stt)).toEqual({ held: 0, shed: 0, replayed: 0, "5xx": 0 });
    const fresh = liveStt();
    expect(fresh.name).toMatch(new RegExp(`^stt-${STACK}-[0-9a-f]{6}$`));
    const promoted = switchLog(STACK, ["next copy promoted"]).filter(
      (l) => l.route === routeId("stt") && l.at >= run.window.from,
    );
    expect(promoted).toHaveLength(1);
    const fromNew = stt.filter((a) => isGood(a) && a.copy === fresh.copy);
    const firstNew = Math.min(...fromNew.map((a) => a.sent));
    console.log(
      `[hold-e2e]   v2 started ${((fresh.startedAt - run.window.from) / 1000).toFixed(2)} s into the up, loaded ` +
        `${LOAD.stt} s later; promoted ${((promoted[0].at - run.window.from) / 1000).toFixed(2)} s; first request to ` +
        `it sent ${((firstNew - run.window.from) / 1000).toFixed(2)} s`,
    );
    expect(fromNew.every((a) => a.release === "v2")).toBe(true);
    expect(firstNew).toBeGreaterThan(fresh.startedAt + LOAD.stt * 1000);
    expect(promoted[0].at).toBeGreaterThan(fresh.startedAt + LOAD.stt * 1000);
    // After the promotion, every new request went to v2.
    const oldAfter = stt.filter((a) => isGood(a) && a.release === "v1" && a.sent > promoted[0].at + 50);
    expect(oldAfter.map((a) => `${a.path} sent ${(a.sent - promoted[0].at).toFixed(0)} ms after`)).toEqual([]);
    expectNotHeld("tts", run.answers.tts, run.window, delta(after.tts, before.tts).held);
    // One copy of stt is left, and the plan's GPU request is on it.
    const left = docker([
      "ps",
      "-a",
      "--filter",
      `label=gpu-services.container-name=stt-${STACK}`,
      "--format",
      "{{.Names}}",
    ]);
    expect(left).toBe(fresh.name);
  });
});
