import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { buildModel } from "../model";
import { labModel, NGINX } from "../test/support/models";
import { exportCompose, exportNotes } from "./export";

describe("export-compose", () => {
  it("writes a CPU limit as compose's service-level cpus, and none where there is no limit", () => {
    const model = labModel({ tts: { image: NGINX, cpus: 1.5 }, stt: { image: NGINX } });
    const doc = parse(exportCompose(model).get("dev-lab.compose.yaml")!);
    expect(doc.services.tts.cpus).toBe(1.5);
    expect("cpus" in doc.services.stt).toBe(false);
  });

  it("writes a blue-green service as a stop-then-start one: ports and container_name as without a switch", () => {
    const stack = (withSwitch: boolean) =>
      buildModel(
        {
          hosts: {
            lab: {
              dockerHost: "unix:///var/run/docker.sock",
              gpus: { count: 1, devices: [{ id: "0", memoryGiB: 16 }] },
            },
          },
          ...(withSwitch ? { switch: { image: { repository: "127.0.0.1:5000/gpu-switch", tag: "v1" } } } : {}),
          services: {
            tts: {
              host: "lab",
              image: NGINX,
              ports: [{ host: 8055, container: 80 }],
              gpus: { deviceIds: ["0"], memoryGiB: 6 },
              healthcheck: { test: "true" },
            },
          },
        },
        { stack: "dev" },
      );
    const blueGreen = stack(true);
    expect(blueGreen.services[0].release.strategy).toBe("blue-green");
    expect(stack(false).services[0].release.strategy).toBe("stop-then-start");
    expect(exportCompose(blueGreen)).toEqual(exportCompose(stack(false)));
    const doc = parse(exportCompose(blueGreen).get("dev-lab.compose.yaml")!);
    expect(doc.services.tts.ports).toEqual(["0.0.0.0:8055:80/tcp"]);
    expect(doc.services.tts.container_name).toBe("tts-dev");
  });

  it("writes copies as deploy.replicas, without container_name, each asking for its count of GPUs; notes what it cannot say", () => {
    const model = buildModel(
      {
        hosts: {
          lab: {
            dockerHost: "unix:///var/run/docker.sock",
            gpus: {
              count: 2,
              devices: [
                { id: "0", memoryGiB: 24 },
                { id: "1", memoryGiB: 24 },
              ],
            },
          },
        },
        switch: { image: { repository: "127.0.0.1:5000/gpu-switch", tag: "v1" } },
        services: {
          stt: {
            host: "lab",
            image: NGINX,
            ports: [{ host: 8060, container: 80 }],
            gpus: { memoryGiB: 16 },
            replicas: 2,
          },
          tts: { host: "lab", image: NGINX, ports: [{ host: 8055, container: 80 }] },
        },
      },
      { stack: "dev" },
    );
    const doc = parse(exportCompose(model).get("dev-lab.compose.yaml")!);
    expect(doc.services.stt.deploy).toEqual({
      replicas: 2,
      resources: { reservations: { devices: [{ driver: "nvidia", count: 1, capabilities: ["gpu"] }] } },
    });
    expect("container_name" in doc.services.stt).toBe(false);
    // One copy: as it always was.
    expect(doc.services.tts.container_name).toBe("tts-dev");
    expect("deploy" in doc.services.tts).toBe(false);
    expect(exportNotes(model)).toEqual([
      "note: services.stt has 2 copies (written as deploy.replicas): compose cannot say which GPU each copy uses " +
        "(here copy 0 → GPU 0, copy 1 → GPU 1), nor put one endpoint in front of them (its copies publish the same " +
        "host ports) or name each container (container_name is left out)",
    ]);
  });
});
