/**
 * `npm run doctor -- --stack <stack> [--json] [--summary <file>] [--timeout <seconds>]`: will each host of the
 * stack take it? Each check ok / warn / fail with the fix. Run before the first `pulumi up` on a new server, and
 * by the preview and deploy workflows before preview/up. Exit codes: observe/exitCodes.ts (0 no check failed,
 * 1 a check failed, 3 a host could not be reached; bad input as every CLI: cli/errors.ts). `--summary` appends Markdown findings to a file
 * (the job summary).
 */
import * as fs from "node:fs";
import { modelFromRaw } from "../model";
import { readStackFile } from "../stackConfig";
import { DEFAULT_CALL_TIMEOUT_MS, runDoctor, doctorMarkdown, renderDoctor } from "../observe";
import { cliProgram, runCli, runMain, stackFilePath, type CliDeps } from "./common";
import { timeoutOption } from "./observeOptions";

export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const { program, out, err, dir } = cliProgram(
    "doctor",
    "Check that each host of a stack can run it (reads only)",
    deps,
  );
  let code = 0;
  program
    .requiredOption("--stack <stack>", "the stack to check")
    .option("--json", "print JSON for scripts (shape: README, Live status and host checks)")
    .option("--summary <file>", "append the findings as Markdown to this file (for $GITHUB_STEP_SUMMARY)")
    .option(
      "--timeout <seconds>",
      `bound on each call to a host (default ${DEFAULT_CALL_TIMEOUT_MS / 1000})`,
      timeoutOption,
    )
    .action(async (opts: { stack: string; json?: boolean; summary?: string; timeout?: number }) => {
      const model = modelFromRaw(readStackFile(stackFilePath(dir, opts.stack)), opts.stack, dir);
      const report = await runDoctor(model, { timeoutMs: opts.timeout ?? DEFAULT_CALL_TIMEOUT_MS });
      out(opts.json ? JSON.stringify(report, null, 2) : renderDoctor(report));
      if (opts.summary) fs.appendFileSync(opts.summary, `${doctorMarkdown(report)}\n`);
      code = report.exitCode;
    });
  const parsed = await runCli(program, argv, err);
  return parsed === 0 ? code : parsed;
}

if (require.main === module) runMain((argv) => main(argv));
