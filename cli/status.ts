/**
 * `gpu-services status [--json] [--timeout <seconds>] [--wait <seconds>]` (alias: `npm run status -- --stack
 * <stack> …`): what runs on the stack's hosts, read live from each host's Docker (ssh included) and nvidia-smi,
 * against what config says; `--wait` reads again until every service is ready. Reads only. Exit codes:
 * cli/observeExit.ts (0 all well, 1 something to look at, 3 a host could not be reached; bad input as every CLI).
 */
import { renderStatus, collectStatus } from "../observe";
import { cliProgram, runCli, runMain, type CliDeps } from "./common";
import { addObserveOptions, observeInputs, timeoutOption, type ObserveOptions } from "./observeOptions";
import { statusExit } from "./observeExit";
import { noProgress } from "./progress";
import { waitForReady } from "./statusWait";

export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const { program, out, err, dir } = cliProgram(
    "status",
    "Live status of a stack's services on their hosts (reads only)",
    deps,
  );
  let code = 0;
  addObserveOptions(program, "read")
    .option("--wait <seconds>", "read again until every service is ready, for at most this long", timeoutOption)
    .action(async (opts: ObserveOptions & { wait?: number }) => {
      const { model, timeoutMs } = observeInputs(dir, opts);
      const report = statusExit(
        opts.wait === undefined
          ? await collectStatus(model, { timeoutMs })
          : await (deps.progress ?? noProgress)(
              model.services.map((s) => s.name),
              (lines) => waitForReady(model, collectStatus, lines, { waitMs: opts.wait!, timeoutMs }),
            ),
      );
      out(opts.json ? JSON.stringify(report, null, 2) : renderStatus(report));
      code = report.exitCode;
    });
  const parsed = await runCli(program, argv, err);
  return parsed === 0 ? code : parsed;
}

if (require.main === module) runMain((argv) => main(argv));
