/**
 * One exit code per kind of error, whichever CLI meets it: a stack whose config is invalid, a stack file that is
 * not YAML, an unknown stack. The codes are documented once, in docs/reference/exit-codes.md, whose table is
 * checked here against `EXIT`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { main as compose } from "../cli/compose";
import { main as doctor } from "../cli/doctor";
import { main as plan } from "../cli/plan";
import { main as release } from "../cli/release";
import { main as status } from "../cli/status";
import { EXIT } from "../cli/errors";
import { tempDir } from "./support/gitRepos";
import { PROJECT_DIR } from "./support/harness";

const COMPOSE = path.join(PROJECT_DIR, "test", "fixtures", "compose", "tts-v2-service", "compose.yaml");

/** A project with a stack whose config is invalid (a service on an unknown host) and one that is not YAML. */
function project(): string {
  const dir = tempDir("exit-codes");
  fs.writeFileSync(
    path.join(dir, "Pulumi.invalid.yaml"),
    "config:\n  gpu-services:hosts:\n    gpu-server:\n      dockerHost: unix:///var/run/docker.sock\n" +
      "  gpu-services:services:\n    web:\n      host: nowhere\n      image:\n        repository: nginx\n",
  );
  fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config:\n  gpu-services:hosts: [\n");
  return dir;
}

const quiet = { out: () => {}, err: () => {} };

/** Each CLI command that reads a stack file, run on `stack`. */
function everyCli(dir: string, stack: string): [string, () => Promise<number> | number][] {
  const deps = { projectDir: dir, ...quiet };
  return [
    ["release status", () => release(["status", stack], { ...deps, env: {} })],
    ["release history", () => release(["history", stack, "web"], { ...deps, env: {} })],
    ["export-compose", () => compose(["export-compose", "--stack", stack, "--out", path.join(dir, "out")], deps)],
    ["plan", () => plan(["--stack", stack], deps)],
    ["status", () => status(["--stack", stack], deps)],
    ["doctor", () => doctor(["--stack", stack], deps)],
  ];
}

async function codes(dir: string, stack: string): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const [what, run] of everyCli(dir, stack)) result[what] = await run();
  return result;
}

describe("exit codes", () => {
  it("a stack whose config is invalid exits with EXIT.config from every CLI", async () => {
    const got = await codes(project(), "invalid");
    expect(got).toEqual(Object.fromEntries(Object.keys(got).map((what) => [what, EXIT.config])));
  });

  it("a stack file that is not YAML exits with EXIT.config from every CLI, import-compose included", async () => {
    const dir = project();
    const got = await codes(dir, "broken");
    got["import-compose"] = await compose(["import-compose", COMPOSE, "--stack", "broken"], {
      projectDir: dir,
      ...quiet,
    });
    expect(got).toEqual(Object.fromEntries(Object.keys(got).map((what) => [what, EXIT.config])));
  });

  it("an unknown stack exits with EXIT.usage from every CLI", async () => {
    const got = await codes(project(), "staging");
    expect(got).toEqual(Object.fromEntries(Object.keys(got).map((what) => [what, EXIT.usage])));
  });

  it("docs/reference/exit-codes.md lists every exit code, once, as EXIT has it", () => {
    const page = fs.readFileSync(path.join(PROJECT_DIR, "docs", "reference", "exit-codes.md"), "utf8");
    const rows = [...page.matchAll(/^\| `(\d+)` \| `(\w+)` \|/gm)].map((m) => [m[2], Number(m[1])]);
    expect(rows).toEqual(Object.entries(EXIT));
  });
});
