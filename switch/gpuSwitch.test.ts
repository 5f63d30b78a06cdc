/**
 * A stack with `gpu-services:switch` under mocks: the switch, the service containers behind it (blue-green and
 * stop-then-start), the push container and its plan, the failure on a non-zero exit, and the first `up` with a
 * switch. Models are built directly, with release and switch set as each test needs (the fit rule is the
 * model's, tested there).
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import type { DockerServiceSpec, ReleaseSpec } from "../model";
import { type Evaluation, evaluateModel, type Registered, T, valueOf } from "../test/support/harness";
import { LAB_SWITCH, labModel, NGINX, SWITCH_IMAGE, type DockerModel } from "../test/support/models";
import { drainJson, drainWarning } from "./switchDrain";
import { planJson, planService, pushFailure } from "./switchPush";

const URN = "urn:pulumi:dev::gpu-services::";

const blueGreen: ReleaseSpec = {
  requested: "auto",
  strategy: "blue-green",
  reason: "tts: blue-green: 2 × 6 GiB + stt 5 GiB = 17 GiB ≤ 24 GiB on GPU 0",
  drainSeconds: 30,
};
const stopThenStart: ReleaseSpec = {
  requested: "stop-then-start",
  strategy: "stop-then-start",
  reason: "stt: stop-then-start: requested",
  drainSeconds: 45,
};

/** tts (https, healthcheck, GPU 0) blue-green and stt (no healthcheck) stop-then-start, behind a switch on lab. */
function switchedModel(releases: Record<string, ReleaseSpec> = { tts: blueGreen, stt: stopThenStart }) {
  const base = labModel({
    tts: {
      image: NGINX,
      scheme: "https",
      ports: [
        { host: 8055, container: 8000 },
        { host: 8056, container: 8001, hostIp: "127.0.0.1" },
      ],
      gpus: { deviceIds: ["0"] },
      healthcheck: { test: ["CMD", "true"], interval: "5s", timeout: "2s", retries: 3, startPeriod: "60s" },
    },
    stt: { image: NGINX, ports: [{ host: 8060, container: 8000 }] },
  });
  const model: DockerModel = {
    ...base,
    switch: LAB_SWITCH,
    services: base.services.map((s): DockerServiceSpec => ({ ...s, release: releases[s.name] ?? s.release })),
  };
  return model;
}

/** The switch ran before this up: the previous `switches` output has the host. */
const switchedBefore = { previousOutputs: { switches: { lab: { container: "gpu-switch-dev", ports: [8055] } } } };
const suffixes = () => {
  const made = ["1a2b3c", "4d5e6f"];
  return () => made.shift()!;
};

describe("GpuSwitch", () => {
  it("owns the union of the host's service ports, keeps its config in a protected volume and resumes it", async () => {
    const e = await evaluateModel(switchedModel(), { ...switchedBefore, nameSuffix: suffixes() });
    expect(e.get(T.network, "lab-switch-network").inputs).toEqual({
      name: "gpu-switch-dev",
      driver: "bridge",
      labels: [{ label: "gpu-services.stack", value: "dev" }],
    });
    const volume = e.get(T.volume, "lab-switch-volume");
    expect(volume.inputs).toEqual({
      name: "gpu-switch-dev-data",
      labels: [{ label: "gpu-services.stack", value: "dev" }],
    });
    expect(volume.options).toMatchObject({ protect: true, retainOnDelete: true });
    const sw = e.get(T.container, "lab-switch-container");
    expect(sw.inputs).toEqual({
      name: "gpu-switch-dev",
      image: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      command: ["/caddy", "run", "--resume", "--config", "/etc/gpu-switch/bootstrap.json"],
      restart: "always",
      mustRun: true,
      ports: [
        { internal: 8055, external: 8055, ip: "0.0.0.0", protocol: "tcp" },
        { internal: 8056, external: 8056, ip: "127.0.0.1", protocol: "tcp" },
        { internal: 8060, external: 8060, ip: "0.0.0.0", protocol: "tcp" },
      ],
      mounts: [{ type: "volume", source: "gpu-switch-dev-data", target: "/data" }],
      networksAdvanced: [{ name: "gpu-switch-dev" }],
      healthcheck: {
        tests: ["CMD", "/gpu-switch", "health"],
        interval: "2s",
        timeout: "2s",
        retries: 3,
        startPeriod: "1s",
      },
      wait: true,
      waitTimeout: 60,
      labels: [{ label: "gpu-services.stack", value: "dev" }],
    });
    expect(e.get(T.remoteImage, "lab-switch-image").inputs).toEqual({
      name: `localhost:5000/gpu-switch@${SWITCH_IMAGE.digest}`,
      keepLocally: true,
    });
    expect(sw.options.deleteBeforeReplace).toBe(true);
    // An existing switch waits for nothing of the services: a release never touches it.
    expect(sw.options.dependencies.sort()).toEqual(
      [
        `${URN}gpu-services:index:GpuSwitch$docker:index/network:Network::lab-switch-network`,
        `${URN}gpu-services:index:GpuSwitch$docker:index/remoteImage:RemoteImage::lab-switch-image`,
        `${URN}gpu-services:index:GpuSwitch$docker:index/volume:Volume::lab-switch-volume`,
      ].sort(),
    );
    expect(e.ofType(T.gpuSwitch).map((s) => s.name)).toEqual(["lab-switch"]);
    const switches = e.program.switches!;
    expect(await valueOf(switches.lab.container)).toBe("gpu-switch-dev");
    expect(switches.lab.ports).toEqual([8055, 8056, 8060]);
  });
});

