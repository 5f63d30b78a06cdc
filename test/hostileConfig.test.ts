/**
 * Careless and hostile stack config: secrets set in the wrong place, credentials in URLs, secret values in
 * error messages, stack files that are not YAML. Each case failed before its fix.
 */
import { describe, expect, it } from "vitest";
import { buildModel, modelFromRaw } from "../model";
import { StackConfigError, parseStackText, StackFileError } from "../stackConfig";
import { goodConfig } from "./support/badConfigs";
import { evaluate } from "./support/harness";

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  throw new Error("expected a StackConfigError");
}

const STACK_FILE = `config:
  gpu-services:hosts:
    gpu1:
      dockerHost: ssh://agnes@10.30.11.45
  gpu-services:services:
    tts:
      host: gpu1
      image:
        repository: ghcr.io/jim0237/tts-v2-api-server
        tag: sha-c15893a73dc64eb5437e398a5fbf587947cd4d5c
      env:
        API_KEY:
          secure: v1:3c2Vu1qu3p9lrqcF:9ZSFHAxbU0dglS3tYnvx6h4B0Oj1pdoH
`;

describe("a secret set anywhere but under secrets", () => {
  it("is refused by the model read from the stack file, at its exact path, with the commands that move it", () => {
    const raw = parseStackText(STACK_FILE);
    expect(raw.secretKeys).toEqual(new Set(["services"]));
    expect(raw.secretPaths).toEqual(["services.tts.env.API_KEY"]);
    expect(problemsOf(() => modelFromRaw(raw, "prod", "/nonexistent"))).toEqual([
      'services.tts.env.API_KEY: is set with --secret, but only the "secrets" key holds secret values (anywhere ' +
        "else it would be plain text in the deployment): pulumi config rm --path 'gpu-services:services.tts.env.API_KEY' " +
        "&& pulumi config set --secret --path 'gpu-services:secrets.apiKey' <value>; then set " +
        "services.tts.secretEnv.API_KEY: apiKey",
    ]);
  });

  it("is refused by the program before anything is registered, where the engine only says which key holds it", async () => {
    const values = goodConfig();
    values.services.tts.env.API_KEY = "plain-looking-but-was-secret";
    let resources: unknown[] = [];
    const error = await evaluate({ values, secretKeys: new Set(["services"]) }, "prod", (r) => (resources = r)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StackConfigError);
    expect((error as Error).message).toContain(
      '  - services: holds a value set with --secret, but only the "secrets" key',
    );
    expect((error as Error).message).not.toContain("plain-looking-but-was-secret");
    expect(resources).toEqual([]);
  });
});

describe("values under secrets", () => {
  it("never appear in a message, even when they are of the wrong type", () => {
    const raw = goodConfig();
    raw.secrets = { pin: 90817263, hf: "hf_x" };
    raw.services.tts.secretEnv = { HF_TOKEN: "hf" };
    const problems = problemsOf(() => buildModel(raw, { stack: "prod", secretKeys: new Set(["secrets"]) }));
    expect(problems).toEqual(["secrets.pin: Invalid input: expected string, received number"]);
    expect(problems.join("\n")).not.toContain("90817263");
  });
});

describe("a git URL with credentials", () => {
  for (const url of [
    "https://jim0237:ghp_s3cr3tT0ken@github.com/jim0237/STT-API-Server.git",
    "https://ghp_s3cr3tT0ken@github.com/jim0237/STT-API-Server.git",
    "ssh://git:ghp_s3cr3tT0ken@github.com/jim0237/STT-API-Server.git",
  ]) {
    it(`is refused and never echoed: ${url.replace(/\/\/[^@]*@/, "//…@")}`, () => {
      const raw = goodConfig();
      raw.services.stt.build.context = url;
      const problems = problemsOf(() => buildModel(raw, { stack: "prod" }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        /^services\.stt\.build\.context: must not carry credentials \(got "[a-z]+:\/\/\*\*\*@github\.com/,
      );
      expect(problems[0]).toContain("deploy key");
      expect(problems[0]).not.toContain("ghp_s3cr3tT0ken");
    });
  }

  it("an ssh user name alone is not a credential", () => {
    const raw = goodConfig();
    raw.services.stt.build.context = "ssh://git@github.com/jim0237/STT-API-Server.git";
    expect(buildModel(raw, { stack: "prod" }).services[0].image).toMatchObject({ contextKind: "git" });
  });
});

describe("stack files that are not what they should be", () => {
  const cases: [string, string, RegExp][] = [
    [
      "a YAML error",
      "config:\n  gpu-services:hosts: [\n",
      /^Pulumi\.prod\.yaml is not valid YAML at line \d+, column \d+: /,
    ],
    [
      "a duplicate key",
      "config:\n  gpu-services:requirePinnedImages: true\n  gpu-services:requirePinnedImages: false\n",
      /^Pulumi\.prod\.yaml is not valid YAML at line 3, column 3: Map keys must be unique/,
    ],
    [
      "an alias bomb",
      `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\nconfig: {x: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]}\n`,
      /^Pulumi\.prod\.yaml cannot be read: Excessive alias count/,
    ],
    ["a list at the top", "- config\n", /^Pulumi\.prod\.yaml is not a stack file/],
    ["config that is not a map", "config: 5\n", /^Pulumi\.prod\.yaml: config must be a map/],
  ];
  for (const [name, text, message] of cases) {
    it(`${name}: a StackFileError naming the file`, () => {
      expect(() => parseStackText(text, undefined, "Pulumi.prod.yaml")).toThrow(StackFileError);
      expect(() => parseStackText(text, undefined, "Pulumi.prod.yaml")).toThrow(message);
    });
  }
});
