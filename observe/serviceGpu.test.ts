/**
 * GPU figures by device and by process, on the captures of real machines (test/fixtures/nvidia-smi) read through
 * probeGpus as the stand-in nvidia-smi of the e2e prints them: the eight-H200 machine (no sensors in its capture:
 * they stay absent) and the H100 (temperature, power and ECC), and doctor's check of memory held against the
 * declaration.
 */
import { describe, expect, it } from "vitest";
import { buildModel } from "../model";
import type { DockerCli } from "../clients";
import { captureAnswer, type CaptureName } from "../test/support/nvidiaSmiCaptures";
import { probeGpus, type GpuFigures } from "./gpuProbe";
import { containerView } from "../test/support/containerViews";
import type { ContainerView } from "./hostSnapshot";
import { serviceGpu } from "./serviceGpu";
import { gpuMemoryHeldCheck } from "./checks/gpuHeld";
import type { CheckContext } from "./checks/types";

/** A docker CLI whose `exec … nvidia-smi <query>` prints what the stand-in prints, and `top` the PIDs given. */
function fakeCli(capture: CaptureName, pids: Record<string, number[]> = {}): DockerCli {
  return {
    host: { name: "gpu1", dockerHost: "unix:///var/run/docker.sock", sshOpts: [] },
    timeoutMs: 1000,
    call: async (args: readonly string[]) => {
      const answer = captureAnswer(args.find((a) => a.startsWith("--query-")) ?? "", capture);
      return answer === undefined
        ? { code: 2, stdout: "", stderr: "nvidia-smi stand-in: no answer", timedOut: false }
        : { code: 0, stdout: answer, stderr: "", timedOut: false };
    },
    run: async (args: readonly string[]) => `PID\n${(pids[args[1]] ?? []).join("\n")}\n`,
    close() {},
  } as unknown as DockerCli;
}

const copy = (name: string, service = "stt"): ContainerView =>
  containerView(name, { labels: { "gpu-services.stack": "dev", "gpu-services.service": service } });

async function figures(capture: CaptureName): Promise<GpuFigures> {
  return probeGpus(fakeCli(capture), [copy("stt-blue")], { allowRun: false, sensors: true });
}

function model(sttGiB: number, ttsGiB: number) {
  const gpu = (id: string, memoryGiB: number) => ({ deviceIds: [id], memoryGiB });
  return buildModel(
    {
      hosts: { gpu1: { dockerHost: "unix:///var/run/docker.sock", gpus: { count: 8 } } },
      services: {
        stt: {
          host: "gpu1",
          image: { repository: "stt", tag: "v1" },
          gpus: gpu("0", sttGiB),
          healthcheck: { test: "true" },
        },
        tts: {
          host: "gpu1",
          image: { repository: "tts", tag: "v1" },
          gpus: gpu("7", ttsGiB),
          healthcheck: { test: "true" },
        },
      },
    },
    { stack: "dev" },
  );
}

const H200 = { memoryTotalMiB: 143771 };

