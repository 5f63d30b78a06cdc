/**
 * `npm run status -- --stack <stack> [--json] [--timeout <seconds>]`: what runs on the stack's hosts, read live
 * from each host's Docker (ssh included) and nvidia-smi, against what config says. Reads only. Exit codes:
 * cli/observeExit.ts (0 all well, 1 something to look at, 3 a host could not be reached; bad input as every CLI).
 */
import { renderStatus, collectStatus } from "../observe";
import { cliProgram, runCli, runMain, type CliDeps } from "./common";
import { statusExit } from "./observeExit";
import { addObserveOptions, observeInputs, type ObserveOptions } from "./observeOptions";

export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const { program, out, err, dir } = cliProgram(
    "status",
    "Live status of a stack's services on their hosts (reads only)",
    deps,
  );
  let code = 0;
  addObserveOptions(program, "read").action(async (opts: ObserveOptions) => {
    const { model, timeoutMs } = observeInputs(dir, opts);
    const report = statusExit(await collectStatus(model, { timeoutMs }));
    out(opts.json ? JSON.stringify(report, null, 2) : renderStatus(report));
    code = report.exitCode;
  });
  const parsed = await runCli(program, argv, err);
  return parsed === 0 ? code : parsed;
}

if (require.main === module) runMain((argv) => main(argv));
