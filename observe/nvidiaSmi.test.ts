/**
 * The nvidia-smi readers on real output: a capture of nvidia-smi on a real H100 machine (test/fixtures/nvidia-smi,
 * byte for byte from nvidia_gpu_exporter), the sections printed by the stand-in nvidia-smi the Docker tests and
 * the e2e put in their image, run here by the real busybox; and the shapes nvidia-smi prints when a figure is
 * not available.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { APPS_QUERY, GPU_QUERY, NvidiaSmiParseError, parseComputeApps, parseCsv, parseGpus } from "./nvidiaSmi";
import { heldMemory } from "./status";
import { CAPTURE_FILE, STAND_IN_DIR } from "../test/support/gpuImage";

const capture = path.join(STAND_IN_DIR, CAPTURE_FILE);

/** What the stand-in prints for a query, run by the static busybox as it is in the test image. */
function standIn(query: string): string {
  return execFileSync("/bin/busybox", ["sh", path.join(STAND_IN_DIR, "nvidia-smi"), query, "--format=csv"], {
    encoding: "utf8",
    env: { NVIDIA_SMI_CAPTURE: capture },
  });
}

describe("the captured output and its source", () => {
  it("is kept with its repository, path and commit", () => {
    const source = JSON.parse(fs.readFileSync(path.join(STAND_IN_DIR, "source.json"), "utf8"));
    expect(source).toMatchObject({
      repository: "utkuozdemir/nvidia_gpu_exporter",
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    expect(source.files[CAPTURE_FILE]).toBe(`internal/captures/${CAPTURE_FILE}`);
    expect(fs.readFileSync(capture, "utf8")).toContain("# $ nvidia-smi --query-compute-apps=");
  });
});

describe("parseGpus", () => {
  it("reads the H100 under load by column name, among the 100-odd fields the exporter asked for", () => {
    const text = standIn(GPU_QUERY);
    expect(parseCsv(text)[0]).toMatchObject({ count: "1", name: "NVIDIA H100 80GB HBM3" });
    expect(parseGpus(text)).toEqual([
      {
        index: 0,
        uuid: "GPU-00000000-0000-0000-0000-000000000000",
        name: "NVIDIA H100 80GB HBM3",
        memoryUsedMiB: 19818,
        memoryTotalMiB: 81559,
        utilizationPercent: 100,
      },
    ]);
  });

  it("reads the idle section of the same capture (another sample, same columns)", () => {
    const lines = fs.readFileSync(capture, "utf8").split("\n");
    const at = lines.findIndex((l) => l.startsWith("# idle :: query-gpu"));
    const [gpu] = parseGpus(lines.slice(at + 3, at + 5).join("\n"));
    expect(gpu.utilizationPercent).toBe(0);
    expect(gpu.memoryTotalMiB).toBe(81559);
    expect(gpu.memoryUsedMiB).toBeLessThan(19818);
  });

  it("leaves out what nvidia-smi says is not available, and never makes a figure up", () => {
    const text =
      "index, uuid, memory.used [MiB], memory.total [MiB], utilization.gpu [%]\n0, GPU-a, [N/A], 24576 MiB, [Not Supported]\n";
    expect(parseGpus(text)).toEqual([{ index: 0, uuid: "GPU-a", memoryTotalMiB: 24576 }]);
  });

  it("refuses output that is not nvidia-smi CSV, saying why", () => {
    expect(() => parseGpus("")).toThrow(NvidiaSmiParseError);
    expect(() => parseGpus("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")).toThrow(
      /not a CSV header/,
    );
    expect(() => parseGpus("uuid, memory.used [MiB]\nGPU-a\n")).toThrow(/line 2 has 1 values for 2 columns/);
    expect(() => parseGpus("uuid, memory.used [MiB]\nGPU-a, lots\n")).toThrow(/memory.used is not a number: "lots"/);
    expect(() => parseGpus("index, name\n0, x\n")).toThrow(/line 2 has no uuid/);
  });
});

describe("parseComputeApps", () => {
  it("reads the processes of the H100 under load, with host PIDs and memory", () => {
    expect(parseComputeApps(standIn(APPS_QUERY))).toEqual([
      {
        gpuUuid: "GPU-00000000-0000-0000-0000-000000000000",
        pid: 11327,
        processName: "/root/tools/memhog",
        usedMemoryMiB: 2566,
      },
      {
        gpuUuid: "GPU-00000000-0000-0000-0000-000000000000",
        pid: 11328,
        processName: "/root/tools/memhog",
        usedMemoryMiB: 1542,
      },
      {
        gpuUuid: "GPU-00000000-0000-0000-0000-000000000000",
        pid: 11345,
        processName: "./gpu_burn",
        usedMemoryMiB: 15690,
      },
    ]);
  });

  it("reads a header alone as no processes (the idle capture)", () => {
    const lines = fs.readFileSync(capture, "utf8").split("\n");
    const at = lines.findIndex((l) => l.startsWith("# idle :: query-compute-apps"));
    expect(parseComputeApps(lines[at + 3])).toEqual([]);
  });

  it("keeps a process whose memory nvidia-smi cannot tell without a figure", () => {
    expect(parseComputeApps("gpu_uuid, pid, used_gpu_memory [MiB]\nGPU-a, 42, [N/A]\n")).toEqual([
      { gpuUuid: "GPU-a", pid: 42 },
    ]);
  });
});

describe("heldMemory", () => {
  it("sums what the processes with a container's host PIDs hold, and says how many of the listed ones they are", () => {
    const apps = parseComputeApps(standIn(APPS_QUERY));
    expect(heldMemory(apps, new Set([11327, 11345, 1]))).toEqual({
      gpuMemoryMiB: 2566 + 15690,
      gpuMemoryNote: "2 of the 3 GPU processes nvidia-smi lists are this service's",
    });
    expect(heldMemory(apps, new Set([4242]))).toEqual({
      gpuMemoryMiB: 0,
      gpuMemoryNote: "0 of the 3 GPU processes nvidia-smi lists are this service's",
    });
    expect(heldMemory([{ gpuUuid: "GPU-a", pid: 7 }], new Set([7]))).toEqual({
      gpuMemoryMiB: null,
      gpuMemoryNote: "nvidia-smi does not report its processes' memory",
    });
  });
});

describe("the stand-in", () => {
  it("answers only the two captured queries, as the real one refuses unknown options", () => {
    let status = 0;
    try {
      execFileSync("/bin/busybox", ["sh", path.join(STAND_IN_DIR, "nvidia-smi"), "-L"], {
        stdio: "pipe",
        env: { NVIDIA_SMI_CAPTURE: capture },
      });
    } catch (error) {
      status = (error as { status: number }).status;
    }
    expect(status).toBe(2);
  });
});