/** What every service container behind the switch has: no ports, the network without an alias, no create wait, the label. */
function expectBehindSwitch(c: Registered, alias: string) {
  expect(c.inputs.ports).toBeUndefined();
  expect(JSON.parse(c.wire)).not.toHaveProperty("ports");
  expect(c.inputs.networksAdvanced).toEqual([{ name: "gpu-switch-dev" }]);
  expect(c.inputs.wait).toBe(false);
  expect(c.inputs.waitTimeout).toBeUndefined();
  expect(c.inputs.labels).toContainEqual({ label: "gpu-services.container-name", value: alias });
  expect(c.options.dependencies).toContain(
    `${URN}gpu-services:index:GpuSwitch$docker:index/network:Network::lab-switch-network`,
  );
}

describe("service containers behind a switch", () => {
  it("blue-green: a release-unique name kept on update, created before the old one goes, no ports, on the network", async () => {
    const e = await evaluateModel(switchedModel(), { ...switchedBefore, nameSuffix: suffixes() });
    const tts = e.get(T.container, "tts-container");
    expect(tts.inputs.name).toBe("tts-dev-1a2b3c");
    expectBehindSwitch(tts, "tts-dev");
    expect(tts.inputs.healthcheck).toEqual({
      tests: ["CMD", "true"],
      interval: "5s",
      timeout: "2s",
      retries: 3,
      startPeriod: "60s",
    });
    expect(tts.options.deleteBeforeReplace).toBe(false);
    expect(e.outputs.tts.containerName).toBe("tts-dev-1a2b3c");
  });

  it("registers blue-green with ignoreChanges on name and an explicit deleteBeforeReplace: false", async () => {
    const e = await evaluateModel(switchedModel(), { ...switchedBefore, nameSuffix: suffixes() });
    const options = (name: string) => {
      const { ignoreChanges, deleteBeforeReplace, deleteBeforeReplaceDefined } = e.get(T.container, name).options;
      return { ignoreChanges, deleteBeforeReplace, deleteBeforeReplaceDefined };
    };
    expect(options("tts-container")).toEqual({
      ignoreChanges: ["name"],
      deleteBeforeReplace: false,
      deleteBeforeReplaceDefined: true,
    });
    expect(options("stt-container")).toEqual({
      ignoreChanges: [],
      deleteBeforeReplace: true,
      deleteBeforeReplaceDefined: true,
    });
  });

  it("stop-then-start: the fixed name, deleted before the new one, no ports, on the network", async () => {
    const e = await evaluateModel(switchedModel(), { ...switchedBefore, nameSuffix: suffixes() });
    const stt = e.get(T.container, "stt-container");
    expect(stt.inputs.name).toBe("stt-dev");
    expectBehindSwitch(stt, "stt-dev");
    expect(stt.inputs.healthcheck).toBeUndefined();
    expect(stt.options.deleteBeforeReplace).toBe(true);
  });

  it("logs each service's release reason, readiness check and hold on its component, in preview too", async () => {
    const logged: [string, string][] = [];
    const spy = vi.spyOn(pulumi.log, "info").mockImplementation(async (msg: string, resource?: pulumi.Resource) => {
      logged.push([msg, resource ? await valueOf(resource.urn) : "(stack)"]);
    });
    try {
      await evaluateModel(switchedModel(), { ...switchedBefore, nameSuffix: suffixes() });
    } finally {
      spy.mockRestore();
    }
    const [stt, tts] = [`${URN}gpu-services:index:GpuService::stt`, `${URN}gpu-services:index:GpuService::tts`];
    expect(logged.sort()).toEqual([
      ["stt: readiness TCP connect to 8000, 1 pass; requests held up to 30 s (queue 256)", stt],
      [stopThenStart.reason, stt],
      [blueGreen.reason, tts],
      ["tts: readiness TCP connect to 8000, 1 pass; requests held up to 90 s (queue 256)", tts],
    ]);
  });

  it("draws a fresh suffix for every run by default", async () => {
    const names = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const e = await evaluateModel(switchedModel(), switchedBefore);
      names.add(e.get(T.container, "tts-container").inputs.name);
    }
    expect([...names].every((n) => /^tts-dev-[0-9a-f]{6}$/.test(n))).toBe(true);
    expect(names.size).toBe(2);
  });
});

