/**
 * Schema and model tests: no Pulumi runtime, just config in and model (or errors) out.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { BAD_CASES, goodConfig } from "../test/support/badConfigs";
import { buildModel } from "./buildModel";
import { StackConfigError, readStackFile, SECRET_PLACEHOLDER } from "../stackConfig";
import { loadStackModel } from "./load";

const projectDir = path.resolve(__dirname, "..");

function problemsOf(raw: unknown, secretKeys: readonly string[] = []): StackConfigError {
  try {
    buildModel(raw, { stack: "prod", secretKeys: new Set(secretKeys), neighbours: new Map() });
  } catch (e) {
    if (e instanceof StackConfigError) return e;
    throw e;
  }
  throw new Error("expected a StackConfigError");
}

describe("buildModel on good config", () => {
  it("turns the real Pulumi.prod.yaml into the model of today's production", () => {
    const model = loadStackModel("prod", projectDir);
    expect(model.stack).toBe("prod");
    expect(model.requirePinnedImages).toBe(true);
    expect(model.sharesHostsWith).toEqual(["test"]);
    expect(model.hosts).toEqual([
      {
        name: "gpu-server",
        dockerHost: "ssh://agnes@10.30.11.45",
        address: "10.30.11.45",
        sshOpts: [],
        registryAuth: [],
      },
    ]);
    expect(model.services.map((s) => s.name)).toEqual(["stt", "tts"]);
    const tts = model.services[1];
    expect(tts).toEqual({
      name: "tts",
      host: "gpu-server",
      containerName: "tts-prod",
      image: {
        kind: "registry",
        repository: "ghcr.io/jim0237/tts-v2-api-server",
        tag: "sha-c15893a73dc64eb5437e398a5fbf587947cd4d5c",
        track: false,
        ref: "ghcr.io/jim0237/tts-v2-api-server:sha-c15893a73dc64eb5437e398a5fbf587947cd4d5c",
      },
      ports: [{ host: 8055, container: 8000, protocol: "tcp", hostIp: "0.0.0.0" }],
      volumes: [
        {
          name: "tts-prod-hf-cache",
          target: "/home/tts/.cache/huggingface",
          external: false,
          retainOnDelete: true,
          protect: true,
          readOnly: false,
        },
      ],
      binds: [],
      env: {},
      secretEnv: {},
      gpus: { count: 1, capabilities: ["gpu"] },
      shareGpu: false,
      restart: "unless-stopped",
      healthcheck: {
        test: ["CMD", "curl", "-k", "-f", "https://localhost:8000/v1/models"],
        interval: "30s",
        timeout: "10s",
        retries: 3,
        startPeriod: "60s",
        waitTimeoutSeconds: 240,
      },
      labels: {},
      scheme: "https",
      endpoint: { host: 8055, container: 8000, protocol: "tcp", hostIp: "0.0.0.0" },
      stopGraceSeconds: 30,
      release: {
        requested: "auto",
        strategy: "stop-then-start",
        reason: "tts: stop-then-start: no switch: gpu-services:switch is not set",
        drainSeconds: 30,
      },
      readiness: {
        kind: "http",
        source: "declared",
        port: 8000,
        scheme: "https",
        method: "GET",
        path: "/v1/models",
        headers: {},
        expectStatus: [],
        timeoutMs: 10000,
        intervalMs: 1000,
        passes: 2,
      },
      hold: { seconds: 90, queue: 256, replay: true, expectedSeconds: 60 },
      // One copy, on the service's GPUs as given.
      replicas: 1,
      copies: [{ index: 0 }],
      runsOn: "docker",
    });
    expect(model.services[0].gpus).toEqual({ count: 1, capabilities: ["gpu"], memoryGiB: 5 });
    expect(model.switch).toBeUndefined();
  });

  it("fills every default for a minimal service", () => {
    const model = buildModel(
      {
        hosts: { local: { dockerHost: "unix:///var/run/docker.sock" } },
        services: { web: { host: "local", image: { repository: "nginx" }, gpus: {} } },
      },
      { stack: "dev" },
    );
    expect(model.requirePinnedImages).toBe(false);
    expect(model.hosts[0].address).toBe("localhost");
    expect(model.services[0]).toEqual({
      name: "web",
      host: "local",
      containerName: "web-dev",
      image: { kind: "registry", repository: "nginx", track: false, ref: "nginx:latest" },
      ports: [],
      volumes: [],
      binds: [],
      env: {},
      secretEnv: {},
      gpus: { count: 1, capabilities: ["gpu"] },
      shareGpu: false,
      restart: "unless-stopped",
      labels: {},
      scheme: "http",
      stopGraceSeconds: 30,
      release: {
        requested: "auto",
        strategy: "stop-then-start",
        reason: "web: stop-then-start: no switch: gpu-services:switch is not set",
        drainSeconds: 30,
      },
      // No port: nothing to probe. The hold is what the switch's default would make of no start period.
      hold: { seconds: 30, queue: 256, replay: true, expectedSeconds: 0 },
      // One copy, on the service's GPUs as given.
      replicas: 1,
      copies: [{ index: 0 }],
      runsOn: "docker",
    });
  });

  it("prefers a digest over a tag, sorts env and labels, takes a shell healthcheck and gpus all", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const model = buildModel(
      {
        requirePinnedImages: true,
        hosts: { h: { dockerHost: "tcp://10.0.0.5:2376" } },
        services: {
          tts: {
            host: "h",
            image: { repository: "ghcr.io/jim0237/tts-v2-api-server", tag: "latest", digest },
            env: { ZED: 1, ALPHA: true },
            labels: { "z.b": "2", "a.b": "1" },
            gpus: { count: "all", capabilities: ["gpu", "utility"] },
            healthcheck: { test: "curl -f http://localhost:8000/v1/models || exit 1", interval: "1m30s" },
            ports: [{ host: 8055, container: 8000, hostIp: "127.0.0.1" }],
          },
        },
      },
      { stack: "prod" },
    );
    const s = model.services[0];
    expect(model.hosts[0].address).toBe("10.0.0.5");
    expect(s.image).toEqual({
      kind: "registry",
      repository: "ghcr.io/jim0237/tts-v2-api-server",
      tag: "latest",
      digest,
      track: false,
      ref: `ghcr.io/jim0237/tts-v2-api-server@${digest}`,
    });
    expect(Object.keys(s.env)).toEqual(["ALPHA", "ZED"]);
    expect(s.env).toEqual({ ALPHA: "true", ZED: "1" });
    expect(Object.keys(s.labels)).toEqual(["a.b", "z.b"]);
    expect(s.gpus).toEqual({ count: "all", capabilities: ["gpu", "utility"] });
    expect(s.healthcheck?.test).toEqual(["CMD-SHELL", "curl -f http://localhost:8000/v1/models || exit 1"]);
    expect(s.healthcheck?.waitTimeoutSeconds).toBe(0 + 3 * (90 + 30) + 60);
    expect(s.endpoint).toEqual({ host: 8055, container: 8000, protocol: "tcp", hostIp: "127.0.0.1" });
  });

  it("keeps secret names, never values, in the model", () => {
    const raw = goodConfig();
    raw.secrets = { hfToken: "hf_very_secret_value" };
    raw.services.tts.secretEnv = { HF_TOKEN: "hfToken" };
    const model = buildModel(raw, { stack: "prod", secretKeys: new Set(["secrets"]) });
    expect(model.secretNames).toEqual(["hfToken"]);
    expect(model.services.find((s) => s.name === "tts")!.secretEnv).toEqual({ HF_TOKEN: "hfToken" });
    expect(JSON.stringify(model)).not.toContain("hf_very_secret_value");
  });

  it("reads secure: values of a stack file as secret placeholders", () => {
    const raw = readStackFile(path.join(projectDir, "test", "fixtures", "Pulumi.secrets.yaml"));
    expect(raw.secretKeys).toEqual(new Set(["secrets"]));
    expect(raw.values.secrets).toEqual({ ghcrToken: SECRET_PLACEHOLDER });
  });
});

describe("buildModel on bad config", () => {
  for (const c of BAD_CASES) {
    it(`refuses ${c.name}, naming ${c.paths.join(", ")}`, () => {
      const raw = goodConfig();
      c.mutate(raw);
      const error = problemsOf(raw, c.secretKeys);
      const paths = error.problems.map((p) => p.path);
      for (const p of c.paths) expect(paths).toContain(p);
      expect(error.message).toContain(c.says);
      expect(error.message).toMatch(
        /^Stack "prod" has \d+ config problems? \(keys under "gpu-services:" in Pulumi\.prod\.yaml\)/,
      );
      for (const p of c.paths) expect(error.message).toContain(`  - ${p}: `);
    });
  }

  it("reports every problem at once, across hosts and services", () => {
    const raw = goodConfig();
    raw.hosts.gpu1.dockerHost = "gpu1";
    raw.services.stt.ports[0].host = 0;
    raw.services.tts.image.tag = "latest";
    raw.services.tts.binds = [{ source: "relative", target: "/x" }];
    const error = problemsOf(raw);
    expect(error.problems.map((p) => p.path).sort()).toEqual([
      "hosts.gpu1.dockerHost",
      "services.stt.ports[0].host",
      "services.tts.binds[0].source",
      "services.tts.image.tag",
    ]);
    expect(error.message).toContain('Stack "prod" has 4 config problems');
  });

  it("the good config itself passes", () => {
    expect(buildModel(goodConfig(), { stack: "prod" }).services).toHaveLength(2);
  });
});
