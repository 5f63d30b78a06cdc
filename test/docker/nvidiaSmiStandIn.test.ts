/**
 * The stand-in nvidia-smi the Docker tests and the e2e put in their image (test/fixtures/nvidia-smi/nvidia-smi),
 * run here by the static busybox as it is in the image: it prints the captures of the real nvidia-smi byte for
 * byte, exactly what the unit tests parse (`captureAnswer`), and refuses what the capture cannot answer.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { APPS_QUERY, GPU_NAMES_QUERY, GPU_QUERY, parseComputeApps } from "../../observe/nvidiaSmi";
import { requireDocker } from "../labs/docker";
import { CAPTURES, STAND_IN_DIR, captureAnswer, capturePath, type CaptureName } from "../support/nvidiaSmiCaptures";

/** The stand-in run by the static busybox as it is in the test image, answering from a capture's sample. */
function runStandIn(args: string[], name: CaptureName = "h100", sample: string = CAPTURES[name].sample) {
  return spawnSync("/bin/busybox", ["sh", path.join(STAND_IN_DIR, "nvidia-smi"), ...args], {
    encoding: "utf8",
    env: { NVIDIA_SMI_CAPTURE: capturePath(name), NVIDIA_SMI_SAMPLE: sample },
  });
}

/** What the stand-in prints for a query it can answer. */
function standIn(query: string, name: CaptureName = "h100"): string {
  const result = runStandIn([query, "--format=csv"], name);
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return result.stdout;
}

describe.runIf(fs.existsSync("/bin/busybox") || requireDocker)("the stand-in", () => {
  it("prints for every query the unit tests parse exactly what they read from the capture", () => {
    const queries: [string, CaptureName][] = [
      [GPU_QUERY, "h100"],
      [GPU_NAMES_QUERY, "h100"],
      [APPS_QUERY, "h100"],
      [GPU_QUERY, "h200x8"],
      [APPS_QUERY, "h200x8"],
    ];
    for (const [query, name] of queries) {
      const read = captureAnswer(query, name);
      expect(read, `${name}: ${query}`).toBeDefined();
      expect({ name, query, printed: standIn(query, name) }).toEqual({ name, query, printed: read });
    }
    expect(captureAnswer(GPU_NAMES_QUERY, "h200x8")).toBeUndefined();
  });

  it("answers only the two captured queries, as the real one refuses unknown options", () => {
    expect(runStandIn(["-L"])).toMatchObject({ status: 2, stdout: "" });
  });

  it("prints the capture's CSV byte for byte: the H200 lines as the report has them", () => {
    const report = fs.readFileSync(capturePath("h200x8"), "utf8");
    const after = report.slice(report.indexOf("## After"));
    for (const query of [GPU_QUERY, APPS_QUERY]) {
      const printed = standIn(query, "h200x8");
      expect(printed.split("\n").length).toBeGreaterThan(4);
      expect(after).toContain(printed);
    }
  });

  it("answers from the sample asked for: the H200 before the four GPUs were freed", () => {
    const result = runStandIn([APPS_QUERY, "--format=csv"], "h200x8", "## Before");
    expect(parseComputeApps(result.stdout)).toHaveLength(8);
  });

  it("makes up no column the capture lacks: the H200 report has no GPU names, so the names query fails", () => {
    const result = runStandIn([GPU_NAMES_QUERY, "--format=csv"], "h200x8");
    expect(result).toMatchObject({ status: 2, stdout: "" });
    expect(result.stderr).toContain(`has no answer to ${GPU_NAMES_QUERY}`);
    expect(runStandIn(["--query-gpu=uuid,temperature.gpu", "--format=csv"], "h200x8").status).toBe(2);
    // nvidia-smi's aliases of the fields asked for are its own: used_memory is used_gpu_memory, gpu_name is name.
    expect(standIn("--query-compute-apps=pid,used_gpu_memory", "h200x8")).toBe(standIn(APPS_QUERY, "h200x8"));
    expect(standIn("--query-gpu=gpu_name", "h100")).toBe(standIn(GPU_NAMES_QUERY, "h100"));
  });
});