/** The release key the program makes of an image ref: the ref, `+`, 12 hex of the inputs' hash. */
const KEY = /^nginx@sha256:[0-9a-f]{64}\+[0-9a-f]{12}$/;
const uploadOf = (e: Evaluation, name: string): string => e.get(T.container, name).inputs.uploads[0].content;
const releasesIn = (content: string): Record<string, string> =>
  Object.fromEntries(
    JSON.parse(content).services.map((s: { name: string; release: string }) => [s.name, s.release] as const),
  );

describe("the push container", () => {
  it("writes plan version 2 sorted, in a fixed key order: the same input, the same bytes", () => {
    const body = {
      kind: "multipart" as const,
      base64: "LS1i",
      bytes: 3,
      what: "multipart audio=readiness/one-second.wav (audio/wav)",
    };
    const plan = planJson({
      stack: "prod",
      switch: { streamCloseDelay: "5m", tlsHost: "10.30.11.45" },
      services: [
        {
          name: "tts",
          copy: 0,
          container: "tts-prod-1a2b3c",
          release: "ghcr.io/x/tts@sha256:1+0123456789ab",
          strategy: "blue-green",
          waitSeconds: 240,
          drainSeconds: 30,
          scheme: "https",
          ports: [
            { listen: 8056, target: 8001 },
            { listen: 8055, target: 8000 },
          ],
          readiness: { kind: "tcp", port: 8000, timeoutMs: 10000, intervalMs: 1000, passes: 1 },
          hold: { seconds: 30, queue: 256, replay: true, expectedSeconds: 0 },
        },
        {
          name: "stt",
          copy: 0,
          container: "stt-prod",
          release: "gpu-services/stt:cf2f@sha256:2+ba9876543210",
          strategy: "stop-then-start",
          waitSeconds: 300,
          drainSeconds: 45,
          scheme: "http",
          ports: [{ listen: 8060, target: 8000 }],
          readiness: {
            kind: "http",
            source: "declared",
            port: 8000,
            scheme: "http",
            method: "POST",
            path: "/transcribe",
            headers: { "Content-Type": "multipart/form-data; boundary=b", "X-Probe": "1" },
            body,
            expectStatus: [200],
            timeoutMs: 10000,
            intervalMs: 1000,
            passes: 2,
          },
          hold: { seconds: 90, queue: 64, replay: false, expectedSeconds: 60 },
        },
        {
          name: "worker",
          copy: 0,
          container: "worker-prod",
          release: "ghcr.io/x/worker@sha256:3+000000000000",
          strategy: "stop-then-start",
          waitSeconds: 30,
          drainSeconds: 30,
          scheme: "http",
          ports: [],
          hold: { seconds: 30, queue: 256, replay: true, expectedSeconds: 0 },
        },
      ],
    });
    expect(plan).toBe(
      `{
  "version": 2,
  "stack": "prod",
  "switch": {
    "streamCloseDelay": "5m",
    "tlsHost": "10.30.11.45"
  },
  "services": [
    {
      "name": "stt",
      "container": "stt-prod",
      "release": "gpu-services/stt:cf2f@sha256:2+ba9876543210",
      "strategy": "stop-then-start",
      "waitSeconds": 300,
      "drainSeconds": 45,
      "scheme": "http",
      "ports": [
        {
          "listen": 8060,
          "target": 8000
        }
      ],
      "readiness": {
        "kind": "http",
        "port": 8000,
        "scheme": "http",
        "method": "POST",
        "path": "/transcribe",
        "headers": {
          "Content-Type": "multipart/form-data; boundary=b",
          "X-Probe": "1"
        },
        "bodyBase64": "LS1i",
        "expectStatus": [
          200
        ],
        "timeoutMs": 10000,
        "intervalMs": 1000,
        "passes": 2
      },
      "hold": {
        "seconds": 90,
        "queue": 64,
        "replay": false,
        "expectedSeconds": 60
      }
    },
    {
      "name": "tts",
      "container": "tts-prod-1a2b3c",
      "release": "ghcr.io/x/tts@sha256:1+0123456789ab",
      "strategy": "blue-green",
      "waitSeconds": 240,
      "drainSeconds": 30,
      "scheme": "https",
      "ports": [
        {
          "listen": 8055,
          "target": 8000
        },
        {
          "listen": 8056,
          "target": 8001
        }
      ],
      "readiness": {
        "kind": "tcp",
        "port": 8000,
        "timeoutMs": 10000,
        "intervalMs": 1000,
        "passes": 1
      },
      "hold": {
        "seconds": 30,
        "queue": 256,
        "replay": true,
        "expectedSeconds": 0
      }
    },
    {
      "name": "worker",
      "container": "worker-prod",
      "release": "ghcr.io/x/worker@sha256:3+000000000000",
      "strategy": "stop-then-start",
      "waitSeconds": 30,
      "drainSeconds": 30,
      "scheme": "http",
      "ports": [],
      "readiness": null,
      "hold": {
        "seconds": 30,
        "queue": 256,
        "replay": true,
        "expectedSeconds": 0
      }
    }
  ]
}
`,
    );
  });

  it("runs gpu-switch apply once in the switch's namespace with the socket, after every container and the switch", async () => {
    const e = await evaluateModel(switchedModel(), { ...switchedBefore, nameSuffix: suffixes() });
    const push = e.get(T.container, "lab-switch-push");
    const model = switchedModel();
    const releases = releasesIn(uploadOf(e, "lab-switch-push"));
    expect(releases.stt).toMatch(KEY);
    expect(releases.tts).toMatch(KEY);
    expect(push.inputs).toEqual({
      image: e.get(T.container, "lab-switch-container").inputs.image,
      command: ["/gpu-switch", "apply", "/push/plan.json"],
      uploads: [
        {
          file: "/push/plan.json",
          content: planJson({
            stack: "dev",
            switch: { streamCloseDelay: "1h", tlsHost: "localhost" },
            services: [
              planService(model.services[1], "tts-dev-1a2b3c", releases.tts),
              planService(model.services[0], "stt-dev", releases.stt),
            ],
          }),
        },
      ],
      // The switch container's id (the mock's `<name>-id`): dockerd keeps `container:<id>` and the provider reads it.
      networkMode: "container:lab-switch-container-id",
      volumes: [{ hostPath: "/run/docker.sock", containerPath: "/var/run/docker.sock" }],
      attach: true,
      logs: true,
      mustRun: false,
      rm: false,
      wait: false,
      labels: [{ label: "gpu-services.stack", value: "dev" }],
    });
    // What planService made of the specs: the readiness and hold the model resolved, the wait at least the hold.
    expect(JSON.parse(uploadOf(e, "lab-switch-push")).services[0]).toMatchObject({
      name: "stt",
      waitSeconds: 30,
      readiness: { kind: "tcp", port: 8000, timeoutMs: 10000, intervalMs: 1000, passes: 1 },
      hold: { seconds: 30, queue: 256, replay: true, expectedSeconds: 0 },
    });
    expect(push.inputs.name).toBeUndefined(); // autonamed
    const stack = `${URN}gpu-services:index:GpuService$docker:index/container:Container::`;
    expect(push.options.dependencies).toEqual(
      expect.arrayContaining([
        `${URN}gpu-services:index:GpuSwitch$docker:index/container:Container::lab-switch-container`,
        `${stack}tts-container`,
        `${stack}stt-container`,
      ]),
    );
  });

  it("may run as long as the longest readiness wait plus the largest drain plus 120 s", async () => {
    const e = await evaluateModel(switchedModel(), { ...switchedBefore, nameSuffix: suffixes() });
    // tts waits 60 + 3 × (5 + 2) + 60 = 141 s (healthcheckSpec), above its hold of 90; the largest drain is stt's 45 s.
    expect(e.get(T.container, "lab-switch-push").options.customTimeouts).toEqual({
      create: "306s",
      update: "",
      read: "",
      pb_delete: "",
    });
  });

  it("gives an unchanged release unchanged uploads, and a new release new ones, with the same key in both", async () => {
    const run = async (suffix: string, model = switchedModel()) => {
      const e = await evaluateModel(model, { ...switchedBefore, nameSuffix: () => suffix });
      return { plan: uploadOf(e, "lab-switch-push"), drain: uploadOf(e, "lab-switch-drain") };
    };
    const first = await run("aaaaaa");
    expect(await run("aaaaaa")).toEqual(first);
    // A blue-green copy's name suffix is no new release: the key stays (the name goes in the plan as the daemon has it).
    const renamed = await run("bbbbbb");
    expect(renamed.drain).toBe(first.drain);
    expect(releasesIn(renamed.plan)).toEqual(releasesIn(first.plan));
    // What the docker provider updates in place (the restart policy) is no new release either.
    const restart = (m: DockerModel): DockerModel => ({
      ...m,
      services: m.services.map((s) => (s.name === "stt" ? { ...s, restart: "always" } : s)),
    });
    expect(await run("aaaaaa", restart(switchedModel()))).toEqual(first);
    // A new image for stt: a new key for stt only, in both uploads.
    const newImage = (m: DockerModel): DockerModel => ({
      ...m,
      services: m.services.map((s) =>
        s.name === "stt" && s.image.kind === "registry" ? { ...s, image: { ...s.image, ref: "nginx:1.28" } } : s,
      ),
    });
    const released = await run("aaaaaa", newImage(switchedModel()));
    const [before, after] = [releasesIn(first.plan), releasesIn(released.plan)];
    expect(after.stt).not.toBe(before.stt);
    expect(after.tts).toBe(before.tts);
    expect(releasesIn(released.drain)).toEqual({ stt: after.stt });
    expect(releasesIn(first.drain)).toEqual({ stt: before.stt });
  });

  it("fails the up with a RunError carrying the logs and the way out when the agent exits 3", async () => {
    const logs =
      "tts-dev-1a2b3c: not healthy after 141s; last log lines:\nOOM\n" +
      '{"switched":["stt"],"failed":["tts"],"kept":["tts-dev-0f0f0f"]}\n';
    const e = await evaluateModel(switchedModel(), {
      ...switchedBefore,
      nameSuffix: suffixes(),
      preview: false,
      outputsOf: { "lab-switch-push": { exitCode: 3, containerLogs: logs } },
    });
    const outcome = await e.push.lab;
    const failure = "error" in outcome ? (outcome.error as Error) : undefined;
    expect(failure).toBeInstanceOf(pulumi.RunError);
    expect(failure?.message).toBe(
      "the switch push on host lab (stack dev) exited with code 3: tts did not turn healthy in time; the old " +
        "release keeps serving.\n" +
        logs.trimEnd() +
        "\nSee why with `gpu-services -s dev logs tts --since 15m` and `gpu-services -s dev logs --push`." +
        "\nRoll back with `npm run release -- rollback dev tts` and `pulumi up --stack dev`, or retry with " +
        "`pulumi up --stack dev --refresh`.",
    );
    const ok = await evaluateModel(switchedModel(), {
      ...switchedBefore,
      nameSuffix: suffixes(),
      outputsOf: { "lab-switch-push": { exitCode: 0, containerLogs: "{}" } },
    });
    expect(await ok.push.lab).toEqual({ exitCode: 0 });
  });

  it("names every service of the host when the logs have no summary (a bad plan, a switch that refused)", () => {
    expect(pushFailure("dev", "lab", ["stt", "tts"], 4, "load: 400\n")).toBe(
      "the switch push on host lab (stack dev) exited with code 4: the switch did not take the new routing; the " +
        "old routing keeps serving.\nload: 400\nSee why with `gpu-services -s dev logs --switch --since 15m` and " +
        "`gpu-services -s dev logs --push`.\nRoll back with `npm run release -- rollback dev stt` or " +
        "`npm run release -- rollback dev tts` and `pulumi up --stack dev`, or retry with " +
        "`pulumi up --stack dev --refresh`.",
    );
  });
});

