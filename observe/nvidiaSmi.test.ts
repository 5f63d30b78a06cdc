/**
 * The nvidia-smi readers on real output: captures of nvidia-smi on a real H100 machine and on a real machine with
 * eight H200 (test/fixtures/nvidia-smi, byte for byte from their sources), read as the stand-in nvidia-smi of the
 * Docker tests and the e2e prints them (test/docker/nvidiaSmiStandIn.test.ts runs the stand-in itself); and the
 * shapes nvidia-smi prints when a figure is not available.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  APPS_QUERY,
  GPU_NAMES_QUERY,
  GPU_QUERY,
  NvidiaSmiParseError,
  parseComputeApps,
  parseCsv,
  parseGpus,
  withNames,
} from "./nvidiaSmi";
import { heldMemory } from "./status";
import {
  CAPTURES,
  STAND_IN_DIR,
  captureAnswer,
  capturePath,
  type CaptureName,
} from "../test/support/nvidiaSmiCaptures";

const capture = capturePath("h100");

/** What the stand-in prints for a query it can answer. */
function standIn(query: string, name: CaptureName = "h100"): string {
  const printed = captureAnswer(query, name);
  expect(printed, `the ${name} capture answers ${query}`).toBeDefined();
  return printed!;
}

/** Git's blob id of a file: what `git hash-object` prints, and what the source repository's tree holds. */
function blobId(file: string): string {
  const bytes = fs.readFileSync(file);
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

describe("the captured output and its source", () => {
  it("is kept byte for byte with its repository, path and commit", () => {
    const source = JSON.parse(fs.readFileSync(path.join(STAND_IN_DIR, "source.json"), "utf8"));
    expect(Object.keys(source.files).sort()).toEqual(
      Object.values(CAPTURES)
        .map((c) => c.file)
        .sort(),
    );
    for (const [file, from] of Object.entries<Record<string, string>>(source.files)) {
      expect(from).toMatchObject({
        repository: expect.stringMatching(/^[\w.-]+\/[\w.-]+$/),
        commit: expect.stringMatching(/^[0-9a-f]{40}$/),
        path: expect.any(String),
      });
      expect(blobId(path.join(STAND_IN_DIR, file))).toBe(from.blob);
    }
    expect(source.files[CAPTURES.h100.file].path).toBe(`internal/captures/${CAPTURES.h100.file}`);
    expect(fs.readFileSync(capture, "utf8")).toContain("# $ nvidia-smi --query-compute-apps=");
  });
});

describe("parseGpus", () => {
  it("reads the H100 under load by column name, among the 100-odd fields the exporter asked for", () => {
    const text = standIn(GPU_QUERY);
    expect(parseCsv(text)[0]).toMatchObject({ count: "1", name: "NVIDIA H100 80GB HBM3" });
    expect(withNames(parseGpus(text), standIn(GPU_NAMES_QUERY))).toEqual([
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

  it("reads the eight H200 of a shared machine, four of them just freed, in nvidia-smi's order", () => {
    const gpus = parseGpus(standIn(GPU_QUERY, "h200x8"));
    expect(gpus.map((g) => [g.index, g.memoryUsedMiB, g.utilizationPercent])).toEqual([
      [0, 130013, 100],
      [1, 130053, 100],
      [2, 0, 0],
      [3, 129993, 100],
      [4, 244, 0],
      [5, 4, 0],
      [6, 292, 0],
      [7, 58071, 0],
    ]);
    expect(new Set(gpus.map((g) => g.memoryTotalMiB))).toEqual(new Set([143771]));
    expect(new Set(gpus.map((g) => g.uuid)).size).toBe(8);
    expect(gpus[0]).toEqual({
      index: 0,
      uuid: "GPU-a44622e3-2296-6285-0a86-84d0f6c67900",
      memoryUsedMiB: 130013,
      memoryTotalMiB: 143771,
      utilizationPercent: 100,
    });
  });

  it("gives the GPUs their names where nvidia-smi tells them, matched by UUID, and leaves the others as they are", () => {
    const gpus = parseGpus(standIn(GPU_QUERY, "h200x8"));
    const names = `uuid, name\n${gpus[1].uuid}, NVIDIA H200\n`;
    expect(withNames(gpus, names).map((g) => g.name)).toEqual([undefined, "NVIDIA H200", ...Array(6).fill(undefined)]);
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

  it("reads the H200 machine's processes, on four GPUs, one whose name nvidia-smi could not find", () => {
    const apps = parseComputeApps(standIn(APPS_QUERY, "h200x8"));
    const gpus = parseGpus(standIn(GPU_QUERY, "h200x8"));
    expect(apps.map((a) => [gpus.find((g) => g.uuid === a.gpuUuid)?.index, a.pid, a.usedMemoryMiB])).toEqual([
      [0, 1328667, 130004],
      [1, 1328668, 130044],
      [3, 1328669, 129984],
      [7, 1758887, 58060],
    ]);
    expect(apps[3]).toEqual({ gpuUuid: gpus[7].uuid, pid: 1758887, usedMemoryMiB: 58060 });
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