describe("serviceGpu on the eight-H200 capture", () => {
  it("gives each copy's processes and the devices they hold, with the device figures of the capture", async () => {
    const read = await figures("h200x8");
    const stt = model(120, 60).services[0];
    const pids = new Map([
      ["stt-blue", [1328667, 4242]],
      ["stt-green", [1328668]],
    ]);
    expect(serviceGpu(stt, read, pids)).toEqual({
      declaredMiB: 122880,
      heldMiB: 130004 + 130044,
      devices: [
        {
          index: 0,
          uuid: "GPU-a44622e3-2296-6285-0a86-84d0f6c67900",
          heldMiB: 130004,
          memoryUsedMiB: 130013,
          utilizationPercent: 100,
          ...H200,
        },
        {
          index: 1,
          uuid: "GPU-4f31bb83-f8dc-d0af-029e-bc4356e6afeb",
          heldMiB: 130044,
          memoryUsedMiB: 130053,
          utilizationPercent: 100,
          ...H200,
        },
      ],
      processes: [
        {
          container: "stt-blue",
          pid: 1328667,
          gpuUuid: "GPU-a44622e3-2296-6285-0a86-84d0f6c67900",
          gpuIndex: 0,
          usedMiB: 130004,
        },
        {
          container: "stt-green",
          pid: 1328668,
          gpuUuid: "GPU-4f31bb83-f8dc-d0af-029e-bc4356e6afeb",
          gpuIndex: 1,
          usedMiB: 130044,
        },
      ],
      overDeclared: [
        "stt-blue holds 130004 MiB on GPU 0, more than the 122880 MiB declared",
        "stt-green holds 130044 MiB on GPU 1, more than the 122880 MiB declared",
      ],
    });
  });

  it("leaves out the sensors the capture does not have: the stand-in refuses the query, as nvidia-smi would", async () => {
    const read = await figures("h200x8");
    expect(read.available && read.gpus.map((g) => Object.keys(g).sort())).toEqual(
      Array(8).fill(["index", "memoryTotalMiB", "memoryUsedMiB", "utilizationPercent", "uuid"]),
    );
  });

  it("a copy within its declaration is not named, and a copy with no GPU process holds 0 MiB", async () => {
    const read = await figures("h200x8");
    const [stt, tts] = model(127, 57).services;
    expect(serviceGpu(tts, read, new Map([["tts", [1758887]]]))).toMatchObject({
      declaredMiB: 58368,
      heldMiB: 58060,
      devices: [{ index: 7, heldMiB: 58060, memoryUsedMiB: 58071, utilizationPercent: 0 }],
      overDeclared: [],
    });
    expect(serviceGpu(stt, read, new Map([["stt", [1425258]]]))).toMatchObject({
      heldMiB: 0,
      devices: [],
      processes: [],
    });
  });
});

describe("serviceGpu on the H100 capture", () => {
  it("reads temperature, power and ECC counts where the driver reports them", async () => {
    const read = await figures("h100");
    const stt = model(16, 8).services[0];
    const gpu = serviceGpu(stt, read, new Map([["stt-blue", [11345, 11327]]]));
    expect(gpu.devices).toEqual([
      {
        index: 0,
        uuid: "GPU-00000000-0000-0000-0000-000000000000",
        heldMiB: 15690 + 2566,
        memoryUsedMiB: 19818,
        memoryTotalMiB: 81559,
        utilizationPercent: 100,
        temperatureC: 59,
        powerDrawW: 631.95,
        powerLimitW: 700,
        eccCorrected: 0,
        eccUncorrected: 0,
      },
    ]);
    expect(gpu.overDeclared).toEqual(["stt-blue holds 18256 MiB on GPU 0, more than the 16384 MiB declared"]);
  });

  it("status's probe does not ask for the sensors", async () => {
    const read = await probeGpus(fakeCli("h100"), [copy("stt-blue")], { allowRun: false });
    expect(read.available && Object.keys(read.gpus[0])).not.toContain("temperatureC");
  });
});

describe("doctor's gpu-memory-held check", () => {
  async function check(sttGiB: number, ttsGiB: number) {
    const m = model(sttGiB, ttsGiB);
    const pids = { "stt-blue": [1328667], tts: [1758887] };
    const cli = fakeCli("h200x8", pids);
    const gpus = await probeGpus(cli, [copy("stt-blue")], { allowRun: false });
    const snapshot = { containers: [copy("stt-blue"), copy("tts", "tts")] };
    return gpuMemoryHeldCheck({
      model: m,
      host: m.hosts[0],
      services: m.services,
      gpus,
      cli,
      snapshot,
    } as unknown as CheckContext);
  }

  it("warns when a running copy holds more than its service declares", async () => {
    expect(await check(100, 60)).toEqual({
      level: "warn",
      summary: "stt: stt-blue holds 130004 MiB on GPU 0, more than the 102400 MiB declared",
      fix:
        "declare what the copy really takes (gpus.memoryGiB), or cap the engine (vLLM: --gpu-memory-utilization); " +
        "the release strategy's fit rule counts the declaration",
    });
  });

  it("is ok when every copy is within, saying what each holds", async () => {
    expect(await check(128, 60)).toEqual({
      level: "ok",
      summary:
        "stt 130004 MiB in 1 running copy, 131072 MiB declared per GPU; tts 58060 MiB in 1 running copy, 61440 MiB declared per GPU",
    });
  });
});