describe("the drain container", () => {
  const DRAIN = `${URN}gpu-services:index:GpuSwitch$docker:index/container:Container::lab-switch-drain`;
  const IMAGE = `${URN}gpu-services:index:GpuService$docker:index/remoteImage:RemoteImage::`;
  const CONTAINER = `${URN}gpu-services:index:GpuService$docker:index/container:Container::`;

  it("writes the drain file sorted, in a fixed key order, each service's ports once", () => {
    expect(
      drainJson("prod", [
        { name: "tts", copy: 0, release: "r2", drainSeconds: 0, drainedSeconds: 200, ports: [8056, 8055, 8056] },
        {
          name: "stt",
          copy: 0,
          release: "gpu-services/stt:cf2f@sha256:2+ba9876543210",
          drainSeconds: 30,
          drainedSeconds: 450,
          ports: [8060],
        },
      ]),
    ).toBe(
      `{
  "version": 1,
  "stack": "prod",
  "services": [
    {
      "name": "stt",
      "release": "gpu-services/stt:cf2f@sha256:2+ba9876543210",
      "drainSeconds": 30,
      "drainedSeconds": 450,
      "ports": [
        8060
      ]
    },
    {
      "name": "tts",
      "release": "r2",
      "drainSeconds": 0,
      "drainedSeconds": 200,
      "ports": [
        8055,
        8056
      ]
    }
  ]
}
`,
    );
  });

  it("drains a stop-then-start route after its new image is there and before its old container stops", async () => {
    const e = await evaluateModel(switchedModel(), { ...switchedBefore, nameSuffix: suffixes() });
    const drain = e.get(T.container, "lab-switch-drain");
    const release = releasesIn(uploadOf(e, "lab-switch-push")).stt;
    expect(release).toMatch(KEY);
    expect(drain.inputs).toEqual({
      image: e.get(T.container, "lab-switch-container").inputs.image,
      command: ["/gpu-switch", "drain", "/push/drain.json"],
      // stt: stop grace 30 s + the push's wait (its hold, 30 s) + 120 s before its routes heal without a push.
      uploads: [
        {
          file: "/push/drain.json",
          content: drainJson("dev", [
            { name: "stt", copy: 0, release, drainSeconds: 45, drainedSeconds: 180, ports: [8060] },
          ]),
        },
      ],
      networkMode: "container:lab-switch-container-id",
      volumes: [{ hostPath: "/run/docker.sock", containerPath: "/var/run/docker.sock" }],
      attach: true,
      logs: true,
      mustRun: false,
      rm: false,
      wait: false,
      labels: [{ label: "gpu-services.stack", value: "dev" }],
    });
    expect(drain.options.customTimeouts).toEqual({ create: "105s", update: "", read: "", pb_delete: "" });
    expect(drain.options.dependencies).not.toContain(`${IMAGE}tts-image`);
    expect(drain.options.dependencies).toEqual(
      expect.arrayContaining([
        `${URN}gpu-services:index:GpuSwitch$docker:index/container:Container::lab-switch-container`,
        `${IMAGE}stt-image`,
      ]),
    );
    // stt's container is replaced after the drain; tts (blue-green) starts beside its old copy and waits for nothing.
    expect(e.get(T.container, "stt-container").options.dependencies).toContain(DRAIN);
    expect(e.get(T.container, "tts-container").options.dependencies).not.toContain(DRAIN);
    expect(e.get(T.container, "lab-switch-push").options.dependencies).toContain(`${CONTAINER}stt-container`);
  });

  it("is not made where no stop-then-start service has a route to drain: blue-green only, no port, a new switch", async () => {
    const blueGreenOnly = await evaluateModel(
      switchedModel({ tts: blueGreen, stt: { ...blueGreen, reason: "stt: blue-green: no GPU" } }),
      { ...switchedBefore, nameSuffix: suffixes() },
    );
    const model = switchedModel();
    const portless = await evaluateModel(
      { ...model, services: model.services.map((s) => (s.name === "stt" ? { ...s, ports: [] } : s)) },
      { ...switchedBefore, nameSuffix: suffixes() },
    );
    const first = await evaluateModel(switchedModel(), { nameSuffix: suffixes() }); // the switch is new
    for (const e of [blueGreenOnly, portless, first]) {
      expect(e.ofType(T.container).map((c) => c.name)).not.toContain("lab-switch-drain");
      expect(e.get(T.container, "stt-container").options.dependencies).not.toContain(DRAIN);
    }
  });

  it("warns, and leaves the up to the push, when the switch did not answer it", async () => {
    const warned: string[] = [];
    const spy = vi.spyOn(pulumi.log, "warn").mockImplementation(async (msg: string) => void warned.push(msg));
    try {
      const e = await evaluateModel(switchedModel(), {
        ...switchedBefore,
        nameSuffix: suffixes(),
        preview: false,
        outputsOf: {
          "lab-switch-drain": { exitCode: 4, containerLogs: "drain: POST /gpu-switch/drain: connection refused\n" },
        },
      });
      expect(await e.push.lab).toEqual({ exitCode: undefined });
    } finally {
      spy.mockRestore();
    }
    expect(warned).toEqual([
      "the drain on host lab exited with code 4 (the switch did not answer): requests in flight on stt may be cut " +
        "when the old containers stop; the switch holds the new ones, and sends again those it may replay.\n" +
        "drain: POST /gpu-switch/drain: connection refused",
    ]);
    expect(drainWarning("lab", ["a", "b"], 2, "bad\n")).toBe(
      "the drain on host lab exited with code 2 (the agent refused the drain file): requests in flight on a, b may " +
        "be cut when the old containers stop; the switch holds the new ones, and sends again those it may replay.\nbad",
    );
  });
});

