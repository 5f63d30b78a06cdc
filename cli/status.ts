/**
 * `npm run status -- --stack <stack> [--json] [--timeout <seconds>]`: what runs on the stack's hosts, read live
 * from each host's Docker (ssh included) and nvidia-smi, against what config says. Reads only. Exit codes:
 * observe/exitCodes.ts (0 all well, 1 something to look at, 3 a host could not be reached; bad input as every CLI).
 */
import { modelFromRaw } from "../model";
import { readStackFile } from "../stackConfig";
import { DEFAULT_CALL_TIMEOUT_MS, renderStatus, collectStatus } from "../observe";
import { cliProgram, runCli, runMain, stackFilePath, type CliDeps } from "./common";
import { timeoutOption } from "./observeOptions";

export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const { program, out, err, dir } = cliProgram(
    "status",
    "Live status of a stack's services on their hosts (reads only)",
    deps,
  );
  let code = 0;
  program
    .requiredOption("--stack <stack>", "the stack to read")
    .option("--json", "print JSON for scripts (shape: README, Live status and host checks)")
    .option(
      "--timeout <seconds>",
      `bound on each call to a host (default ${DEFAULT_CALL_TIMEOUT_MS / 1000})`,
      timeoutOption,
    )
    .action(async (opts: { stack: string; json?: boolean; timeout?: number }) => {
      const model = modelFromRaw(readStackFile(stackFilePath(dir, opts.stack)), opts.stack, dir);
      const report = await collectStatus(model, { timeoutMs: opts.timeout ?? DEFAULT_CALL_TIMEOUT_MS });
      out(opts.json ? JSON.stringify(report, null, 2) : renderStatus(report));
      code = report.exitCode;
    });
  const parsed = await runCli(program, argv, err);
  return parsed === 0 ? code : parsed;
}

if (require.main === module) runMain((argv) => main(argv));
