/**
 * The shell blocks of the docs (README.md and docs/**), as the docs tests run them. A block is run by the unit
 * tier unless the HTML comment on the line before it says otherwise: `<!-- not run by the docs test: <why> -->`
 * (it needs a server, ssh, a registry, a GPU) or `<!-- docs test: docker tier, <why> -->` (it needs dockerd).
 */
import * as fs from "node:fs";
import * as path from "node:path";

export type BlockTier = "unit" | "docker" | "not run";

export interface DocBlock {
  /** The page, from the project folder: `docs/getting-started.md`. */
  readonly page: string;
  /** Line of the opening fence, from 1. */
  readonly line: number;
  readonly script: string;
  readonly tier: BlockTier;
  /** Why it is not run, or why the Docker tier runs it. */
  readonly why?: string;
}

const SKIP = /^<!-- not run by the docs test: (.+) -->$/;
const DOCKER = /^<!-- docs test: docker tier, (.+) -->$/;

/** The `sh` blocks of one page, in order. */
export function blocksOf(projectDir: string, page: string): DocBlock[] {
  const lines = fs.readFileSync(path.join(projectDir, page), "utf8").split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```sh") continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`${page}:${i + 1}: a shell block that never ends`);
    const marker = (
      lines
        .slice(0, i)
        .reverse()
        .find((l) => l.trim() !== "") ?? ""
    ).trim();
    const skip = SKIP.exec(marker);
    const docker = DOCKER.exec(marker);
    const tier: BlockTier = skip ? "not run" : docker ? "docker" : "unit";
    const why = skip?.[1] ?? docker?.[1];
    blocks.push({ page, line: i + 1, script: lines.slice(i + 1, end).join("\n"), tier, ...(why ? { why } : {}) });
    i = end;
  }
  return blocks;
}

/** README.md and every page under docs/, by path. */
export function docPages(projectDir: string): string[] {
  const docs = fs
    .readdirSync(path.join(projectDir, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => path.join("docs", f))
    .sort();
  return ["README.md", ...docs];
}
