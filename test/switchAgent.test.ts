/**
 * The switch's Go tests (switch/: the agent gpu-switch against a fake Docker Engine API and a real Caddy built
 * from the module) run with the rest of `npm test`, so CI and the README's test command run them too.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "./support/harness";

const haveGo = spawnSync("go", ["version"], { stdio: "ignore" }).status === 0;
const inCI = process.env.CI === "true" || process.env.CI === "1";

describe.runIf(haveGo || inCI)("switch/ (Go)", () => {
  it("go vet and go test pass", () => {
    const dir = path.join(PROJECT_DIR, "switch");
    const env = { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly", GOTOOLCHAIN: "local" };
    for (const args of [
      ["vet", "./..."],
      ["test", "-count=1", "./..."],
    ]) {
      const go = spawnSync("go", args, { cwd: dir, env, encoding: "utf8", timeout: 900_000 });
      // On failure, the whole output: which Go test failed, and why.
      expect(go.status, `go ${args.join(" ")} in switch/:\n${go.stdout}${go.stderr}${go.error ?? ""}`).toBe(0);
    }
  }, 900_000);
});
