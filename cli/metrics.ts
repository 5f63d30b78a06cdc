/**
 * `gpu-services metrics [--since 1h] [--json] [--timeout <seconds>]`: per service of the stack, the window's
 * requests per second, error rate, latency quantiles, held and shed requests, from each host's switch history (kept
 * on the host, no Prometheus needed), and the GPU figures nvidia-smi gives now. Reads only. Exit codes: 0 every
 * host read, 3 a host could not be reached (the others are still shown); bad input as every CLI.
 */
import { InvalidArgumentError } from "commander";
import { durationSeconds } from "../formats";
import { collectMetrics, renderMetrics, type MetricsReport } from "../observe/metrics";
import type { WithExitCode } from "../observe";
import { cliProgram, runCli, runMain, type CliDeps } from "./common";
import { OBSERVE_EXIT } from "./observeExit";
import { addObserveOptions, observeInputs, type ObserveOptions } from "./observeOptions";

/** The longest window: the switch keeps about this much at its default interval and bound. */
export const MAX_SINCE_SECONDS = 7 * 24 * 3600;

/** `--since <duration>` as seconds: a duration such as 15m or 1h, from 1 s to 7 days. */
export function sinceOption(value: string): number {
  let seconds: number;
  try {
    seconds = durationSeconds(value);
  } catch {
    throw new InvalidArgumentError("a duration such as 15m, 1h or 24h");
  }
  if (seconds < 1 || seconds > MAX_SINCE_SECONDS) throw new InvalidArgumentError("a duration from 1s to 168h");
  return seconds;
}

const METRICS_EXIT = {
  ok: OBSERVE_EXIT.ok,
  unreachable: OBSERVE_EXIT.unreachable,
} as const satisfies Record<MetricsReport["result"], number>;

function withExitCode(report: MetricsReport): WithExitCode<MetricsReport> {
  const { stack, checkedAt, result, ...rest } = report;
  return { stack, checkedAt, result, exitCode: METRICS_EXIT[result], ...rest };
}

export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const { program, out, err, dir } = cliProgram(
    "metrics",
    "How each service of a stack did over a window, from its hosts' switch history (reads only)",
    deps,
  );
  let code = 0;
  addObserveOptions(program, "read")
    .option("--since <duration>", "the window: the last 15m, 1h, 24h … (default 1h)", sinceOption)
    .action(async (opts: ObserveOptions & { since?: number }) => {
      const { model, timeoutMs } = observeInputs(dir, opts);
      const report = withExitCode(await collectMetrics(model, { timeoutMs, sinceSeconds: opts.since ?? 3600 }));
      out(opts.json ? JSON.stringify(report, null, 2) : renderMetrics(report));
      code = report.exitCode;
    });
  const parsed = await runCli(program, argv, err);
  return parsed === 0 ? code : parsed;
}

if (require.main === module) runMain((argv) => main(argv));
