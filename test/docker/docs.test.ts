/**
 * The Docker tier of the docs' shell blocks: each page with a block marked `<!-- docs test: docker tier, … -->`
 * runs all its blocks that are run at all, in order (the blocks before set up what the marked ones use), against
 * a scratch project and the local dockerd. test/docs.test.ts runs the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable, requireDocker } from "../labs/docker";
import { blocksOf, docPages } from "../support/docBlocks";
import { PROJECT_DIR } from "../support/harness";
import { ScratchProject } from "../support/scratchProject";

const run = dockerAvailable || requireDocker;
const BLOCK_TIMEOUT_MS = 180_000;

const PAGES = docPages(PROJECT_DIR)
  .map((page) => [page, blocksOf(PROJECT_DIR, page)] as const)
  .filter(([, blocks]) => blocks.some((b) => b.tier === "docker"));

describe.skipIf(!run).each(PAGES)("%s, with the local dockerd", (_page, blocks) => {
  let scratch: ScratchProject;
  beforeAll(() => void (scratch = ScratchProject.create()));
  afterAll(() => scratch?.remove());

  for (const block of blocks.filter((b) => b.tier !== "not run")) {
    it(
      `${block.page}:${block.line}: ${block.script.split("\n")[0]}${block.why ? ` (${block.why})` : ""}`,
      async () => {
        const result = await scratch.run(block.script, BLOCK_TIMEOUT_MS);
        expect(result.code, `${block.page}:${block.line} exited ${result.code}:\n${result.output}`).toBe(0);
      },
      BLOCK_TIMEOUT_MS + 10_000,
    );
  }
});
