/**
 * Our Node.js language host (toolchain/pulumi/language-host) with the real engine: a stack config too big for one
 * environment string (Linux's 128 KiB per string, `fork/exec node: argument list too long` otherwise, as with
 * the official host, pulumi/pulumi#8680) reaches the program whole, secrets still secret, through a pipe; the
 * program's own child processes start (the config is not left in their environment); a small config still comes
 * in PULUMI_CONFIG as before. 400 services on a cluster (npm run bench:kube-scale) are such a config.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectExit, Workspace } from "../../test/labs/workspace";

const PROJECT = "config-probe";
/** Above the 128 KiB a single environment string may have. */
const BIG = 200_000;

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";

const config = new pulumi.Config();
const blob = config.require("blob");
export const blobLength = blob.length;
export const blobSha256 = createHash("sha256").update(blob).digest("hex");
export const tokenLength = config.requireSecret("token").apply((t) => t.length);
// A child process of the program, as kubectl, git or docker are: its environment is the program's.
export const child = execFileSync("sh", ["-c", "echo child ran"], { encoding: "utf8" }).trim();
export const configInEnvironment = process.env.PULUMI_CONFIG === undefined ? "absent" : "present";
`;

const ws = {} as { w: Workspace };

/** A blob of `n` characters that is not all the same (so a cut or a mix-up shows in its hash). */
const blobOf = (n: number) => Array.from({ length: n }, (_, i) => "abcdefghij"[(i * 7 + (i >> 10)) % 10]).join("");

function pulumi(...args: string[]) {
  return ws.w.pulumi("-C", PROJECT, ...args);
}

async function upAndOutputs(stack: string, blob: string) {
  ws.w.write(`${PROJECT}/Pulumi.${stack}.yaml`, `config:\n  ${PROJECT}:blob: ${blob}\n`);
  expectExit(await pulumi("stack", "init", stack, "--secrets-provider", "passphrase"), 0, `stack init ${stack}`);
  expectExit(await pulumi("config", "set", "--stack", stack, "--secret", "token", "s3cr3t-token"), 0, "config set");
  expectExit(await pulumi("up", "--stack", stack, "--yes", "--skip-preview"), 0, `up ${stack}`);
  const out = await pulumi("stack", "output", "--stack", stack, "--json", "--show-secrets");
  return JSON.parse(expectExit(out, 0, "stack output").stdout);
}

describe("our language host hands the program its stack config, whatever its size", () => {
  beforeAll(() => {
    ws.w = Workspace.create();
    fs.mkdirSync(ws.w.file(PROJECT));
    ws.w.write(
      `${PROJECT}/Pulumi.yaml`,
      `name: ${PROJECT}\nmain: index.ts\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
    );
    ws.w.write(`${PROJECT}/index.ts`, PROGRAM);
  });
  afterAll(() => ws.w?.remove());

  it(`a config of ${BIG} characters: whole in the program, not in its children's environment, which start`, async () => {
    const blob = blobOf(BIG);
    const { createHash } = await import("node:crypto");
    const outputs = await upAndOutputs("big", blob);
    expect(outputs).toEqual({
      blobLength: BIG,
      blobSha256: createHash("sha256").update(blob).digest("hex"),
      tokenLength: "s3cr3t-token".length,
      child: "child ran",
      configInEnvironment: "absent",
    });
    const plain = await pulumi("stack", "output", "--stack", "big", "tokenLength");
    expect(expectExit(plain, 0, "stack output tokenLength").stdout.trim()).toBe("[secret]");
  });

  it("a small config: in PULUMI_CONFIG, as the official host passes it", async () => {
    const outputs = await upAndOutputs("small", "tiny");
    expect(outputs).toMatchObject({ blobLength: 4, child: "child ran", configInEnvironment: "present" });
  });
});
