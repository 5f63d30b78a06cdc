/**
 * GpuService and DockerHost through the program under mocks, on configs that exercise what the real stacks
 * do not: digests, device IDs, all GPUs, bound host addresses, unprotected volumes, local builds, registry-only
 * hosts.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { goodConfig } from "../test/support/badConfigs";
import { evaluate, registryDigests, T, valueOf } from "../test/support/harness";

const DIGEST = `sha256:${"b".repeat(64)}`;

function config(mutate: (c: Record<string, any>) => void) {
  const c = goodConfig();
  mutate(c);
  return { values: c, secretKeys: new Set<string>() };
}

describe("GpuService", () => {
  it("pulls by digest when one is given, and exports exactly that reference", async () => {
    const e = await evaluate(
      config((c) => (c.services.tts.image.digest = DIGEST)),
      "prod",
    );
    expect(e.get(T.remoteImage, "tts-image").inputs).toEqual({
      name: `ghcr.io/jim0237/tts-v2-api-server@${DIGEST}`,
      keepLocally: true,
    });
    expect(e.outputs.tts.image).toBe(`ghcr.io/jim0237/tts-v2-api-server@${DIGEST}`);
    const labels = e.get(T.container, "tts-container").inputs.labels;
    expect(labels).toContainEqual({
      label: "gpu-services.release",
      value: `ghcr.io/jim0237/tts-v2-api-server@${DIGEST}`,
    });
  });

  it("follows a tracked tag by pulling the digest the registry has now, and redeploys when it moves", async () => {
    const tracked = config((c) => {
      c.requirePinnedImages = false;
      c.services.tts.image = { repository: "ghcr.io/jim0237/tts-v2-api-server", tag: "latest", track: true };
    });
    const [first, second] = [`sha256:${"1".repeat(64)}`, `sha256:${"2".repeat(64)}`];
    registryDigests.set("ghcr.io/jim0237/tts-v2-api-server:latest", first);
    const before = await evaluate(tracked, "test");
    expect(before.get(T.remoteImage, "tts-image").inputs).toEqual({
      name: `ghcr.io/jim0237/tts-v2-api-server@${first}`,
      keepLocally: true,
    });
    expect(before.outputs.tts.image).toBe(`ghcr.io/jim0237/tts-v2-api-server@${first}`);
    expect(before.get(T.container, "tts-container").inputs.labels).toContainEqual({
      label: "gpu-services.release",
      value: `ghcr.io/jim0237/tts-v2-api-server@${first}`,
    });
    // The tag moves: same config, a new digest, so a new image name (a new pull) and a new container image.
    registryDigests.set("ghcr.io/jim0237/tts-v2-api-server:latest", second);
    const after = await evaluate(tracked, "test");
    registryDigests.clear();
    expect(after.get(T.remoteImage, "tts-image").inputs.name).toBe(`ghcr.io/jim0237/tts-v2-api-server@${second}`);
    expect(after.get(T.container, "tts-container").inputs.image).not.toBe(
      before.get(T.container, "tts-container").inputs.image,
    );
  });

  it("requests GPUs by device ID, or all of them", async () => {
    const e = await evaluate(
      config((c) => {
        c.hosts.gpu1.gpus = 4;
        c.services.stt.gpus = { deviceIds: ["0", "2"], capabilities: ["gpu", "utility"] };
        c.services.tts.gpus = { count: 2 };
      }),
      "prod",
    );
    expect(e.get(T.container, "stt-container").inputs.deviceRequests).toEqual([
      { driver: "nvidia", deviceIds: ["0", "2"], capabilities: ["gpu", "utility"] },
    ]);
    expect(e.get(T.container, "tts-container").inputs.deviceRequests).toEqual([
      { driver: "nvidia", count: 2, capabilities: ["gpu"] },
    ]);
    const all = await evaluate(
      config((c) => {
        delete c.hosts.gpu1.gpus;
        c.services.tts.gpus = { count: "all" };
      }),
      "prod",
    );
    expect(all.get(T.container, "tts-container").inputs.deviceRequests).toEqual([
      { driver: "nvidia", count: -1, capabilities: ["gpu"] },
    ]);
  });

  it("leaves out device requests, healthcheck wait and env for a plain service", async () => {
    const e = await evaluate(
      config((c) => {
        delete c.services.tts.gpus;
        delete c.services.tts.env;
        c.services.tts.ports = [{ host: 8055, container: 8000, hostIp: "127.0.0.1", protocol: "udp" }];
        c.services.tts.command = ["python", "server.py"];
        c.services.tts.user = "1000:1000";
        c.services.tts.restart = "on-failure";
        c.services.tts.stopGraceSeconds = 120;
      }),
      "prod",
    );
    const c = e.get(T.container, "tts-container").inputs;
    expect(c.deviceRequests).toBeUndefined();
    expect(c.healthcheck).toBeUndefined();
    expect(c.wait).toBe(false);
    expect(c.envs).toEqual([]);
    expect(c.ports).toEqual([{ internal: 8000, external: 8055, ip: "127.0.0.1", protocol: "udp" }]);
    expect(c.command).toEqual(["python", "server.py"]);
    expect(c.user).toBe("1000:1000");
    expect(c.restart).toBe("on-failure");
    expect(c.destroyGraceSeconds).toBe(120);
    // No tcp port: no endpoint.
    expect(e.outputs.tts.endpoint).toBeUndefined();
  });

  it("limits the container's CPUs as configured (Docker's --cpus, as the provider takes it: a string)", async () => {
    const e = await evaluate(
      config((c) => (c.services.tts.cpus = 1.5)),
      "prod",
    );
    expect(e.get(T.container, "tts-container").inputs.cpus).toBe("1.5");
    expect(e.get(T.container, "stt-container").inputs.cpus).toBeUndefined();
  });

  it("publishes the endpoint on the bound address when a port is bound to one", async () => {
    const e = await evaluate(
      config((c) => (c.services.tts.ports[0].hostIp = "192.168.7.2")),
      "prod",
    );
    expect(e.outputs.tts.endpoint).toBe("http://192.168.7.2:8055");
  });

  it("honours protect: false and retainOnDelete: false on a volume, and mounts read-only", async () => {
    const e = await evaluate(
      config(
        (c) =>
          (c.services.stt.volumes = [
            { name: "scratch", target: "/scratch", protect: false, retainOnDelete: false },
            { name: "models-ro", target: "/models", readOnly: true },
          ]),
      ),
      "prod",
    );
    expect(e.get(T.volume, "stt-volume-scratch").options).toMatchObject({ protect: false, retainOnDelete: false });
    expect(e.get(T.volume, "stt-volume-models-ro").options).toMatchObject({ protect: true, retainOnDelete: true });
    expect(e.get(T.container, "stt-container").inputs.mounts).toEqual([
      { type: "volume", source: "scratch", target: "/scratch", readOnly: false },
      { type: "volume", source: "models-ro", target: "/models", readOnly: true },
    ]);
    // Host folders are Docker binds: the daemon creates a missing one, as compose does.
    expect(e.get(T.container, "stt-container").inputs.volumes).toEqual([
      { hostPath: "/home/agnes/voice-notes", containerPath: "/app/vnotes", readOnly: false },
    ]);
  });

  it("builds from a local folder with its Dockerfile, args, target and no cache", async () => {
    const e = await evaluate(
      config((c) => {
        c.requirePinnedImages = false;
        c.services.stt.build = {
          context: "../STT-API-Server",
          dockerfile: "docker/Dockerfile.gpu",
          args: { CUDA: "12.6", PYTHON: 3.11 },
          target: "runtime",
          noCache: true,
        };
      }),
      "dev",
    );
    expect(e.get(T.build, "stt-image").inputs).toEqual({
      context: { location: "../STT-API-Server" },
      dockerfile: { location: "../STT-API-Server/docker/Dockerfile.gpu" },
      buildArgs: { CUDA: "12.6", PYTHON: "3.11" },
      target: "runtime",
      noCache: true,
      tags: ["gpu-services/stt:dev-local"],
      push: false,
      load: true,
      buildOnPreview: false,
      network: "default",
    });
  });
});

describe("DockerHost", () => {
  it("creates a docker-build provider only on hosts where a service builds, each host its own providers", async () => {
    const e = await evaluate(
      config((c) => {
        c.services.tts.host = "lab";
        c.services.tts.ports[0].host = 8060; // another host: the same host port is free there
      }),
      "prod",
    );
    expect(
      e
        .ofType(T.dockerProvider)
        .map((p) => [p.name, p.inputs.host])
        .sort(),
    ).toEqual([
      ["gpu1-docker", "ssh://agnes@10.30.11.45"],
      ["lab-docker", "unix:///var/run/docker.sock"],
    ]);
    expect(e.ofType(T.buildProvider).map((p) => [p.name, p.inputs.host])).toEqual([
      ["gpu1-build", "ssh://agnes@10.30.11.45"],
    ]);
    expect(e.providerHost(e.get(T.container, "tts-container"))).toBe("unix:///var/run/docker.sock");
    expect(e.outputs.tts.endpoint).toBe("http://localhost:8060");
  });
});

describe("release changes", () => {
  it("changing only the tts tag changes only tts resources", async () => {
    const before = await evaluate(
      config(() => {}),
      "prod",
    );
    const after = await evaluate(
      config((c) => (c.services.tts.image.tag = `sha-${"1".repeat(40)}`)),
      "prod",
    );
    const byKey = (e: typeof before) =>
      new Map(e.resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
    const a = byKey(before);
    const b = byKey(after);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    const changed = [...a.keys()].filter((k) => a.get(k) !== b.get(k)).sort();
    expect(changed).toEqual([`${T.container}::tts-container`, `${T.remoteImage}::tts-image`]);
  });
});

describe("failure order and recovery", () => {
  it("orders pull -> stop old -> start new: the container depends on its image and volumes and is replaced delete-first", async () => {
    const e = await evaluate(
      config(() => {}),
      "prod",
    );
    const tts = e.get(T.container, "tts-container");
    expect(tts.options.deleteBeforeReplace).toBe(true);
    expect(tts.options.dependencies).toEqual([
      "urn:pulumi:prod::gpu-services::gpu-services:index:GpuService$docker:index/remoteImage:RemoteImage::tts-image",
    ]);
    const stt = e.get(T.container, "stt-container");
    expect(stt.options.dependencies.sort()).toEqual([
      "urn:pulumi:prod::gpu-services::gpu-services:index:GpuService$docker-build:index:Image::stt-image",
      "urn:pulumi:prod::gpu-services::gpu-services:index:GpuService$docker:index/volume:Volume::stt-volume-stt-models",
    ]);
  });

  const STT_COST =
    "stt: stop-then-start without the switch: clients are refused for the whole load, about 60 s (healthcheck " +
    "startPeriod); with gpu-services:switch: held up to 90 s, none lost";
  const TTS_COST =
    "tts: stop-then-start without the switch: clients are refused for the whole load, for as long as it takes (no " +
    "healthcheck startPeriod says how long); with gpu-services:switch: held up to 30 s, none lost";

  it("tells, during an up, how to read the logs and roll back if a container never turns healthy", async () => {
    const logged: string[] = [];
    const on: string[] = [];
    const spy = vi.spyOn(pulumi.log, "info").mockImplementation(async (msg: string, resource?: pulumi.Resource) => {
      logged.push(msg);
      on.push(resource ? await valueOf(resource.urn) : "(stack)");
    });
    try {
      await evaluate(
        config(() => {}),
        "prod",
        undefined,
        false,
      );
      expect(logged).toEqual([
        "stt: stop-then-start: no switch: gpu-services:switch is not set",
        STT_COST,
        "if stt-prod does not turn healthy within 300s, pulumi up fails: `gpu-services -s prod logs stt --tail 200` " +
          "shows why; roll back with `npm run release -- rollback prod stt` and `pulumi up --stack prod`.",
        "tts: stop-then-start: no switch: gpu-services:switch is not set",
        TTS_COST,
      ]);
      // On the service, whose URN the engine gives at once (the real engine sends a log on a container only after
      // its step finished, so never for a container that fails its healthcheck: seen in `npm run e2e`).
      const stt = "urn:pulumi:prod::gpu-services::gpu-services:index:GpuService::stt";
      const tts = "urn:pulumi:prod::gpu-services::gpu-services:index:GpuService::tts";
      expect(on).toEqual([stt, stt, stt, tts, tts]);
      logged.length = 0;
      await evaluate(
        config(() => {}),
        "prod",
      ); // a preview says which way the service is released, and what that costs its clients
      expect(logged).toEqual([
        "stt: stop-then-start: no switch: gpu-services:switch is not set",
        STT_COST,
        "tts: stop-then-start: no switch: gpu-services:switch is not set",
        TTS_COST,
      ]);
    } finally {
      spy.mockRestore();
    }
  });
});
