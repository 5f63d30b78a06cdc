/** The container inputs that are pure functions of a service's spec, without the Pulumi runtime. */
import { describe, expect, it } from "vitest";
import { deviceRequests, endpointUrl, healthcheckArgs, labelArgs, portArgs, runtimeArgs } from "./containerInputs";

describe("container inputs", () => {
  it("maps ports to the provider's names, in order", () => {
    expect(portArgs([{ host: 8060, container: 8000, protocol: "tcp", hostIp: "0.0.0.0" }])).toEqual([
      { internal: 8000, external: 8060, ip: "0.0.0.0", protocol: "tcp" },
    ]);
  });

  it("requests NVIDIA GPUs by count, all (-1) or device IDs, and nothing without gpus", () => {
    expect(deviceRequests({ count: 1, capabilities: ["gpu"] })).toEqual({
      deviceRequests: [{ driver: "nvidia", count: 1, capabilities: ["gpu"] }],
    });
    expect(deviceRequests({ count: "all", capabilities: ["gpu", "utility"] })).toEqual({
      deviceRequests: [{ driver: "nvidia", count: -1, capabilities: ["gpu", "utility"] }],
    });
    expect(deviceRequests({ deviceIds: ["GPU-1"], capabilities: ["gpu"] })).toEqual({
      deviceRequests: [{ driver: "nvidia", deviceIds: ["GPU-1"], capabilities: ["gpu"] }],
    });
    expect(deviceRequests(undefined)).toEqual({});
  });

  it("waits for a healthcheck as long as the model says, and not at all without one", () => {
    const spec = {
      test: ["CMD", "true"],
      interval: "5s",
      timeout: "2s",
      retries: 2,
      startPeriod: "1s",
      waitTimeoutSeconds: 75,
    };
    expect(healthcheckArgs(spec)).toEqual({
      healthcheck: { tests: ["CMD", "true"], interval: "5s", timeout: "2s", retries: 2, startPeriod: "1s" },
      wait: true,
      waitTimeout: 75,
    });
    expect(healthcheckArgs(undefined)).toEqual({ wait: false });
  });

  it("sorts labels and puts this program's own last word on its prefix", () => {
    const labels = labelArgs(
      { "z.team": "speech", "a.tier": "gpu" },
      {
        service: "stt",
        stack: "prod",
        release: "r",
        image: "i",
        secretEnvNames: ["HF_TOKEN", "API_KEY"],
      },
    );
    expect(labels.map((l) => l.label)).toEqual([
      "a.tier",
      "gpu-services.image",
      "gpu-services.release",
      "gpu-services.secret-env",
      "gpu-services.service",
      "gpu-services.stack",
      "z.team",
    ]);
    expect(labels.find((l) => l.label === "gpu-services.secret-env")?.value).toBe("API_KEY,HF_TOKEN");
  });

  it("builds the endpoint URL at the bound address, brackets IPv6, and has none without a port", () => {
    const port = { host: 8055, container: 8000, protocol: "tcp" as const };
    expect(endpointUrl("https", { ...port, hostIp: "0.0.0.0" }, "10.30.11.45")).toBe("https://10.30.11.45:8055");
    expect(endpointUrl("http", { ...port, hostIp: "127.0.0.1" }, "10.30.11.45")).toBe("http://127.0.0.1:8055");
    expect(endpointUrl("http", { ...port, hostIp: "fd00::5" }, "gpu")).toBe("http://[fd00::5]:8055");
    expect(endpointUrl("http", undefined, "gpu")).toBeUndefined();
  });

  it("renders entrypoint, /dev/shm in MiB (as the docker provider takes it), ipc, ulimits and cpus, and nothing unset", () => {
    expect(
      runtimeArgs({
        cpus: 1.5,
        entrypoint: ["python3", "-m", "vllm.entrypoints.openai.api_server"],
        shmSizeBytes: 16 * 2 ** 30,
        ipc: "host",
        ulimits: { memlock: { soft: -1, hard: -1 }, stack: { soft: 67108864, hard: 67108864 } },
      }),
    ).toEqual({
      cpus: "1.5",
      entrypoints: ["python3", "-m", "vllm.entrypoints.openai.api_server"],
      shmSize: 16384,
      ipcMode: "host",
      ulimits: [
        { name: "memlock", soft: -1, hard: -1 },
        { name: "stack", soft: 67108864, hard: 67108864 },
      ],
    });
    expect(runtimeArgs({})).toEqual({});
  });
});
