/**
 * `gpu-services doctor [--json] [--summary <file>] [--timeout <seconds>]` (alias: `npm run doctor -- --stack
 * <stack> …`): will each host of the stack take it? Each check ok / warn / fail with the fix. Run before the
 * first `pulumi up` on a new server, and by the preview and deploy workflows before preview/up. Exit codes:
 * cli/observeExit.ts (0 no check failed, 1 a check failed, 3 a host could not be reached; bad input as every
 * CLI: cli/errors.ts). `--summary` appends Markdown findings to a file (the job summary).
 */
import * as fs from "node:fs";
import { pulumiSecretReader, runDoctor, doctorMarkdown, renderDoctor, type HostDoctor } from "../observe";
import { cliProgram, runCli, runMain, type CliDeps } from "./common";
import { doctorExit } from "./observeExit";
import { noProgress } from "./progress";
import { addObserveOptions, observeInputs, type ObserveOptions } from "./observeOptions";

/** A host's line once its checks are done: how many, and how many warned or failed. */
function hostVerdict(host: HostDoctor): string {
  if (!host.reachable) return `not reachable (${host.seconds} s)`;
  const count = (level: string) => host.checks.filter((c) => c.level === level).length;
  return `${host.checks.length} checks, ${count("fail")} failed, ${count("warn")} warned (${host.seconds} s)`;
}

export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const { program, out, err, dir } = cliProgram(
    "doctor",
    "Check that each host of a stack can run it (reads only)",
    deps,
  );
  let code = 0;
  addObserveOptions(program, "check")
    .option("--summary <file>", "append the findings as Markdown to this file (for $GITHUB_STEP_SUMMARY)")
    .action(async (opts: ObserveOptions & { summary?: string }) => {
      const { model, timeoutMs } = observeInputs(dir, opts);
      const readSecret = pulumiSecretReader(dir, opts.stack);
      const track = deps.progress ?? noProgress;
      const report = doctorExit(
        await track(
          model.hosts.map((h) => `host ${h.name}`),
          (lines) =>
            runDoctor(model, {
              timeoutMs,
              readSecret,
              progress: {
                step: (host, what) => lines.update(`host ${host}`, what),
                done: (host) => lines.done(`host ${host.name}`, hostVerdict(host)),
              },
            }),
        ),
      );
      out(opts.json ? JSON.stringify(report, null, 2) : renderDoctor(report));
      if (opts.summary) fs.appendFileSync(opts.summary, `${doctorMarkdown(report)}\n`);
      code = report.exitCode;
    });
  const parsed = await runCli(program, argv, err);
  return parsed === 0 ? code : parsed;
}

if (require.main === module) runMain((argv) => main(argv));
