/**
 * The real Pulumi.prod.yaml and Pulumi.test.yaml, evaluated under mocks: every image, volume and container
 * input, the providers they use, their resource options, and the stack outputs.
 */
import { describe, expect, it } from "vitest";
import { evaluateStackFile, T, type Evaluation } from "./support/harness";

const SERVER = "ssh://agnes@10.30.11.45";
const STT_COMMIT = "cf2f45fd9df5a67ce52ebf996c8163cd94202952";
const TTS_COMMIT = "c15893a73dc64eb5437e398a5fbf587947cd4d5c";
const TTS_IMAGE = `ghcr.io/jim0237/tts-v2-api-server:sha-${TTS_COMMIT}`;

const nvidiaGpu = [{ driver: "nvidia", count: 1, capabilities: ["gpu"] }];
const labels = (service: string, stack: string, release: string, image: string) => [
  { label: "gpu-services.image", value: image },
  { label: "gpu-services.release", value: release },
  { label: "gpu-services.service", value: service },
  { label: "gpu-services.stack", value: stack },
];

function urnOf(e: Evaluation, type: string, name: string): string {
  const parent = e.resources.find((r) => r.options.dependencies.some((d) => d.endsWith(`${type}::${name}`)));
  const dep = parent?.options.dependencies.find((d) => d.endsWith(`${type}::${name}`));
  if (!dep) throw new Error(`no resource depends on ${type} ${name}`);
  return dep;
}

describe("prod stack (Pulumi.prod.yaml)", async () => {
  const e = await evaluateStackFile("prod");

  it("registers exactly the resources of today's production, and nothing on a default provider", () => {
    expect(e.resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        `${T.container} stt-container`,
        `${T.container} tts-container`,
        `${T.build} stt-image`,
        `${T.remoteImage} tts-image`,
        `${T.volume} tts-volume-tts-prod-hf-cache`,
        `${T.dockerHost} gpu-server`,
        `${T.gpuService} stt`,
        `${T.gpuService} tts`,
        `${T.buildProvider} gpu-server-build`,
        `${T.dockerProvider} gpu-server-docker`,
      ].sort(),
    );
    for (const r of e.resources.filter((r) => r.type.startsWith("docker"))) {
      expect(r.provider, `${r.name} must use an explicit provider`).toMatch(/::gpu-server-(docker|build)::/);
      expect(e.providerHost(r)).toBe(SERVER);
    }
    expect(e.get(T.dockerProvider, "gpu-server-docker").inputs).toEqual({ host: SERVER });
    expect(e.get(T.buildProvider, "gpu-server-build").inputs).toEqual({ host: SERVER });
  });

  it("builds STT on the server from the pinned git commit, without building on preview", () => {
    const image = e.get(T.build, "stt-image");
    expect(image.inputs).toEqual({
      context: { location: `https://github.com/jim0237/STT-API-Server.git#${STT_COMMIT}` },
      tags: [`gpu-services/stt:${STT_COMMIT}`],
      push: false,
      load: true,
      noCache: false,
      buildOnPreview: false,
      network: "default",
    });
    expect(image.provider).toContain("pulumi:providers:docker-build::gpu-server-build::");
  });

  it("runs STT exactly as the Dockge compose file does: 8060->8000, model and cache volumes, voice notes, 1 GPU", () => {
    const c = e.get(T.container, "stt-container");
    expect(c.inputs).toEqual({
      name: "stt-prod",
      image: `gpu-services/stt:${STT_COMMIT}`,
      restart: "unless-stopped",
      ports: [{ internal: 8000, external: 8060, ip: "0.0.0.0", protocol: "tcp" }],
      mounts: [
        { type: "volume", source: "stt-service_stt_models", target: "/app/models", readOnly: false },
        { type: "volume", source: "stt-service_stt_cache", target: "/app/cache", readOnly: false },
      ],
      // Docker binds: the daemon creates the voice-notes folder on a fresh server, as compose did.
      volumes: [{ hostPath: "/home/agnes/voice-notes", containerPath: "/app/vnotes", readOnly: false }],
      envs: [],
      deviceRequests: nvidiaGpu,
      healthcheck: {
        tests: ["CMD", "curl", "-f", "http://localhost:8000/health"],
        interval: "30s",
        timeout: "30s",
        retries: 3,
        startPeriod: "60s",
      },
      wait: true,
      waitTimeout: 60 + 3 * (30 + 30) + 60,
      labels: labels(
        "stt",
        "prod",
        `https://github.com/jim0237/STT-API-Server.git#${STT_COMMIT}`,
        e.outputs.stt.image.split("@")[1],
      ),
      destroyGraceSeconds: 30,
      mustRun: true,
    });
  });

  it("keeps Dockge's STT volumes as external: no volume resource, so neither replacement nor destroy can delete them", () => {
    expect(e.ofType(T.volume).map((v) => v.inputs.name)).toEqual(["tts-prod-hf-cache"]);
  });

  it("pulls TTS from GHCR by its pinned tag, keeps the image on the host, and runs it by image ID", () => {
    const image = e.get(T.remoteImage, "tts-image");
    expect(image.inputs).toEqual({ name: TTS_IMAGE, keepLocally: true });
    const c = e.get(T.container, "tts-container");
    const imageId = c.inputs.image as string;
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(c.inputs).toEqual({
      name: "tts-prod",
      image: imageId,
      restart: "unless-stopped",
      ports: [{ internal: 8000, external: 8055, ip: "0.0.0.0", protocol: "tcp" }],
      mounts: [
        { type: "volume", source: "tts-prod-hf-cache", target: "/home/tts/.cache/huggingface", readOnly: false },
      ],
      envs: [],
      deviceRequests: nvidiaGpu,
      healthcheck: {
        tests: ["CMD", "curl", "-k", "-f", "https://localhost:8000/v1/models"],
        interval: "30s",
        timeout: "10s",
        retries: 3,
        startPeriod: "60s",
      },
      wait: true,
      waitTimeout: 60 + 3 * (30 + 10) + 60,
      labels: labels("tts", "prod", TTS_IMAGE, imageId),
      destroyGraceSeconds: 30,
      mustRun: true,
    });
  });

  it("protects managed volumes and keeps them on delete; replaces containers delete-first after their image", () => {
    const volume = e.get(T.volume, "tts-volume-tts-prod-hf-cache");
    expect(volume.inputs).toEqual({
      name: "tts-prod-hf-cache",
      labels: [
        { label: "gpu-services.service", value: "tts" },
        { label: "gpu-services.stack", value: "prod" },
      ],
    });
    expect(volume.options).toMatchObject({ protect: true, retainOnDelete: true });
    for (const name of ["stt", "tts"]) {
      const c = e.get(T.container, `${name}-container`);
      expect(c.options.deleteBeforeReplace).toBe(true);
      expect(c.options.protect).toBe(false);
    }
    expect(e.get(T.container, "tts-container").options.dependencies.sort()).toEqual(
      [urnOf(e, T.remoteImage, "tts-image"), urnOf(e, T.volume, "tts-volume-tts-prod-hf-cache")].sort(),
    );
    expect(e.get(T.container, "stt-container").options.dependencies).toEqual([urnOf(e, T.build, "stt-image")]);
    // Images are never protected or retained: a new release must be able to replace them.
    expect(e.get(T.remoteImage, "tts-image").options).toMatchObject({ protect: false, retainOnDelete: false });
  });

  it("exports endpoint, deployed image and container name per service", () => {
    expect(e.outputs).toEqual({
      stt: {
        endpoint: "http://10.30.11.45:8060",
        image: expect.stringMatching(new RegExp(`^gpu-services/stt:${STT_COMMIT}@sha256:[0-9a-f]{64}$`)),
        containerName: "stt-prod",
        host: "gpu-server",
      },
      tts: {
        endpoint: "https://10.30.11.45:8055",
        image: expect.stringMatching(/^ghcr\.io\/jim0237\/tts-v2-api-server@sha256:[0-9a-f]{64}$/),
        containerName: "tts-prod",
        host: "gpu-server",
      },
    });
  });
});

