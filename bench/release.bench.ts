/**
 * Release bench, on the real engine and the local dockerd: the same v1 -> v2 release of one GPU service behind
 * the switch, once stop-then-start and once blue/green, in one run, under the e2e's load (a GET every 20 ms
 * and a loop of 8 KiB POSTs, keep-alive, to 127.0.0.1). Prints failed requests, the longest gap, p50/p99
 * latency during the up, and the time from the start of `pulumi up` to the first answer from v2, side by side.
 * The container has its NVIDIA device request (dockerd's stand-in hook); no GPU is used.
 * Run: npm run bench:release (BENCH_RELEASE_RUNS=n for more than one release per strategy).
 */
import { firstAnswerFrom, steadyAndDuring, type Figures } from "../test/labs/probe";
import { freePorts, ReleaseLab, type Strategy } from "../test/labs/releaseLab";
import { expectExit } from "../test/labs/workspace";

const RUNS = Number(process.env.BENCH_RELEASE_RUNS ?? 1);
const STRATEGIES = ["stop-then-start", "blue-green"] as const satisfies readonly Strategy[];

interface Row {
  readonly during: Figures;
  readonly getGapMs: number;
  readonly upSeconds: number;
  readonly toFirstV2Seconds: number;
}

async function releaseOnce(lab: ReleaseLab, strategy: (typeof STRATEGIES)[number], run: number): Promise<Row> {
  const stack = `bench-${strategy}-${run}`;
  const [port] = await freePorts(1);
  const volume = `${stack}-${process.pid}-web`;
  await lab.init(stack, {
    gpuMemoryGiB: 4,
    holdSeconds: 10,
    services: { web: { tag: "v1", port, volume, strategy } },
  });
  try {
    expectExit(await lab.up(stack), 0, `${stack}: first up`);
    await lab.release("release", stack, "web", "v2");
    const measured = await lab.measuredUp(stack, [port]);
    expectExit(measured.result, 0, `${stack}: up v1 -> v2`);
    const answers = measured.answers[port];
    const split = steadyAndDuring(answers, measured.window);
    const first = firstAnswerFrom(answers, "v2");
    if (!first) throw new Error(`${stack}: v2 never answered`);
    return {
      during: split.all.during,
      getGapMs: split.get.during.longestGapMs,
      upSeconds: measured.result.seconds,
      toFirstV2Seconds: (first.ended - measured.window.from) / 1000,
    };
  } finally {
    await lab.destroy(stack, [volume]);
  }
}

async function main(): Promise<void> {
  const lab = await ReleaseLab.start("bench-release");
  try {
    console.log(
      `real engine (${(await lab.ws.pulumi("version")).stdout.trim()}), local dockerd, switch ${lab.switchImage.tag}; ` +
        `one GPU service (deviceIds ["0"], 1 GiB), v1 -> v2, ${RUNS} run(s) per strategy; figures during the up`,
    );
    console.log(
      "strategy        | failed/requests | longest GET gap | p50 | p99 | worst | up | up start -> first v2 answer",
    );
    for (let run = 0; run < RUNS; run++) {
      for (const strategy of STRATEGIES) {
        const r = await releaseOnce(lab, strategy, run);
        const ms = (x: number) => `${x.toFixed(0)} ms`;
        console.log(
          `${strategy.padEnd(15)} | ${`${r.during.failures}/${r.during.requests}`.padStart(15)} | ` +
            `${ms(r.getGapMs).padStart(15)} | ${ms(r.during.p50Ms)} | ${ms(r.during.p99Ms)} | ${ms(r.during.maxMs)} | ` +
            `${r.upSeconds.toFixed(1)} s | ${r.toFirstV2Seconds.toFixed(2)} s`,
        );
      }
    }
  } finally {
    await lab.stop();
  }
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
