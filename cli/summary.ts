/**
 * `pulumi stack output --json | npm run --silent summary -- --stack <stack>`: the stack outputs as a Markdown
 * table for a GitHub job summary (endpoints and the releases actually deployed).
 */
import { Command } from "commander";

interface ServiceOutput {
  endpoint?: string;
  image?: string;
  containerName?: string;
  host?: string;
}

const cell = (s: string | undefined) => (s ? s.replace(/\|/g, "\\|") : "-");

export function renderSummary(stack: string, outputs: { services?: Record<string, ServiceOutput> }): string {
  const services = outputs.services ?? {};
  const lines = [
    `## Stack \`${stack}\``,
    "",
    "| service | host | container | endpoint | image deployed |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const name of Object.keys(services).sort()) {
    const s = services[name];
    lines.push(`| ${cell(name)} | ${cell(s.host)} | ${cell(s.containerName)} | ${cell(s.endpoint)} | \`${cell(s.image)}\` |`);
  }
  if (Object.keys(services).length === 0) lines.push("| (no services) | | | | |");
  return lines.join("\n");
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name("summary")
    .description("Render `pulumi stack output --json` (read from stdin) as a Markdown job summary")
    .requiredOption("--stack <stack>", "the stack the outputs belong to")
    .exitOverride();
  program.parse(argv, { from: "user" });
  const { stack } = program.opts<{ stack: string }>();
  console.log(renderSummary(stack, JSON.parse(await readStdin())));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      console.error((e as Error).message);
      process.exitCode = 1;
    },
  );
}
