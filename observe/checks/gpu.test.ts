/**
 * The gpu-memory check of doctor counts what a release holds at once: a blue-green service's second copy must
 * fit in the memory nvidia-smi reports free on a GPU it may use.
 */
import { describe, expect, it } from "vitest";
import { buildModel } from "../../model";
import type { GpuFigures } from "../gpuProbe";
import { gpuMemoryCheck } from "./gpu";
import type { CheckContext } from "./types";

/** prod-like: tts blue-green (5 GiB) and stt stop-then-start (5 GiB) on one 16 GiB GPU behind a switch. */
function model() {
  return buildModel(
    {
      hosts: {
        gpu1: { dockerHost: "unix:///var/run/docker.sock", gpus: { count: 1, devices: [{ id: "0", memoryGiB: 16 }] } },
      },
      switch: { image: { repository: "127.0.0.1:5000/gpu-switch", tag: "v1" } },
      services: {
        stt: {
          host: "gpu1",
          image: { repository: "stt", tag: "v1" },
          gpus: { deviceIds: ["0"], memoryGiB: 5 },
          shareGpu: true,
          healthcheck: { test: "true" },
          release: { strategy: "stop-then-start" },
        },
        tts: {
          host: "gpu1",
          image: { repository: "tts", tag: "v1" },
          gpus: { deviceIds: ["0"], memoryGiB: 5 },
          shareGpu: true,
          healthcheck: { test: "true" },
        },
      },
    },
    { stack: "dev" },
  );
}

/** The check reads only the stack's services on the host and the GPU figures. */
function check(usedMiB: number) {
  const m = model();
  const gpus: GpuFigures = {
    available: true,
    source: "test figures",
    gpus: [{ index: 0, uuid: "GPU-0", name: "test", memoryTotalMiB: 16384, memoryUsedMiB: usedMiB }],
    processes: [],
  };
  return gpuMemoryCheck({ model: m, host: m.hosts[0], services: m.services, gpus } as unknown as CheckContext);
}

describe("gpu-memory", () => {
  it("the model gives tts blue-green and stt stop-then-start (what the check reads)", () => {
    expect(model().services.map((s) => s.release.strategy)).toEqual(["stop-then-start", "blue-green"]);
  });

  it("warns when a blue-green service's second copy does not fit in what is free, though more than 10 % is", () => {
    expect(check(12_000)).toEqual({
      level: "warn",
      summary:
        "GPU 0: 4384 of 16384 MiB free; GPU 0 has 4384 MiB free, a blue-green release's second copy needs 5120 MiB (tts 5 GiB)",
      fix: "stop what holds the memory, or set release.strategy: stop-then-start on those services",
    });
  });

  it("is ok when it fits, and names the copies it counted", () => {
    expect(check(8_000)).toEqual({
      level: "ok",
      summary: "GPU 0: 8384 of 16384 MiB free for stt one copy, tts two copies (blue-green)",
    });
  });
});

describe("gpu-memory with copies", () => {
  it("counts a blue-green service's second copy on the GPU of each copy, and only there", () => {
    const m = model();
    const tts = m.services.find((s) => s.name === "tts")!;
    const copies = [0, 1].map((index) => ({ index, deviceIds: [String(index)] }));
    const services = m.services.map((s) => (s === tts ? { ...tts, replicas: 2, copies } : s));
    const gpu = (index: number, usedMiB: number) => ({
      index,
      uuid: `GPU-${index}`,
      name: "test",
      memoryTotalMiB: 16384,
      memoryUsedMiB: usedMiB,
    });
    const gpus: GpuFigures = {
      available: true,
      source: "test figures",
      gpus: [gpu(0, 8_000), gpu(1, 12_000)],
      processes: [],
    };
    expect(gpuMemoryCheck({ model: m, host: m.hosts[0], services, gpus } as unknown as CheckContext)).toEqual({
      level: "warn",
      summary:
        "GPU 0: 8384 of 16384 MiB free, GPU 1: 4384 of 16384 MiB free; GPU 1 has 4384 MiB free, a blue-green " +
        "release's second copy needs 5120 MiB (tts 5 GiB)",
      fix: "stop what holds the memory, or set release.strategy: stop-then-start on those services",
    });
  });
});
