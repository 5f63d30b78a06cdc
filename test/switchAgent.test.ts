/**
 * The switch's Go tests (switch/: the agent gpu-switch against a fake Docker Engine API and a real Caddy built
 * from the module) and those of the model-server stand-in (test/fixtures/model-server, standard library only) run
 * with the rest of `npm test`, so CI and the README's test command run them too.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "./support/harness";

const haveGo = spawnSync("go", ["version"], { stdio: "ignore" }).status === 0;
const inCI = process.env.CI === "true" || process.env.CI === "1";

/** go vet and go test in a module of this repository; on failure, the whole output: which test failed, and why. */
function goVetAndTest(dir: string): void {
  const env = { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly", GOTOOLCHAIN: "local" };
  for (const args of [
    ["vet", "./..."],
    ["test", "-count=1", "./..."],
  ]) {
    const go = spawnSync("go", args, { cwd: dir, env, encoding: "utf8", timeout: 900_000 });
    expect(
      go.status,
      `go ${args.join(" ")} in ${path.relative(PROJECT_DIR, dir)}:\n${go.stdout}${go.stderr}${go.error ?? ""}`,
    ).toBe(0);
  }
}

describe.runIf(haveGo || inCI)("switch/ (Go)", () => {
  it("go vet and go test pass", () => goVetAndTest(path.join(PROJECT_DIR, "switch")), 900_000);
});

describe.runIf(haveGo || inCI)("test/fixtures/model-server (Go)", () => {
  it(
    "go vet and go test pass",
    () => goVetAndTest(path.join(PROJECT_DIR, "test", "fixtures", "model-server")),
    120_000,
  );
});
