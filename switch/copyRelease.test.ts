/**
 * A service with three copies behind a switch, under mocks: each copy's container on its own GPU, and the release
 * one copy at a time on a switch that ran before (each copy's drain and partial push, in turn; a failed push stops
 * the release there), or all at once where the switch is new. The model is built directly, copies given (their
 * placement is the model's, tested there).
 */
import { describe, expect, it } from "vitest";
import type { DockerServiceSpec, ReleaseSpec } from "../model";
import { collectingRejections, evaluateModel, T, type Evaluation } from "../test/support/harness";
import { LAB_SWITCH, labModel, NGINX, type DockerModel } from "../test/support/models";
import { serviceOfRoute } from "../observe/metrics/series";
import { copyKept, pushFailure } from "./switchPush";

const URN = "urn:pulumi:dev::gpu-services::";
const CONTAINER = `${URN}gpu-services:index:GpuService$docker:index/container:Container::`;
const AGENT = `${URN}gpu-services:index:GpuSwitch$docker:index/container:Container::`;

const stopThenStart: ReleaseSpec = {
  requested: "auto",
  strategy: "stop-then-start",
  reason: "stt: stop-then-start: 2 × 16 GiB = 32 GiB > 24 GiB on GPU 0",
  drainSeconds: 20,
};
const blueGreen: ReleaseSpec = { ...stopThenStart, strategy: "blue-green", reason: "stt: blue-green: fits" };

/** stt with three copies on GPUs 0, 1 and 2 and one port, beside tts (one copy), behind a switch on lab. */
function copiedModel(release: ReleaseSpec): DockerModel {
  const base = labModel({
    stt: {
      image: NGINX,
      ports: [{ host: 8060, container: 8000 }],
      gpus: { count: 1, memoryGiB: 16 },
      healthcheck: { test: ["CMD", "true"], interval: "5s", timeout: "2s", retries: 3, startPeriod: "10s" },
    },
    tts: { image: NGINX, ports: [{ host: 8055, container: 8000 }] },
  });
  const copies = [0, 1, 2].map((index) => ({ index, deviceIds: [String(index)] }));
  return {
    ...base,
    switch: LAB_SWITCH,
    services: base.services.map((s): DockerServiceSpec =>
      s.name === "stt" ? { ...s, release, replicas: 3, copies } : { ...s, release },
    ),
  };
}

const switchedBefore = { previousOutputs: { switches: { lab: { container: "gpu-switch-dev", ports: [8055, 8060] } } } };
const suffixes = () => {
  let n = 0;
  return () => `00000${n++}`.slice(-6);
};
const upload = (e: Evaluation, name: string) => JSON.parse(e.get(T.container, name).inputs.uploads[0].content);
const deps = (e: Evaluation, name: string) => e.get(T.container, name).options.dependencies;

