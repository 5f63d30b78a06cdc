/**
 * `gpu-services [-s <stack>] <verb>`: the one command of the project (package.json `bin`, scripts/gpu-services;
 * from a clone, `npx gpu-services <verb>`). The verbs are commandTree.ts's; each runs the per-verb CLI of the same job, whose
 * exit codes are `EXIT` (errors.ts). Long steps show their progress on stderr (progress.ts).
 */
import { EXIT } from "./errors";
import { cliProgram, failureOf, type CliDeps } from "./common";
import { commandTree, type TreeDeps } from "./commandTree";
import { streamProgress } from "./progress";
import { STACK_ENV } from "./stackChoice";

const ABOUT = "GPU inference services on your own Docker hosts and clusters, as Pulumi stack config";

const FOOTER = `
The stack: -s <stack>, else $${STACK_ENV}, else the only Pulumi.<stack>.yaml of the project folder.
Then \`pulumi up --stack <stack>\` deploys what the stack file says. Exit codes: docs/reference/exit-codes.md.`;

/** The program with every verb, reporting through `deps`; for the help, the completion and the CLI reference. */
export function gpuServicesProgram(deps: TreeDeps & CliDeps = {}) {
  const { program, out, err, dir } = cliProgram("gpu-services", ABOUT, deps);
  // One width wherever the help is read, so that docs/reference/cli.md is the same on every machine.
  program.configureHelp({ helpWidth: 110 });
  program.addHelpText("after", FOOTER).showHelpAfterError("(gpu-services <verb> --help for its usage)");
  return { ...commandTree(program, dir, deps, out), err };
}

export async function main(argv: string[], deps: TreeDeps & CliDeps = {}): Promise<number> {
  const { root, ctx, err } = gpuServicesProgram(deps);
  if (argv.length === 0) {
    root.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await root.parseAsync(argv, { from: "user" });
    return ctx.code;
  } catch (error) {
    const { code, message } = failureOf(error);
    if (message !== undefined) err(`gpu-services: ${message}`);
    return code;
  }
}

if (require.main === module) {
  // A reader that stops reading (`| head`) ends the output, not the command with a stack trace.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? 0);
  });
  main(process.argv.slice(2), { progress: streamProgress(process.stderr) }).then((code) => (process.exitCode = code));
}
