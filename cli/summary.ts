/**
 * `pulumi stack output --json | gpu-services -s <stack> summary` (alias: `npm run --silent summary -- --stack
 * <stack>`): the stack outputs as a Markdown table for a GitHub job summary (endpoints and the releases actually
 * deployed).
 */
import type { ServiceOutputValues } from "../program";
import { ReportedError } from "../errors";
import { cliProgram, runCli, runMain, type CliDeps } from "./common";

/** `pulumi stack output --json` of this program (a stack that was never deployed has no outputs). */
type StackOutputs = { services?: Record<string, Partial<ServiceOutputValues>> };

const cell = (s: string | undefined) => (s ? s.replace(/\|/g, "\\|") : "-");

export function renderSummary(stack: string, outputs: StackOutputs): string {
  const services = outputs.services ?? {};
  const lines = [
    `## Stack \`${stack}\``,
    "",
    "| service | host | container | endpoint | image deployed |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const name of Object.keys(services).sort()) {
    const s = services[name];
    lines.push(
      `| ${cell(name)} | ${cell(s.host)} | ${cell(s.containerName)} | ${cell(s.endpoint)} | \`${cell(s.image)}\` |`,
    );
  }
  if (Object.keys(services).length === 0) lines.push("| (no services) | | | | |");
  return lines.join("\n");
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function main(argv: string[], deps: CliDeps & { readonly input?: () => Promise<string> } = {}) {
  const { program, out, err } = cliProgram(
    "summary",
    "Render `pulumi stack output --json` (read from stdin) as a Markdown job summary",
    deps,
  );
  program
    .requiredOption("--stack <stack>", "the stack the outputs belong to")
    .action(async (opts: { stack: string }) => {
      const text = await (deps.input ?? readStdin)();
      let outputs: StackOutputs;
      try {
        outputs = JSON.parse(text) as StackOutputs;
      } catch {
        throw new ReportedError("invalid", "stdin is not JSON: pipe `pulumi stack output --json` into this command");
      }
      out(renderSummary(opts.stack, outputs));
    });
  return runCli(program, argv, err);
}

if (require.main === module) runMain(main);
