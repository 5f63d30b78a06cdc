/**
 * Several copies of a service on one Docker host, for real: the model-server stand-in (test/fixtures/model-server,
 * FROM scratch, from the local registry) as `stt` with `replicas: 3` behind the switch (`gpu-services:switch`,
 * built from switch/ or `$GPU_SWITCH_BIN`), on the real engine and the local dockerd. The host declares 4 GPUs of
 * 24 GiB and a copy needs 16 GiB, so each copy gets a GPU of its own (dockerd's stand-in NVIDIA hook: the device
 * requests are real, no GPU is used) and no GPU holds a second copy: every copy is released stop-then-start. Each
 * copy loads for 3 s, refusing connections, and serves one request at a time, 200 ms each (MODEL_ONE_AT_A_TIME);
 * its restart policy (unless-stopped) brings a killed process back. No Docker healthcheck: the push waits for the
 * switch's readiness check (GET /health, 2 passes) up to the hold's 20 s, so a copy that never gets ready fails the
 * up in about that long. The traffic (test/labs/modelTraffic.ts): a GET every 20 ms on new connections, open loop,
 * plus a multipart POST loop to /transcribe and a JSON POST loop to /v1/audio/speech on keep-alive connections,
 * all to 127.0.0.1; the pool's members in the switch's route table are sampled every 100 ms (replicasLab.ts).
 *
 * Steps, in order on one stack: (a) 3 copies on distinct GPUs, each answering; (b) a rolling release v1 -> v2;
 * (c) one copy's process killed from the host; (d) a release to a tag that never gets ready, and the rollback;
 * (e) 3 -> 2 -> 3 copies. Each prints its figures and its duration.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HoldLab, routeTable, sleep, type ModelTag } from "../../test/labs/holdLab";
import { startModelTraffic, type ModelAnswer } from "../../test/labs/modelTraffic";
import { figures, formatFigures, isGood, now, releasesSeen, type Range } from "../../test/labs/probe";
import { freePorts } from "../../test/labs/releaseLab";
import {
  copiesStack,
  outages,
  poolFigures,
  runningCopies,
  samplePool,
  stateTrail,
  type PoolSample,
  type RunningCopy,
} from "../../test/labs/replicasLab";
import { expectExit, type RunResult } from "../../test/labs/workspace";

const STACK = "replicas-e2e";
const COPIES = 3;
const LOAD_SECONDS = 3;
/** How long the push waits for a copy's readiness (`hold.seconds`; no healthcheck to add its worst case). */
const WAIT_SECONDS = 20;

interface World {
  lab: HoldLab;
  port: number;
  durations: string[];
  stepStarted: number;
}
const world = {} as World;

const routeId = () => `stt-${world.port}`;
const member = (index: number) => (index === 0 ? routeId() : `${routeId()}.${index}`);
const copies = () => runningCopies(STACK, "stt");
const hostnames = (list: readonly RunningCopy[]) => list.map((c) => c.hostname);
const releaseOf = (copy: RunningCopy): ModelTag | undefined =>
  (["v1", "v2", "broken"] as const).find((tag) => copy.release.endsWith(`@${world.lab.digests[tag]}`));

/** What a step measured: the client's answers, the pool's samples and the window (the up, or the crash). */
interface Measured<T> {
  readonly result: T;
  readonly answers: ModelAnswer[];
  readonly samples: PoolSample[];
  readonly window: Range;
}

/**
 * Run `what` under the traffic and the pool's sampler (given to it: its samples so far), with `settleMs` of both
 * on each side.
 */
async function measured<T>(
  what: (samples: readonly PoolSample[]) => Promise<T>,
  settleMs = 1500,
): Promise<Measured<T>> {
  const sampler = samplePool(STACK, routeId());
  const traffic = startModelTraffic(world.port, { timeoutMs: 60_000 });
  await sleep(settleMs);
  const from = now();
  const result = await what(sampler.samples);
  const to = now();
  await sleep(settleMs);
  const answers = await traffic.stop();
  return { result, answers, samples: await sampler.stop(), window: { from, to } };
}

const up = () => world.lab.up(STACK);

/** The failed requests, each with its path, when it was sent into the window and why. */
const failedOf = (answers: readonly ModelAnswer[], window: Range) =>
  answers
    .filter((a) => !isGood(a))
    .map((a) => `${a.path} sent ${((a.sent - window.from) / 1000).toFixed(2)} s into the window: ${a.error}`);

/** Answers per copy (its hostname), of those sent within `range` (all when absent). */
function answersPerCopy(answers: readonly ModelAnswer[], range?: Range): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of answers.filter((x) => isGood(x) && (!range || (x.sent >= range.from && x.sent < range.to)))) {
    counts.set(a.copy!, (counts.get(a.copy!) ?? 0) + 1);
  }
  return counts;
}

