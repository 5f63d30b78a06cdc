/**
 * Copies bench, on the real engine and the local dockerd: throughput and latency of 1, 2 and 3 copies of one
 * service behind the switch, in one run, through the product (one stack, `pulumi up` with `replicas` 1, then 2,
 * then 3). The service is the model-server stand-in (test/fixtures/model-server, FROM scratch; each copy with an
 * NVIDIA device request for a GPU of its own of the 4 the host declares, through dockerd's stand-in hook; no GPU
 * is used), serving one request at a time (MODEL_ONE_AT_A_TIME) in SERVICE_MS each, as a GPU runs one inference.
 * The load: CLIENTS closed-loop clients, each POSTing a one-second WAV to /transcribe on its keep-alive connection
 * as soon as its last answer came (test/labs/modelTraffic.ts), for SECONDS per size, to 127.0.0.1. Printed side
 * by side: answers per second against the ideal (copies × 1000 / SERVICE_MS), p50 and p99 latency, and the
 * answers per copy. Run: npm run bench:replicas (BENCH_REPLICAS_SECONDS, BENCH_REPLICAS_CLIENTS to change them).
 */
import { HoldLab, routeTable, sleep } from "../test/labs/holdLab";
import { startModelTraffic, type ModelAnswer } from "../test/labs/modelTraffic";
import { figures, isGood, now } from "../test/labs/probe";
import { freePorts } from "../test/labs/releaseLab";
import { copiesStack, poolStates, runningCopies } from "../test/labs/replicasLab";
import { expectExit } from "../test/labs/workspace";

const STACK = "bench-replicas";
const SIZES = [1, 2, 3] as const;
const SERVICE_MS = 100;
const LOAD_SECONDS = 3;
const SECONDS = Number(process.env.BENCH_REPLICAS_SECONDS ?? 20);
const CLIENTS = Number(process.env.BENCH_REPLICAS_CLIENTS ?? 6);

interface Row {
  readonly copies: number;
  readonly requests: number;
  readonly failed: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly perCopy: readonly number[];
  readonly upSeconds: number;
}

/** Wait until every copy's route in the switch is ready (the up returns once the last push saw it ready). */
async function poolReady(port: number, copies: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const states = Object.values(poolStates(routeTable(STACK), `stt-${port}`));
    if (states.length === copies && states.every((s) => s === "ready")) return;
    if (Date.now() > deadline) throw new Error(`${copies} copies not ready within 60 s: ${states.join(", ")}`);
    await sleep(250);
  }
}

/** CLIENTS closed-loop POST clients for SECONDS, after 2 s of warm-up: the answers sent within the SECONDS. */
async function measure(port: number): Promise<ModelAnswer[]> {
  const traffic = startModelTraffic(port, {
    gets: false,
    posts: Array(CLIENTS).fill("/transcribe"),
    timeoutMs: 30_000,
  });
  await sleep(2000);
  const from = now();
  await sleep(SECONDS * 1000);
  const to = now();
  const answers = await traffic.stop();
  return answers.filter((a) => a.sent >= from && a.sent < to);
}

async function runSize(lab: HoldLab, port: number, copies: number): Promise<Row> {
  if (copies > 1) lab.edit(STACK, `${copies} copies`, (t) => t.replace(/replicas: \d+/, `replicas: ${copies}`));
  const result = expectExit(await lab.up(STACK), 0, `pulumi up with ${copies} copies`);
  await poolReady(port, copies);
  const hostnames = runningCopies(STACK, "stt").map((c) => c.hostname);
  if (hostnames.length !== copies) throw new Error(`${hostnames.length} copies run, not ${copies}`);
  const answers = await measure(port);
  const f = figures(answers);
  const good = answers.filter(isGood);
  const row: Row = {
    copies,
    requests: answers.length,
    failed: f.failures,
    perSecond: good.length / SECONDS,
    p50Ms: f.p50Ms,
    p99Ms: f.p99Ms,
    perCopy: hostnames.map((h) => good.filter((a) => a.copy === h).length),
    upSeconds: result.seconds,
  };
  console.log(`[bench] ${copies} copies: ${JSON.stringify(row)}`);
  return row;
}

function print(rows: readonly Row[]): void {
  const ideal = (n: number) => (n * 1000) / SERVICE_MS;
  console.log(
    `\n${CLIENTS} clients, closed loop, ${SECONDS} s per size; each copy serves one request at a time in ${SERVICE_MS} ms:\n` +
      "copies | answers/s | ideal | failed/requests | p50      | p99      | answers per copy   | up",
  );
  for (const r of rows) {
    console.log(
      `${String(r.copies).padStart(6)} | ${r.perSecond.toFixed(1).padStart(9)} | ${ideal(r.copies).toFixed(0).padStart(5)} | ` +
        `${`${r.failed}/${r.requests}`.padStart(15)} | ${`${r.p50Ms.toFixed(0)} ms`.padStart(8)} | ` +
        `${`${r.p99Ms.toFixed(0)} ms`.padStart(8)} | ${r.perCopy.join(" / ").padEnd(18)} | ${r.upSeconds.toFixed(1)} s`,
    );
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const lab = await HoldLab.start("bench-replicas", { imageLoadSeconds: LOAD_SECONDS });
  const [port] = await freePorts(1);
  const rows: Row[] = [];
  try {
    console.log(
      `real engine (${(await lab.ws.pulumi("version")).stdout.trim()}), local dockerd; switch image ${lab.switchImage.tag}`,
    );
    await lab.init(
      STACK,
      copiesStack({ port, replicas: 1, loadSeconds: LOAD_SECONDS, holdSeconds: 20, serviceMs: SERVICE_MS }),
    );
    for (const copies of SIZES) rows.push(await runSize(lab, port, copies));
  } finally {
    await lab.destroy(STACK);
    await lab.stop();
  }
  print(rows);
  console.log(`\nthe run took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (rows.some((r) => r.failed > 0)) process.exitCode = 1;
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