describe("copies of a service behind a switch", () => {
  it("makes a container per copy, each named after it, on its own GPU, labelled with its index past the first", async () => {
    const e = await evaluateModel(copiedModel(stopThenStart), { ...switchedBefore, nameSuffix: suffixes() });
    const copies = ["stt-container", "stt-copy1-container", "stt-copy2-container"].map((n) => e.get(T.container, n));
    expect(copies.map((c) => c.inputs.name)).toEqual(["stt-dev", "stt-dev-copy1", "stt-dev-copy2"]);
    expect(copies.map((c) => c.inputs.deviceRequests)).toEqual(
      ["0", "1", "2"].map((id) => [{ driver: "nvidia", deviceIds: [id], capabilities: ["gpu"] }]),
    );
    const copyLabel = (c: (typeof copies)[number]) =>
      c.inputs.labels.find((l: { label: string }) => l.label === "gpu-services.copy")?.value;
    expect(copies.map(copyLabel)).toEqual([undefined, "1", "2"]);
    // One image and its volumes for all three: made once, by the service.
    expect(e.ofType(T.remoteImage).filter((r) => r.name.startsWith("stt"))).toHaveLength(1);
  });

  it("stop-then-start: drains, replaces and pushes one copy after the other, each copy's turn after the push before", async () => {
    const e = await evaluateModel(copiedModel(stopThenStart), { ...switchedBefore, nameSuffix: suffixes() });
    for (const [index, name] of ["stt", "stt-copy1", "stt-copy2"].entries()) {
      const drain = upload(e, `lab-switch-drain-${name}`);
      expect(drain.services).toEqual([
        expect.objectContaining({ name: "stt", ...(index > 0 ? { copy: index } : {}), ports: [8060] }),
      ]);
      expect(deps(e, `${name}-container`)).toContain(`${AGENT}lab-switch-drain-${name}`);
      const push = upload(e, `lab-switch-push-${name}`);
      expect(push.partial).toBe(true);
      expect(
        push.services.map((s: { name: string; copy?: number; container: string }) => [s.name, s.copy, s.container]),
      ).toEqual([["stt", index > 0 ? index : undefined, index > 0 ? `stt-dev-copy${index}` : "stt-dev"]]);
      expect(deps(e, `lab-switch-push-${name}`)).toContain(`${CONTAINER}${name}-container`);
    }
    expect(deps(e, "lab-switch-drain-stt-copy1")).toContain(`${AGENT}lab-switch-push-stt`);
    expect(deps(e, "lab-switch-drain-stt-copy2")).toContain(`${AGENT}lab-switch-push-stt-copy1`);
    // The host's drain has the other stop-then-start services; its push every copy, after the last copy's push.
    expect(upload(e, "lab-switch-drain").services.map((s: { name: string }) => s.name)).toEqual(["tts"]);
    const whole = upload(e, "lab-switch-push");
    expect(whole.partial).toBeUndefined();
    expect(whole.services.map((s: { name: string; copy?: number }) => `${s.name}/${s.copy ?? 0}`)).toEqual([
      "stt/0",
      "stt/1",
      "stt/2",
      "tts/0",
    ]);
    expect(deps(e, "lab-switch-push")).toContain(`${AGENT}lab-switch-push-stt-copy2`);
  });

  it("blue-green: the first copy starts beside its old one at once, each next one after the push before", async () => {
    const e = await evaluateModel(copiedModel(blueGreen), { ...switchedBefore, nameSuffix: suffixes() });
    expect(e.ofType(T.container).filter((r) => r.name.startsWith("lab-switch-drain-"))).toEqual([]);
    expect(deps(e, "stt-container").filter((d) => d.startsWith(AGENT))).toEqual([]);
    expect(deps(e, "stt-copy1-container")).toContain(`${AGENT}lab-switch-push-stt`);
    expect(deps(e, "stt-copy2-container")).toContain(`${AGENT}lab-switch-push-stt-copy1`);
    expect(e.get(T.container, "stt-copy1-container").inputs.name).toMatch(/^stt-dev-copy1-\d{6}$/);
  });

  it("stops the release at a copy whose push failed: the later copies and the host's push are never registered", async () => {
    const logs = 'stt-dev: not ready after 30 s\n{"switched":[],"failed":["stt"],"kept":[]}\n';
    const { result: e, rejections } = await collectingRejections(() =>
      evaluateModel(copiedModel(stopThenStart), {
        ...switchedBefore,
        nameSuffix: suffixes(),
        preview: false,
        outputsOf: { "lab-switch-push-stt": { exitCode: 3, containerLogs: logs } },
      }),
    );
    // What fails the up is the first copy's push; nothing else failed.
    expect(rejections.length).toBeGreaterThan(0);
    for (const rejection of rejections) {
      // Some arrive wrapped by the input that could not be serialized: the push's upload, a dependency.
      expect(String((rejection as Error).message)).toContain(
        "the switch push on host lab (stack dev) exited with code 3: stt did not turn healthy in time; copy 0 is " +
          "out of the pool, and the copies after it keep serving the old release",
      );
    }
    const names = e.ofType(T.container).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(["stt-container", "lab-switch-push-stt"]));
    for (const never of [
      "lab-switch-drain-stt-copy1",
      "stt-copy1-container",
      "stt-copy2-container",
      "lab-switch-push",
    ]) {
      expect(names).not.toContain(never);
    }
  });

  it("releases every copy at once on a switch that is new: no drain or push of its own, the host's push has them all", async () => {
    const e = await evaluateModel(copiedModel(stopThenStart), { nameSuffix: suffixes() });
    expect(
      e
        .ofType(T.container)
        .map((r) => r.name)
        .filter((n) => /^lab-switch-(drain|push)-/.test(n)),
    ).toEqual([]);
    expect(upload(e, "lab-switch-push").services).toHaveLength(4);
  });
});

describe("a failed push of a copy", () => {
  it("names the copy as the agent does, and the service in the commands that show why and roll back", () => {
    const logs = '{"switched":[],"failed":["stt-copy1"],"kept":[]}\n';
    const target = { service: copiedModel(blueGreen).services.find((s) => s.name === "stt")!, copy: 1 };
    expect(pushFailure("dev", "lab", ["stt"], 3, logs, copyKept(target))).toBe(
      "the switch push on host lab (stack dev) exited with code 3: stt-copy1 did not turn healthy in time; copy 1 " +
        "keeps its old release, and the copies after it keep serving the old release.\n" +
        logs.trimEnd() +
        "\nSee why with `gpu-services -s dev logs stt --since 15m` and `gpu-services -s dev logs --push`." +
        "\nRoll back with `npm run release -- rollback dev stt` and `pulumi up --stack dev`, or retry with " +
        "`pulumi up --stack dev --refresh`.",
    );
  });

  it("reads a copy's route as its service's in the switch's metrics", () => {
    expect(["stt-8060", "stt-8060.2", "tts-api-8055.10"].map(serviceOfRoute)).toEqual(["stt", "stt", "tts-api"]);
  });
});