/** Print a step's figures: requests (GET and POST, during the window), the pool's samples and each member's trail. */
function printFigures(what: string, m: Measured<unknown>): void {
  const seconds = ((m.window.to - m.window.from) / 1000).toFixed(1);
  const pool = poolFigures(m.samples, m.window);
  const members = [...new Set(m.samples.flatMap((s) => Object.keys(s.states)))].sort();
  const lines = [
    `[replicas-e2e] ${what} (${seconds} s): ${releasesSeen(m.answers)}`,
    `  GET  during: ${formatFigures(
      figures(
        m.answers.filter((a) => a.kind === "get"),
        [m.window],
      ),
    )}`,
    `  POST during: ${formatFigures(
      figures(
        m.answers.filter((a) => a.kind === "post"),
        [m.window],
      ),
    )}`,
    `  answers per copy: ${[...answersPerCopy(m.answers)].map(([c, n]) => `${c} ×${n}`).join(", ")}`,
    `  pool: ${pool.samples} samples in the window (longest gap ${pool.longestGapMs.toFixed(0)} ms); fewest ready ` +
      `${pool.leastReady} (${pool.leastReadyIds.join(", ")})`,
    ...members.map((id) => `  ${id.padEnd(16)} ${stateTrail(m.samples, id)}`),
  ];
  console.log(lines.join("\n"));
}

/** Stretches as seconds into the window: `4.5-10.4 s`. */
const stretches = (ranges: readonly Range[], window: Range) =>
  ranges
    .map((r) => `${((r.from - window.from) / 1000).toFixed(1)}-${((r.to - window.from) / 1000).toFixed(1)} s`)
    .join(", ");

/** No failed request, and at least `least` copies ready at every sample of the window, sampled densely. */
function expectServed(m: Measured<unknown>, least: number): void {
  expect.soft(failedOf(m.answers, m.window), "failed requests").toEqual([]);
  const pool = poolFigures(m.samples, m.window);
  expect(pool.samples, "pool samples in the window").toBeGreaterThan(0);
  expect(pool.longestGapMs, "the longest gap between two pool samples (ms)").toBeLessThan(2000);
  expect(
    pool.leastReady,
    `copies ready at every sample (fewest: ${pool.leastReadyIds.join(", ")})`,
  ).toBeGreaterThanOrEqual(least);
}

/** Each copy has its own NVIDIA device request for one GPU, no two the same. */
function expectDistinctGpus(list: readonly RunningCopy[], count: number): void {
  expect(list.map((c) => c.index)).toEqual(Array.from({ length: count }, (_, i) => i));
  for (const copy of list) expect(copy.deviceIds, `${copy.name}'s device request`).toHaveLength(1);
  expect(new Set(list.map((c) => c.deviceIds[0])).size, "distinct GPUs").toBe(count);
}

