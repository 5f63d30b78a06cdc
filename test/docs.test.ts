/**
 * Every shell block of README.md and docs/ that needs only Node runs here, page by page, in order, against a
 * scratch project (test/support/scratchProject.ts), so that a stale command fails. Blocks that need a server,
 * ssh, a registry or a GPU are listed as skipped with the reason their page gives; blocks of the Docker tier run
 * in test/docker/docs.test.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blocksOf, docPages, type DocBlock } from "./support/docBlocks";
import { PROJECT_DIR } from "./support/harness";
import { ScratchProject } from "./support/scratchProject";

const BLOCK_TIMEOUT_MS = 180_000;

const title = (b: DocBlock) => `${b.page}:${b.line}: ${b.script.split("\n")[0]}`;

const PAGES = docPages(PROJECT_DIR)
  .map((page) => [page, blocksOf(PROJECT_DIR, page)] as const)
  .filter(([, blocks]) => blocks.length > 0);

describe.each(PAGES)("%s", (_page, blocks) => {
  let scratch: ScratchProject | undefined;
  beforeAll(() => {
    if (blocks.some((b) => b.tier === "unit")) scratch = ScratchProject.create();
  });
  afterAll(() => scratch?.remove());

  for (const block of blocks) {
    if (block.tier === "not run") it.skip(`${title(block)} (not run: ${block.why})`, () => {});
    else if (block.tier === "docker") it.skip(`${title(block)} (Docker tier: test/docker/docs.test.ts)`, () => {});
    else
      it(
        title(block),
        async () => {
          const result = await scratch!.run(block.script, BLOCK_TIMEOUT_MS);
          expect(result.code, `${block.page}:${block.line} exited ${result.code}:\n${result.output}`).toBe(0);
        },
        BLOCK_TIMEOUT_MS + 10_000,
      );
  }
});

describe("the docs' shell blocks", () => {
  it("each is run by a tier or says why not, and the docs have blocks that really run", () => {
    const blocks = docPages(PROJECT_DIR).flatMap((page) => blocksOf(PROJECT_DIR, page));
    expect(blocks.filter((b) => b.tier !== "not run" && b.why === undefined && b.tier !== "unit")).toEqual([]);
    expect(blocks.filter((b) => b.tier === "unit").length).toBeGreaterThan(5);
    expect(blocks.filter((b) => b.tier === "docker").length).toBeGreaterThan(0);
  });
});

/** GitHub's anchor of a heading: lowercase, punctuation dropped, spaces as hyphens. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

describe("the docs' links", () => {
  it("every relative link names a file that exists, and a heading of it where it names one", () => {
    const broken: string[] = [];
    for (const page of docPages(PROJECT_DIR)) {
      const text = fs.readFileSync(path.join(PROJECT_DIR, page), "utf8");
      for (const [, target, hash] of text.matchAll(/\]\(([^)#\s:]+)(?:#([^)\s]+))?\)/g)) {
        const file = path.join(PROJECT_DIR, path.dirname(page), target);
        if (!fs.existsSync(file)) broken.push(`${page}: ${target}`);
        else if (hash && file.endsWith(".md")) {
          const headings = [...fs.readFileSync(file, "utf8").matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1]));
          if (!headings.includes(hash)) broken.push(`${page}: ${target}#${hash}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
