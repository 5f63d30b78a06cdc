/**
 * Stacks that share a Docker host (prod and the CAAL test stack on one GPU server) are checked against each
 * other from their real stack files: a host port, a GPU, a container or volume name taken by one is refused
 * to the other unless sharing is declared. Under mocks, such a stack registers nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { StackConfigError, readStackFile } from "../stackConfig";
import { loadStackModel } from "../model";
import { tempDir } from "./support/gitRepos";
import { evaluate, PROJECT_DIR, T, type Registered } from "./support/harness";

const REAL = (name: string) => fs.readFileSync(path.join(PROJECT_DIR, name), "utf8");

/** A project folder with the real stack files, edited. */
function project(edit: { prod?: (s: string) => string; test?: (s: string) => string } = {}): string {
  const dir = tempDir("shared");
  fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), (edit.prod ?? ((s) => s))(REAL("Pulumi.prod.yaml")));
  fs.writeFileSync(path.join(dir, "Pulumi.test.yaml"), (edit.test ?? ((s) => s))(REAL("Pulumi.test.yaml")));
  return dir;
}

function problems(dir: string, stack: string): string[] {
  try {
    loadStackModel(stack, dir);
  } catch (e) {
    if (e instanceof StackConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

const withGpus = (n: number) => (s: string) =>
  s.replace("      address: 10.30.11.45\n", `      address: 10.30.11.45\n      gpus: ${n}\n`);

describe("stacks sharing a host", () => {
  it("the real prod and test stacks fit together on the GPU server", () => {
    const dir = project();
    expect(problems(dir, "prod")).toEqual([]);
    expect(problems(dir, "test")).toEqual([]);
    expect(readStackFile(path.join(PROJECT_DIR, "Pulumi.test.yaml")).values.sharesHostsWith).toEqual(["prod"]);
  });

  it("refuses the test stack a host port prod publishes", () => {
    const dir = project({ test: (s) => s.replace("- host: 8056", "- host: 8055") });
    expect(problems(dir, "test")).toEqual([
      'services.tts.ports[0].host: host port 8055/tcp on host "gpu-server" (ssh://agnes@10.30.11.45) is already published by stack "prod" (services.tts.ports[0])',
    ]);
  });

  it("refuses a port bound to one address when prod has it on all addresses, allows two different addresses", () => {
    const bound = (ip: string) => (s: string) =>
      s.replace(
        "- host: 8056\n          container: 8000",
        `- host: 8055\n          container: 8000\n          hostIp: ${ip}`,
      );
    expect(problems(project({ test: bound("127.0.0.1") }), "test")).toHaveLength(1);
    const both = project({
      prod: (s) =>
        s.replace(
          "- host: 8055\n          container: 8000",
          "- host: 8055\n          container: 8000\n          hostIp: 10.30.11.45",
        ),
      test: bound("127.0.0.1"),
    });
    expect(problems(both, "test")).toEqual([]);
  });

  it("refuses the test stack a GPU when prod takes all of the host's, unless the test service shares", () => {
    const full = project({ prod: withGpus(2), test: withGpus(2) });
    expect(problems(full, "test")).toEqual([
      'services.tts.gpus: host "gpu-server" has 2 GPUs (hosts.gpu-server.gpus) but prod/stt, prod/tts, tts ask for 3; set shareGpu: true on services that may share',
    ]);
    const shared = project({
      prod: withGpus(2),
      test: (s) =>
        withGpus(2)(s).replace(
          "      gpus:\n        count: 1\n",
          "      gpus:\n        count: 1\n      shareGpu: true\n",
        ),
    });
    expect(problems(shared, "test")).toEqual([]);
    expect(problems(project({ prod: withGpus(3), test: withGpus(3) }), "test")).toEqual([]);
  });

  it("refuses the same container name or managed volume on the shared host", () => {
    const dir = project({
      test: (s) =>
        s
          .replace("      host: gpu-server\n", "      host: gpu-server\n      containerName: tts-prod\n")
          .replace("- name: tts-test-hf-cache", "- name: tts-prod-hf-cache"),
    });
    expect(problems(dir, "test")).toEqual([
      'services.tts.containerName: container name "tts-prod" on host "gpu-server" (ssh://agnes@10.30.11.45) is already used by stack "prod" (services.tts)',
      'services.tts.volumes[0].name: volume "tts-prod-hf-cache" on host "gpu-server" (ssh://agnes@10.30.11.45) is already managed by stack "prod" (services.tts.volumes[0]); mark the second use external: true to share it',
    ]);
  });

  it("does not compare stacks on different hosts", () => {
    const dir = project({
      test: (s) =>
        s
          .replace(/dockerHost: ssh:\/\/agnes@10\.30\.11\.45/, "dockerHost: ssh://agnes@10.30.11.46")
          .replace("- host: 8056", "- host: 8055"),
    });
    expect(problems(dir, "test")).toEqual([]);
  });

  it("says so when the other stack's config is invalid", () => {
    const dir = project({ prod: (s) => s.replace("- host: 8060", "- host: 80600") });
    expect(problems(dir, "test")).toEqual([
      'sharesHostsWith[0]: stack "prod" cannot be checked against, its config is invalid: - services.stt.ports[0].host: must be a whole number from 1 to 65535 (the port published on the host) (got 80600)',
    ]);
  });

  it("under mocks, the program in that folder refuses the clashing stack before registering anything", async () => {
    const dir = project({ test: (s) => s.replace("- host: 8056", "- host: 8060") });
    const cwd = process.cwd();
    let resources: Registered[] = [];
    process.chdir(dir);
    try {
      await expect(
        evaluate(readStackFile(path.join(dir, "Pulumi.test.yaml")), "test", (r) => (resources = r)),
      ).rejects.toThrow('is already published by stack "prod" (services.stt.ports[0])');
      expect(resources).toEqual([]);
      // The clash is in the pair: prod's preview reports it too, on prod's own key.
      await expect(evaluate(readStackFile(path.join(dir, "Pulumi.prod.yaml")), "prod")).rejects.toThrow(
        'services.stt.ports[0].host: host port 8060/tcp on host "gpu-server" (ssh://agnes@10.30.11.45) is already published by stack "test" (services.tts.ports[0])',
      );
      process.chdir(project());
      const ok = await evaluate(readStackFile(path.join(dir, "Pulumi.prod.yaml")), "prod");
      expect(
        ok
          .ofType(T.container)
          .map((c) => c.inputs.name)
          .sort(),
      ).toEqual(["stt-prod", "tts-prod"]);
    } finally {
      process.chdir(cwd);
    }
  });
});
