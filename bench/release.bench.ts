/**
 * Release bench, on the real engine and the local dockerd: the same stop-then-start releases of a model server
 * that loads for 30 s (the model-server stand-in, FROM scratch, with an NVIDIA device request for GPU 0 through
 * dockerd's stand-in hook; no GPU is used), in the same run, behind
 *   - the switch with readiness and the hold (this tree's program, and its switch: switch/ or `$GPU_SWITCH_BIN`);
 *   - the switch before them: the program and the switch binaries of OLD_COMMIT (built here from `git archive`),
 *     with `holdSeconds` 10 (its default) and 60 (the best setting it has).
 * Each arm releases v1 -> v2 with a copy that refuses connections while it loads, then v2 -> v1 with one that
 * answers 503 while it loads, under the stand-in's traffic (a GET every 20 ms on new connections, open loop, and
 * multipart and JSON POST loops on keep-alive connections, to 127.0.0.1). Printed side by side, during the up:
 * failed requests and how they failed, the longest wait of an answered request, p50 and p99.
 * Run: npm run bench:release (BENCH_OLD_COMMIT=<commit> to compare with another).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { HoldLab, type HoldStackOptions } from "../test/labs/holdLab";
import { figures, isGood } from "../test/labs/probe";
import { freePorts } from "../test/labs/releaseLab";
import { tempDir } from "../test/support/gitRepos";
import { PROJECT_DIR } from "../test/support/harness";
import { expectExit } from "../test/labs/workspace";

/** The switch of main before readiness and the hold. */
const OLD_COMMIT = process.env.BENCH_OLD_COMMIT ?? "e0825f2";
const LOAD_SECONDS = 30;

interface Arm {
  readonly name: string;
  readonly old: boolean;
  readonly holdSeconds: number;
}
const ARMS: readonly Arm[] = [
  { name: "hold (this tree)", old: false, holdSeconds: 10 },
  { name: `${OLD_COMMIT}, holdSeconds 10`, old: true, holdSeconds: 10 },
  { name: `${OLD_COMMIT}, holdSeconds 60`, old: true, holdSeconds: 60 },
];
const RELEASES = [
  { what: "v1 -> v2, refusing while it loads", verb: ["release", "v2"], mode: "refuse" },
  { what: "v2 -> v1, answering 503 while it loads", verb: ["rollback"], mode: "503" },
] as const;

/** The old switch's caddy and gpu-switch, built from `git archive <commit> switch` (the Go build cache reused). */
function buildOldSwitch(commit: string): string {
  const dir = tempDir("old-switch");
  const archive = execFileSync("git", ["archive", commit, "switch"], { cwd: PROJECT_DIR, maxBuffer: 1 << 30 });
  execFileSync("tar", ["-x", "-C", dir], { input: archive });
  const bin = path.join(dir, "bin");
  for (const [name, pkg] of [
    ["caddy", "./cmd/caddy"],
    ["gpu-switch", "./cmd/gpu-switch"],
  ]) {
    execFileSync("go", ["build", "-trimpath", "-o", path.join(bin, name), pkg], {
      cwd: path.join(dir, "switch"),
      env: { ...process.env, CGO_ENABLED: "0" },
      stdio: ["ignore", "pipe", "inherit"],
    });
  }
  return bin;
}

interface Row {
  readonly arm: string;
  readonly release: string;
  readonly failed: string;
  readonly how: string;
  readonly longestMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly upSeconds: number;
}

async function runArm(lab: HoldLab, arm: Arm, index: number): Promise<Row[]> {
  const stack = `bench-hold-${index}`;
  const [stt, tts] = await freePorts(2);
  const options: HoldStackOptions = {
    gpuMemoryGiB: 2,
    holdSeconds: arm.holdSeconds,
    readiness: !arm.old,
    services: {
      stt: { tag: "v1", port: stt, mode: "refuse", loadSeconds: LOAD_SECONDS, queue: 4096 },
      tts: { tag: "v1", port: tts, mode: "503", loadSeconds: 10, queue: 4096 },
    },
  };
  await lab.init(stack, options);
  const rows: Row[] = [];
  try {
    expectExit(await lab.up(stack), 0, `${stack}: first up`);
    expectExit(await lab.up(stack), 0, `${stack}: second up`);
    for (const r of RELEASES) {
      if (r.mode === "503") {
        lab.edit(stack, "stt answers 503", (t) => t.replace(/(\n {4}stt:\n[\s\S]*?MODEL_MODE: )"refuse"/, '$1"503"'));
      }
      await lab.release(r.verb[0], stack, "stt", ...r.verb.slice(1));
      const run = await lab.measuredUp(stack, { stt, tts });
      expectExit(run.result, 0, `${stack}: ${r.what}`);
      const during = run.answers.stt.filter((a) => a.sent >= run.window.from && a.sent < run.window.to);
      const f = figures(during, [run.window]);
      const kinds = new Map<string, number>();
      for (const a of during.filter((x) => !isGood(x))) kinds.set(a.error!, (kinds.get(a.error!) ?? 0) + 1);
      rows.push({
        arm: arm.name,
        release: r.what,
        failed: `${f.failures}/${f.requests}`,
        how: [...kinds].map(([k, n]) => `${k} ×${n}`).join(", ") || "-",
        longestMs: f.maxMs,
        p50Ms: f.p50Ms,
        p99Ms: f.p99Ms,
        upSeconds: run.result.seconds,
      });
      console.log(`[bench] ${arm.name}: ${r.what}: ${JSON.stringify(rows[rows.length - 1])}`);
    }
  } finally {
    await lab.destroy(stack);
  }
  return rows;
}

function print(rows: readonly Row[]): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(
    `\nstop-then-start of stt (loads ${LOAD_SECONDS} s), figures of the requests sent during the up:\n` +
      "release                                | switch                      | failed/requests | longest wait | p50     | p99     | up      | failures",
  );
  for (const r of rows) {
    console.log(
      `${r.release.padEnd(38)} | ${r.arm.padEnd(27)} | ${r.failed.padStart(15)} | ${s(r.longestMs).padStart(12)} | ` +
        `${s(r.p50Ms).padStart(7)} | ${s(r.p99Ms).padStart(7)} | ${`${r.upSeconds.toFixed(1)} s`.padStart(7)} | ${r.how}`,
    );
  }
}

async function main(): Promise<void> {
  const oldBin = buildOldSwitch(OLD_COMMIT);
  const labs = {
    now: await HoldLab.start("bench-hold"),
    old: await HoldLab.start("bench-old", {
      switchBin: oldBin,
      commit: OLD_COMMIT,
    }),
  };
  const rows: Row[] = [];
  try {
    console.log(
      `real engine (${(await labs.now.ws.pulumi("version")).stdout.trim()}), local dockerd; switch images ` +
        `${labs.now.switchImage.tag} (this tree) and ${labs.old.switchImage.tag} (${OLD_COMMIT})`,
    );
    for (const [i, arm] of ARMS.entries()) rows.push(...(await runArm(arm.old ? labs.old : labs.now, arm, i)));
  } finally {
    await labs.now.stop();
    await labs.old.stop();
    fs.rmSync(path.dirname(oldBin), { recursive: true, force: true });
  }
  rows.sort((a, b) => a.release.localeCompare(b.release));
  print(rows);
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