describe("the first up with a switch", () => {
  it("releases every service of a host without a switch yet stop-then-start, and starts the switch after them", async () => {
    const logged: string[] = [];
    const spy = vi.spyOn(pulumi.log, "info").mockImplementation(async (msg: string) => void logged.push(msg));
    let e;
    try {
      e = await evaluateModel(switchedModel(), { nameSuffix: suffixes() }); // no previous switches output
    } finally {
      spy.mockRestore();
    }
    expect(e.get(T.stackReference, "organization/gpu-services/dev").inputs).toEqual({
      name: "organization/gpu-services/dev",
    });
    const tts = e.get(T.container, "tts-container");
    expect(tts.inputs.name).toBe("tts-dev");
    expect(tts.options.deleteBeforeReplace).toBe(true);
    expectBehindSwitch(tts, "tts-dev");
    const sw = e.get(T.container, "lab-switch-container");
    const stack = `${URN}gpu-services:index:GpuService$docker:index/container:Container::`;
    expect(sw.options.dependencies).toEqual(expect.arrayContaining([`${stack}tts-container`, `${stack}stt-container`]));
    expect(logged).toContain(
      "tts: stop-then-start: the switch on lab is new in this up, and the old container holds the ports it " +
        `publishes until it is deleted (afterwards: ${blueGreen.reason})`,
    );
    expect(
      JSON.parse(e.get(T.container, "lab-switch-push").inputs.uploads[0].content).services.map(
        (s: { container: string; strategy: string }) => [s.container, s.strategy],
      ),
    ).toEqual([
      ["stt-dev", "stop-then-start"],
      ["tts-dev", "stop-then-start"],
    ]);
  });
});

describe("without a switch", () => {
  it("registers no switch, no push and no stack reference, and the containers publish their ports", async () => {
    const model = switchedModel();
    const { switch: _none, ...noSwitch } = model;
    const e = await evaluateModel(noSwitch, { nameSuffix: suffixes() });
    expect(e.ofType(T.gpuSwitch)).toEqual([]);
    expect(e.ofType(T.network)).toEqual([]);
    expect(e.ofType(T.stackReference)).toEqual([]);
    expect(
      e
        .ofType(T.container)
        .map((c) => c.name)
        .sort(),
    ).toEqual(["stt-container", "tts-container"]);
    const tts = e.get(T.container, "tts-container");
    expect(tts.inputs.name).toBe("tts-dev");
    expect(tts.inputs.ports).toEqual([
      { internal: 8000, external: 8055, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 8001, external: 8056, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(tts.inputs.networksAdvanced).toBeUndefined();
    expect(tts.inputs.wait).toBe(true);
    expect(tts.inputs.labels.map((l: { label: string }) => l.label)).not.toContain("gpu-services.container-name");
    expect(tts.options.deleteBeforeReplace).toBe(true);
    expect(e.program.switches).toBeUndefined();
  });
});
