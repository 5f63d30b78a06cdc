/**
 * Compose import and export: the seed's three Dockge compose files (test/fixtures/compose, word for word),
 * the common variants of each key, clear errors, a round trip compose -> config -> compose -> config, and the
 * imported config evaluated under mocks to the containers the seed describes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildModel } from "../model";
import { evaluate, PROJECT_DIR, T } from "../test/support/harness";
import { importFile } from "./adopt";
import { exportCompose } from "./export";
import { ComposeError } from "./load";
import { importCompose, parseImageRef, splitCommand } from "./import";

const FIXTURES = path.join(PROJECT_DIR, "test", "fixtures", "compose");
const DOCKGE = "/home/agnes/ai-toolbox-container-deployment/stacks";
const seed = (stack: string) => fs.readFileSync(path.join(FIXTURES, stack, "compose.yaml"), "utf8");
const imp = (text: string, stack = "x", extra: object = {}) =>
  importCompose(text, { composeDir: path.join(DOCKGE, stack), host: "gpu-server", ...extra });

const HOSTS = { "gpu-server": { dockerHost: "ssh://agnes@10.30.11.45", address: "10.30.11.45" } };
const modelFrom = (services: Record<string, unknown>, stack = "dev") =>
  buildModel({ hosts: HOSTS, services }, { stack });
const configs = (r: ReturnType<typeof imp>) =>
  Object.fromEntries(Object.entries(r.services).map(([k, v]) => [k, v.config]));

describe("importing the seed's compose files", () => {
  it("STT (Dockge stt-service): local build, 8060->8000, Dockge's named volumes by their real names, bind, 1 GPU", () => {
    const r = imp(seed("stt-service"), "stt-service", { rename: { "stt-api": "stt" } });
    expect(r.project).toBe("stt-service");
    expect(r.services.stt.composeContainer).toBe("stt-service-stt-api-1");
    expect(r.services.stt.config).toEqual({
      host: "gpu-server",
      build: { context: "/home/agnes/STT-API-Server" },
      ports: [{ host: 8060, container: 8000 }],
      volumes: [
        { name: "stt-service_stt_models", target: "/app/models", external: true },
        { name: "stt-service_stt_cache", target: "/app/cache", external: true },
      ],
      binds: [{ source: "/home/agnes/voice-notes", target: "/app/vnotes" }],
      restart: "unless-stopped",
      stopGraceSeconds: 10, // compose's default, not the stack's 30 s
      gpus: { count: 1, capabilities: ["gpu"] },
    });
    expect(r.warnings).toEqual([
      "services.stt-api.build.context: /home/agnes/STT-API-Server is a folder on this machine; to build on the server from source, set build.context to the repository's git URL and pin a commit with npm run release",
      // The seed shows the file without its top-level volumes; compose names such volumes <project>_<name>.
      'services.stt-api.volumes[0]: named volume "stt_models" is not declared under the top-level volumes (docker compose v2 refuses that); taken as compose would name it, stt-service_stt_models',
      'services.stt-api.volumes[1]: named volume "stt_cache" is not declared under the top-level volumes (docker compose v2 refuses that); taken as compose would name it, stt-service_stt_cache',
    ]);
  });

  it("TTS prod (Dockge tts-v2-service): the GHCR image and tag, 8055->8000, 1 GPU", () => {
    const r = imp(seed("tts-v2-service"), "tts-v2-service", { rename: { "tts-api": "tts" } });
    expect(r.services.tts.config).toEqual({
      host: "gpu-server",
      image: { repository: "ghcr.io/bmv234/tts-v2-api-server", tag: "latest" },
      ports: [{ host: 8055, container: 8000 }],
      restart: "unless-stopped",
      stopGraceSeconds: 10, // compose's default, not the stack's 30 s
      gpus: { count: 1, capabilities: ["gpu"] },
    });
    expect(r.warnings).toEqual([]);
  });

  it("TTS CAAL test: build of its own folder, TTS_USE_HTTPS=false, 8056->8000, its healthcheck, compose's default restart", () => {
    const r = imp(seed("tts-v2-caal-test"), "tts-v2-caal-test", { rename: { "tts-api": "tts" } });
    expect(r.services.tts.config).toEqual({
      host: "gpu-server",
      build: { context: `${DOCKGE}/tts-v2-caal-test` },
      ports: [{ host: 8056, container: 8000 }],
      env: { TTS_USE_HTTPS: "false" },
      healthcheck: { test: ["CMD", "curl", "-f", "http://localhost:8000/v1/models"] },
      restart: "no",
      stopGraceSeconds: 10, // compose's default, not the stack's 30 s
    });
  });

  it("evaluates under mocks to the containers the seed describes", async () => {
    const services = {
      ...configs(imp(seed("stt-service"), "stt-service", { rename: { "stt-api": "stt" } })),
      ...configs(imp(seed("tts-v2-service"), "tts-v2-service", { rename: { "tts-api": "tts" } })),
      ...configs(imp(seed("tts-v2-caal-test"), "tts-v2-caal-test", { rename: { "tts-api": "tts-caal" } })),
    };
    const e = await evaluate({ values: { hosts: HOSTS, services }, secretKeys: new Set() }, "migrated");
    const stt = e.get(T.container, "stt-container").inputs;
    expect(stt.ports).toEqual([{ internal: 8000, external: 8060, ip: "0.0.0.0", protocol: "tcp" }]);
    expect(stt.mounts).toEqual([
      { type: "volume", source: "stt-service_stt_models", target: "/app/models", readOnly: false },
      { type: "volume", source: "stt-service_stt_cache", target: "/app/cache", readOnly: false },
    ]);
    expect(stt.volumes).toEqual([
      { hostPath: "/home/agnes/voice-notes", containerPath: "/app/vnotes", readOnly: false },
    ]);
    expect(stt.deviceRequests).toEqual([{ driver: "nvidia", count: 1, capabilities: ["gpu"] }]);
    expect(stt.restart).toBe("unless-stopped");
    expect(e.get(T.build, "stt-image").inputs.context).toEqual({ location: "/home/agnes/STT-API-Server" });
    expect(e.get(T.remoteImage, "tts-image").inputs.name).toBe("ghcr.io/bmv234/tts-v2-api-server:latest");
    expect(e.get(T.container, "tts-container").inputs.ports).toEqual([
      { internal: 8000, external: 8055, ip: "0.0.0.0", protocol: "tcp" },
    ]);
    const caal = e.get(T.container, "tts-caal-container").inputs;
    expect(caal.ports).toEqual([{ internal: 8000, external: 8056, ip: "0.0.0.0", protocol: "tcp" }]);
    expect(caal.envs).toEqual(["TTS_USE_HTTPS=false"]);
    expect(caal.healthcheck).toEqual({
      tests: ["CMD", "curl", "-f", "http://localhost:8000/v1/models"],
      interval: "30s",
      timeout: "30s",
      retries: 3,
      startPeriod: "0s",
    });
    expect(caal.restart).toBe("no");
    expect(caal.deviceRequests).toBeUndefined(); // the seed's CAAL compose file reserves no GPU
    // External volumes: no volume resource, so nothing here can delete Dockge's model cache.
    expect(e.ofType(T.volume)).toEqual([]);
  });
});

describe("compose variants", () => {
  it("reads short and long ports, host IPs, udp; named, bind and read-only volumes; env lists and maps", () => {
    const r = imp(
      `
name: speech
services:
  api:
    image: ghcr.io/jim0237/stt-api-server:sha-1@sha256:${"a".repeat(64)}
    ports:
      - "127.0.0.1:8060:8000"
      - "9000:9000/udp"
      - target: 8001
        published: 8061
        host_ip: 10.30.11.45
        protocol: tcp
        mode: host
    volumes:
      - models:/app/models:ro
      - ./notes:/app/vnotes:ro
      - type: volume
        source: cache
        target: /app/cache
      - type: bind
        source: /srv/data
        target: /data
        read_only: true
    environment:
      MODEL: large-v3
      BEAM: 5
      FLAG: true
    labels:
      - dockge.icon=mic
volumes:
  models:
    name: stt-models-v2
  cache:
    external: true
`,
      "anything",
    );
    expect(r.project).toBe("speech");
    expect(r.services.api.composeContainer).toBe("speech-api-1");
    expect(r.services.api.config).toEqual({
      host: "gpu-server",
      image: { repository: "ghcr.io/jim0237/stt-api-server", tag: "sha-1", digest: `sha256:${"a".repeat(64)}` },
      ports: [
        { host: 8060, container: 8000, hostIp: "127.0.0.1" },
        { host: 9000, container: 9000, protocol: "udp" },
        { host: 8061, container: 8001, hostIp: "10.30.11.45" },
      ],
      volumes: [
        { name: "stt-models-v2", target: "/app/models", external: true, readOnly: true },
        { name: "cache", target: "/app/cache", external: true },
      ],
      binds: [
        { source: `${DOCKGE}/anything/notes`, target: "/app/vnotes", readOnly: true },
        { source: "/srv/data", target: "/data", readOnly: true },
      ],
      env: { MODEL: "large-v3", BEAM: "5", FLAG: "true" },
      restart: "no",
      stopGraceSeconds: 10, // compose's default, not the stack's 30 s
      labels: { "dockge.icon": "mic" },
    });
    expect(r.warnings).toEqual([]);
  });

  it("reads healthcheck strings and durations, gpus all and device IDs, string commands, users, restart limits", () => {
    const r = imp(`
services:
  a:
    image: x/a:1
    healthcheck:
      test: curl -f http://localhost:8000/health || exit 1
      interval: 1m30s
      timeout: 10s
      retries: 5
      start_period: 2m
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: all
              capabilities: [gpu, utility]
    command: python -m server --name "speech api" --port=8000
    user: "1000:1000"
    restart: on-failure:3
    stop_grace_period: 1m
  b:
    image: x/b
    healthcheck:
      disable: true
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              device_ids: ["0", "GPU-1234"]
    command: ["python", "-m", "server"]
`);
    expect(r.services.a.config).toEqual({
      host: "gpu-server",
      image: { repository: "x/a", tag: "1" },
      healthcheck: {
        test: "curl -f http://localhost:8000/health || exit 1",
        interval: "1m30s",
        timeout: "10s",
        retries: 5,
        startPeriod: "2m",
      },
      restart: "on-failure",
      gpus: { count: "all", capabilities: ["gpu", "utility"] },
      command: ["python", "-m", "server", "--name", "speech api", "--port=8000"],
      user: "1000:1000",
      stopGraceSeconds: 60,
    });
    expect(r.services.b.config).toEqual({
      host: "gpu-server",
      image: { repository: "x/b" },
      healthcheck: { test: ["NONE"] },
      restart: "no",
      stopGraceSeconds: 10, // compose's default, not the stack's 30 s
      gpus: { deviceIds: ["0", "GPU-1234"] },
      command: ["python", "-m", "server"],
    });
    expect(r.warnings).toEqual(["services.a.restart: the retry limit 3 is not carried over"]);
  });

  it("carries deploy.replicas as the service's copies, and names 0 (not run) in a warning", () => {
    const r = imp(`
services:
  a: {image: x/a:1, deploy: {replicas: 3}}
  b: {image: x/b:1, deploy: {replicas: 0}}
`);
    expect(r.services.a.config.replicas).toBe(3);
    expect("replicas" in r.services.b.config).toBe(false);
    expect(r.warnings).toEqual([
      "services.b.deploy.replicas: 0 (the service is not run) is not carried over; remove the service instead",
    ]);
  });

  it("names every key it cannot carry over (x- extensions are where anchors live: no warning)", () => {
    const r = imp(`
networks: {front: {}}
x-common: {a: 1}
services:
  a:
    image: x/a:1
    x-note: anchors and notes
    logging: {driver: json-file}
    networks: [front]
    ports: ["8000", "8000-8001:8000-8001"]
    volumes: [/scratch, {type: tmpfs, target: /tmp}]
    environment: [FROM_SHELL, API_TOKEN=abc]
    deploy:
      replicas: 2
      resources:
        limits: {memory: 8g}
        reservations:
          devices: [{driver: amd, count: 1}]
`);
    expect(r.warnings).toEqual([
      "networks: top-level key not carried over",
      "services.a.logging: not carried over",
      "services.a.networks: not carried over",
      'services.a.ports[0]: "8000" publishes on a random host port; not carried over',
      'services.a.ports[1]: "8000-8001:8000-8001" (ranges or an unknown form) is not supported; not carried over',
      "services.a.volumes[0]: an anonymous volume on /scratch is not carried over (its data does not outlive the container anyway)",
      "services.a.volumes[1]: tmpfs on /tmp is not carried over (its data does not outlive the container anyway)",
      "services.a.environment.FROM_SHELL: takes its value from the shell running compose, where it is not set; not carried over",
      "services.a.deploy.resources.limits: not carried over",
      'services.a.deploy.resources.reservations.devices[0]: driver "amd" is not carried over (only nvidia)',
    ]);
    // deploy.replicas is carried: the service's copies.
    expect(r.services.a.config.replicas).toBe(2);
  });

  const bad: [string, string, object, string][] = [
    ["a YAML syntax error", "services:\n  a:\n    image: [x\n", {}, "not valid YAML"],
    ["a file without services", "version: '3'\n", {}, "not a compose file: no services"],
    [
      "an unknown service",
      "services:\n  a:\n    image: x\n",
      { only: ["b"] },
      'no service "b" in the compose file; services: a',
    ],
    [
      "healthcheck disable and test",
      "services:\n  a:\n    image: x\n    healthcheck: {disable: true, test: [CMD, true]}\n",
      {},
      "services.a.healthcheck: disable: true and test conflict",
    ],
    [
      "GPU count and device IDs",
      "services:\n  a:\n    image: x\n    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, device_ids: ['0']}]}}}\n",
      {},
      "count and device_ids conflict",
    ],
    [
      "ports with host networking",
      "services:\n  a:\n    image: x\n    network_mode: host\n    ports: ['80:80']\n",
      {},
      "ports and network_mode: host conflict",
    ],
    [
      "neither image nor build",
      "services:\n  a:\n    restart: always\n",
      {},
      "services.a: has neither image nor build",
    ],
    [
      "a name the stack cannot take",
      "services:\n  Speech_API:\n    image: x\n",
      {},
      "rename it with --rename Speech_API=<name>",
    ],
  ];
  for (const [what, text, extra, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => imp(text, "x", extra)).toThrow(ComposeError);
      expect(() => imp(text, "x", extra)).toThrow(message);
    });
  }

  it("splits commands like a shell and parses image references", () => {
    expect(splitCommand(`sh -c 'echo "hi there"' a\\ b ""`)).toEqual(["sh", "-c", 'echo "hi there"', "a b", ""]);
    expect(() => splitCommand("echo 'open")).toThrow("unterminated");
    expect(parseImageRef("127.0.0.1:5000/a/b:t")).toEqual({ repository: "127.0.0.1:5000/a/b", tag: "t" });
    expect(parseImageRef("127.0.0.1:5000/a/b")).toEqual({ repository: "127.0.0.1:5000/a/b" });
  });
});

describe("export and round trip", () => {
  it("exports the real prod stack as one compose file per host with every field", async () => {
    const { loadStackModel } = await import("../model");
    const files = exportCompose(loadStackModel("prod", PROJECT_DIR));
    expect([...files.keys()]).toEqual(["prod-gpu-server.compose.yaml"]);
    const { parse } = await import("yaml");
    const doc = parse(files.get("prod-gpu-server.compose.yaml")!);
    expect(doc.name).toBeUndefined();
    expect(files.get("prod-gpu-server.compose.yaml")).toContain(
      "docker compose -p gpu-services-prod -f <this file> up -d",
    );
    expect(doc.services.stt).toEqual({
      build: { context: "https://github.com/jim0237/STT-API-Server.git#cf2f45fd9df5a67ce52ebf996c8163cd94202952" },
      image: "gpu-services/stt:cf2f45fd9df5a67ce52ebf996c8163cd94202952",
      container_name: "stt-prod",
      restart: "unless-stopped",
      ports: ["0.0.0.0:8060:8000/tcp"],
      volumes: [
        { type: "volume", source: "stt-service_stt_models", target: "/app/models", read_only: false },
        { type: "volume", source: "stt-service_stt_cache", target: "/app/cache", read_only: false },
        { type: "bind", source: "/home/agnes/voice-notes", target: "/app/vnotes", read_only: false },
      ],
      healthcheck: {
        test: ["CMD", "curl", "-f", "http://localhost:8000/health"],
        interval: "30s",
        timeout: "30s",
        retries: 3,
        start_period: "60s",
      },
      deploy: { resources: { reservations: { devices: [{ driver: "nvidia", count: 1, capabilities: ["gpu"] }] } } },
      labels: { "gpu-services.service": "stt", "gpu-services.stack": "prod" },
      stop_grace_period: "30s",
    });
    expect(doc.services.tts.image).toBe(
      "ghcr.io/jim0237/tts-v2-api-server:sha-c15893a73dc64eb5437e398a5fbf587947cd4d5c",
    );
    expect(doc.volumes).toEqual({
      "stt-service_stt_models": { name: "stt-service_stt_models", external: true },
      "stt-service_stt_cache": { name: "stt-service_stt_cache", external: true },
      "tts-prod-hf-cache": { name: "tts-prod-hf-cache" },
    });
  });

  for (const stack of ["stt-service", "tts-v2-service", "tts-v2-caal-test"]) {
    it(`round-trips ${stack}: compose -> config -> compose -> config keeps every supported field`, () => {
      const first = configs(imp(seed(stack), stack));
      const model = modelFrom(first);
      const exported = [...exportCompose(model).values()];
      expect(exported).toHaveLength(1);
      const second = configs(imp(exported[0], "elsewhere"));
      // The same model: every field survives (defaults written out by the export read back as the same values).
      expect(modelFrom(second)).toEqual(model);
      // Export names the containers and writes the defaults out; nothing else is added.
      for (const [name, config] of Object.entries(second)) {
        const { containerName, stopGraceSeconds, healthcheck, ...rest } = config as Record<string, any>;
        const {
          healthcheck: firstHealthcheck,
          stopGraceSeconds: firstGrace,
          ...firstRest
        } = first[name] as Record<string, any>;
        expect(containerName).toBe(`${name}-dev`);
        expect(stopGraceSeconds).toBe(firstGrace);
        expect(rest).toEqual(firstRest);
        expect(healthcheck?.test).toEqual(firstHealthcheck?.test);
      }
      // A third pass is a fixed point.
      expect(configs(imp([...exportCompose(modelFrom(second)).values()][0], "again"))).toEqual(second);
    });
  }
});

describe("the GPU-serving options round-trip", () => {
  it("entrypoint, shm_size, ipc, ulimits and the build's image name: compose -> config -> compose -> config", async () => {
    const text = `
services:
  llm:
    build: {context: "https://github.com/example/llm.git#0123456789abcdef0123456789abcdef01234567"}
    image: ghcr.io/example/llm:cuda
    entrypoint: ["python3", "-m", "server"]
    shm_size: 16g
    ipc: host
    ulimits: {memlock: -1, stack: 67108864, nofile: {soft: 65536, hard: 1048576}}
    ports: ["8000:8000"]
`;
    const first = configs(imp(text, "llm"));
    const model = modelFrom(first);
    const exported = [...exportCompose(model).values()][0];
    const { parse } = await import("yaml");
    expect(parse(exported).services.llm).toMatchObject({
      image: "ghcr.io/example/llm:cuda",
      entrypoint: ["python3", "-m", "server"],
      shm_size: "16384m",
      ipc: "host",
      ulimits: { memlock: -1, stack: 67108864, nofile: { soft: 65536, hard: 1048576 } },
    });
    expect(modelFrom(configs(imp(exported, "elsewhere")))).toEqual(model);
  });
});

describe("adoption", () => {
  it("writes a pulumi import document for the running Dockge containers, under the program's names", () => {
    const model = modelFrom(
      configs(imp(seed("tts-v2-service"), "tts-v2-service", { rename: { "tts-api": "tts" } })),
      "prod",
    );
    const doc = importFile(model, new Map([["tts", "f".repeat(64)]]));
    expect(doc).toEqual({
      nameTable: {
        "gpu-server-docker":
          "urn:pulumi:prod::gpu-services::gpu-services:index:DockerHost$pulumi:providers:docker::gpu-server-docker",
      },
      resources: [
        { type: "gpu-services:index:GpuService", name: "tts", component: true },
        {
          type: "docker:index/container:Container",
          name: "tts-container",
          id: "f".repeat(64),
          parent: "tts",
          provider: "gpu-server-docker",
        },
      ],
    });
    expect(importFile(model, new Map()).resources).toEqual([]);
  });
});