describe("test stack (Pulumi.test.yaml, CAAL)", async () => {
  const e = await evaluateStackFile("test");

  it("builds TTS from source and runs it over plain HTTP on 8056 with its own healthcheck and 1 GPU", () => {
    expect(e.get(T.build, "tts-image").inputs).toEqual({
      context: { location: `https://github.com/jim0237/TTS-V2-API-Server.git#${TTS_COMMIT}` },
      tags: [`gpu-services/tts:${TTS_COMMIT}`],
      push: false,
      load: true,
      noCache: false,
      buildOnPreview: false,
      network: "default",
    });
    const c = e.get(T.container, "tts-container");
    expect(c.inputs).toEqual({
      name: "tts-test",
      image: `gpu-services/tts:${TTS_COMMIT}`,
      restart: "unless-stopped",
      ports: [{ internal: 8000, external: 8056, ip: "0.0.0.0", protocol: "tcp" }],
      mounts: [
        { type: "volume", source: "tts-test-hf-cache", target: "/home/tts/.cache/huggingface", readOnly: false },
      ],
      envs: ["TTS_USE_HTTPS=false"],
      deviceRequests: nvidiaGpu,
      healthcheck: {
        tests: ["CMD", "curl", "-f", "http://localhost:8000/v1/models"],
        interval: "30s",
        timeout: "10s",
        retries: 3,
        startPeriod: "60s",
      },
      wait: true,
      waitTimeout: 240,
      labels: labels(
        "tts",
        "test",
        `https://github.com/jim0237/TTS-V2-API-Server.git#${TTS_COMMIT}`,
        e.outputs.tts.image.split("@")[1],
      ),
      destroyGraceSeconds: 30,
      mustRun: true,
    });
    expect(e.providerHost(c)).toBe(SERVER);
  });

  it("names its container and volume apart from prod's, so both stacks can share the server", () => {
    expect(e.ofType(T.container).map((c) => c.inputs.name)).toEqual(["tts-test"]);
    expect(e.ofType(T.volume).map((v) => v.inputs.name)).toEqual(["tts-test-hf-cache"]);
    expect(e.outputs).toEqual({
      tts: {
        endpoint: "http://10.30.11.45:8056",
        image: expect.stringMatching(new RegExp(`^gpu-services/tts:${TTS_COMMIT}@sha256:[0-9a-f]{64}$`)),
        containerName: "tts-test",
        host: "gpu-server",
      },
    });
  });
});

describe("determinism", () => {
  it("evaluating a stack twice gives identical resource inputs and options", async () => {
    for (const stack of ["prod", "test"]) {
      const snapshot = (e: Evaluation) =>
        e.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs, options: r.options, wire: r.wire }));
      const first = snapshot(await evaluateStackFile(stack));
      const second = snapshot(await evaluateStackFile(stack));
      expect(second).toEqual(first);
      expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    }
  });
});