describe("several copies of a service behind the switch, on the real engine and dockerd", () => {
  beforeAll(async () => {
    const started = Date.now();
    world.lab = await HoldLab.start("replicas-e2e", { imageLoadSeconds: LOAD_SECONDS });
    [world.port] = await freePorts(1);
    world.durations = [];
    const options = copiesStack({
      port: world.port,
      replicas: COPIES,
      loadSeconds: LOAD_SECONDS,
      holdSeconds: WAIT_SECONDS,
    });
    await world.lab.init(STACK, options);
    world.durations.push(`images, registry and workspace ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 600_000);

  beforeEach(() => {
    world.stepStarted = Date.now();
  });

  afterEach((ctx) => {
    const seconds = ((Date.now() - world.stepStarted) / 1000).toFixed(1);
    world.durations.push(`${ctx.task.name.split(":")[0]} ${seconds} s`);
    console.log(`[replicas-e2e] step ${ctx.task.name.split(":")[0]} took ${seconds} s`);
  });

  afterAll(async () => {
    const started = Date.now();
    await world.lab?.destroy(STACK);
    await world.lab?.stop();
    world.durations?.push(`teardown ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`[replicas-e2e] durations: ${world.durations?.join("; ")}`);
  });

  it("(a) 3 copies: plan shows the placement; each container's device request names its own GPU; every copy answers", async () => {
    const plan = expectExit(await world.lab.ws.cli("plan", "--stack", STACK), 0, "npm run plan");
    console.log(`[replicas-e2e] $ npm run plan -- --stack ${STACK}\n${plan.stdout}`);
    expect(plan.stdout).toMatch(/stt: 3 copies: copy 0 → GPU \d, copy 1 → GPU \d, copy 2 → GPU \d/);
    const first = expectExit(await up(), 0, "first pulumi up");
    console.log(`[replicas-e2e] first up: ${first.seconds.toFixed(1)} s`);
    const list = copies();
    console.log(`[replicas-e2e] copies: ${list.map((c) => `${c.name} on GPU ${c.deviceIds.join(",")}`).join("; ")}`);
    expectDistinctGpus(list, COPIES);
    expect(list.map((c) => c.name)).toEqual([`stt-${STACK}`, `stt-${STACK}-copy1`, `stt-${STACK}-copy2`]);
    const table = routeTable(STACK);
    for (let i = 0; i < COPIES; i++) expect(table[member(i)], member(i)).toMatchObject({ state: "ready" });
    for (let i = 1; i < COPIES; i++) expect(table[member(i)], member(i)).toMatchObject({ pool: routeId() });

    // Six clients at once, each POST 200 ms and one at a time per copy: the pool spreads them over the three.
    const burst = startModelTraffic(world.port, { gets: false, posts: Array(6).fill("/transcribe") });
    await sleep(3000);
    const answers = await burst.stop();
    const perCopy = answersPerCopy(answers);
    const f = figures(answers);
    console.log(
      `[replicas-e2e] 6 clients, 3 s: ${answers.length} POSTs (${(answers.length / 3) | 0}/s), p50 ` +
        `${f.p50Ms.toFixed(0)} ms, p99 ${f.p99Ms.toFixed(0)} ms; per copy ${[...perCopy].map(([c, n]) => `${c} ×${n}`).join(", ")}`,
    );
    expect(answers.filter((a) => !isGood(a))).toEqual([]);
    expect([...perCopy.keys()].sort()).toEqual(hostnames(list).sort());
    // One copy alone answers 5 a second; three, about 15.
    for (const [copy, n] of perCopy) expect(n, `answers of ${copy}`).toBeGreaterThan(answers.length / 6);
    expect(answers.length).toBeGreaterThan(30);
  });

  it("(b) a rolling release v1 -> v2 under load: 0 failed, at least 2 copies ready throughout, one copy at a time", async () => {
    await world.lab.release("release", STACK, "stt", "v2");
    const m = await measured(up);
    expectExit(m.result, 0, "pulumi up (v1 -> v2, rolling)");
    printFigures("rolling release v1 -> v2", m);
    const gets = figures(
      m.answers.filter((a) => a.kind === "get"),
      [m.window],
    );
    console.log(
      `[replicas-e2e]   longest gap ${gets.longestGapMs.toFixed(0)} ms, p50 ${gets.p50Ms.toFixed(1)} ms, ` +
        `p99 ${gets.p99Ms.toFixed(1)} ms (GETs during the up of ${m.result.seconds.toFixed(1)} s)`,
    );
    expectServed(m, COPIES - 1);
    // Each copy out of the pool once, copy 0 first, and never two at once.
    const out = Array.from({ length: COPIES }, (_, i) => outages(m.samples, member(i)));
    console.log(
      `[replicas-e2e]   out of the pool: ${out.map((o, i) => `copy ${i} ${stretches(o, m.window)}`).join("; ")}`,
    );
    for (const [i, o] of out.entries()) expect(o, `copy ${i}'s stretches out of the pool`).toHaveLength(1);
    for (let i = 1; i < COPIES; i++) expect(out[i][0].from).toBeGreaterThanOrEqual(out[i - 1][0].to);
    const list = copies();
    expect(list.map(releaseOf)).toEqual(["v2", "v2", "v2"]);
    const after = { from: m.window.to, to: Infinity };
    expect(new Set(m.answers.filter((a) => isGood(a) && a.sent > m.window.to).map((a) => a.release))).toEqual(
      new Set(["v2"]),
    );
    expect([...answersPerCopy(m.answers, after).keys()].sort()).toEqual(hostnames(list).sort());
  });

  it("(c) one copy's process killed from the host under load: 0 failed; it leaves the pool, restarts and rejoins", async () => {
    const victim = copies()[1];
    let rejoined = 0;
    const m = await measured(async (samples) => {
      process.kill(victim.pid, "SIGKILL");
      const killed = now();
      const deadline = Date.now() + 60_000;
      for (;;) {
        const out = samples.find((s) => s.at > killed && s.states[member(1)] !== "ready");
        const ready = out && samples.find((s) => s.at > out.at && s.states[member(1)] === "ready");
        if (ready) {
          rejoined = ready.at;
          break;
        }
        if (Date.now() > deadline)
          throw new Error(`copy 1 did not rejoin within 60 s: ${stateTrail(samples, member(1))}`);
        await sleep(200);
      }
      return killed;
    }, 2000);
    printFigures(`crash of copy 1 (${victim.name})`, m);
    const killed = m.result;
    const left = m.samples.find((s) => s.at > killed && s.states[member(1)] !== "ready");
    const after = copies()[1];
    const fromIt = m.answers.filter((a) => isGood(a) && a.copy === victim.hostname && a.sent > rejoined);
    console.log(
      `[replicas-e2e]   out of the pool ${((left!.at - killed) / 1000).toFixed(2)} s after the kill, ready again ` +
        `${((rejoined - killed) / 1000).toFixed(2)} s after it (restarts ${victim.restarts} -> ${after.restarts}); ` +
        `${fromIt.length} answers from it since`,
    );
    expectServed(m, COPIES - 1);
    expect(after.id).toBe(victim.id);
    expect(after.restarts).toBe(victim.restarts + 1);
    expect(fromIt.length).toBeGreaterThan(0);
    expect(m.samples[m.samples.length - 1].states[member(1)]).toBe("ready");
  });

  it("(d) a release whose copies never get ready: up fails after the first copy, the other two serve the old release with 0 failed; the rollback makes the stack whole", async () => {
    const before = copies();
    await world.lab.release("release", STACK, "stt", "broken");
    const m = await measured(up);
    const failed: RunResult = expectExit(m.result, "non-zero", "pulumi up of a release that never gets ready");
    printFigures(`up of broken (failed after ${failed.seconds.toFixed(1)} s)`, m);
    const out0 = outages(m.samples, member(0))[0];
    const errors = failed.output.split("\n").filter((l) => /error|not ready|Roll back/.test(l));
    console.log(
      `[replicas-e2e]   copy 0 out of the pool from ${((out0.from - m.window.from) / 1000).toFixed(1)} s into the ` +
        `up; the up's errors:\n${[...new Set(errors.map((l) => l.trim()))].join("\n")}`,
    );
    expect(failed.output).toContain(`stt-${STACK} not ready after ${WAIT_SECONDS} s`);
    expectServed(m, COPIES - 1);
    expect(m.answers.filter((a) => a.release === "broken")).toEqual([]);
    const list = copies();
    expect(list.map(releaseOf)).toEqual(["broken", "v2", "v2"]);
    // Copies 1 and 2 untouched: the same containers, in the pool throughout.
    expect(list.slice(1).map((c) => c.id)).toEqual(before.slice(1).map((c) => c.id));
    for (let i = 1; i < COPIES; i++) expect(outages(m.samples, member(i)), member(i)).toEqual([]);
    const plan = await world.lab.ws.cli("plan", "--stack", STACK);
    console.log(`[replicas-e2e] $ npm run plan -- --stack ${STACK} (after the failed up)\n${plan.output}`);

    await world.lab.release("rollback", STACK, "stt");
    const back = await measured(up);
    expectExit(back.result, 0, "pulumi up of the rollback");
    printFigures(`rollback broken -> v2 (${back.result.seconds.toFixed(1)} s)`, back);
    expectServed(back, COPIES - 1);
    expect(copies().map(releaseOf)).toEqual(["v2", "v2", "v2"]);
    const table = routeTable(STACK);
    for (let i = 0; i < COPIES; i++) expect(table[member(i)], member(i)).toMatchObject({ state: "ready" });
  });

  it("(e) scale 3 -> 2 -> 3 under load: no failed request", async () => {
    world.lab.edit(STACK, "2 copies of stt", (t) => t.replace(`replicas: ${COPIES}`, "replicas: 2"));
    const down = await measured(up);
    expectExit(down.result, 0, "pulumi up (3 -> 2 copies)");
    printFigures(`3 -> 2 copies (up ${down.result.seconds.toFixed(1)} s)`, down);
    expectServed(down, 2);
    expectDistinctGpus(copies(), 2);
    expect(
      Object.keys(routeTable(STACK))
        .filter((id) => id.startsWith(routeId()))
        .sort(),
    ).toEqual([member(0), member(1)]);

    world.lab.edit(STACK, "3 copies of stt", (t) => t.replace("replicas: 2", `replicas: ${COPIES}`));
    const upAgain = await measured(up);
    expectExit(upAgain.result, 0, "pulumi up (2 -> 3 copies)");
    printFigures(`2 -> 3 copies (up ${upAgain.result.seconds.toFixed(1)} s)`, upAgain);
    expectServed(upAgain, 2);
    const list = copies();
    expectDistinctGpus(list, COPIES);
    expect(list.map(releaseOf)).toEqual(["v2", "v2", "v2"]);
    const third = upAgain.answers.filter((a) => isGood(a) && a.copy === list[2].hostname);
    expect(third.length, "answers from the new copy 2").toBeGreaterThan(0);
  });
});
