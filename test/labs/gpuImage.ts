/**
 * A tiny web image (e2e/fixtures.ts's busybox httpd) with the stand-in nvidia-smi (test/fixtures/nvidia-smi) at
 * /usr/bin/nvidia-smi, where the NVIDIA runtime would mount the real one. It prints captured output of a real
 * GPU machine (one of CAPTURES); no GPU is used.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeWebSource } from "./e2eFixtures";
import { tempDir } from "../support/gitRepos";
import { PROJECT_DIR } from "../support/harness";

export const STAND_IN_DIR = path.join(PROJECT_DIR, "test", "fixtures", "nvidia-smi");

/**
 * The captures the stand-in serves (source.json says where each comes from), with the sample it answers from:
 * the heading its section starts with.
 */
export const CAPTURES = {
  /** One NVIDIA H100 80GB under load (nvidia_gpu_exporter's capture; GPU names, masked UUIDs). */
  h100: { file: "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt", sample: "# load :: " },
  /** Eight NVIDIA H200 (143771 MiB each), four of them just freed (the "After" sample; no GPU names). */
  h200x8: { file: "8x-nvidia-h200__exp23_gpu2456_release_for_corrected_pair.md", sample: "## After" },
} as const;
export type CaptureName = keyof typeof CAPTURES;

/** Write the image's build context into `dir` (a Dockerfile FROM scratch, nothing to pull). */
export function writeGpuWebSource(
  dir: string,
  marker: string,
  healthy = true,
  capture: CaptureName = "h100",
  release = marker,
): void {
  writeWebSource(dir, marker, healthy, release);
  fs.copyFileSync(path.join(STAND_IN_DIR, "nvidia-smi"), path.join(dir, "nvidia-smi"));
  fs.chmodSync(path.join(dir, "nvidia-smi"), 0o755);
  fs.copyFileSync(path.join(STAND_IN_DIR, CAPTURES[capture].file), path.join(dir, "capture.txt"));
  fs.writeFileSync(path.join(dir, "sample"), CAPTURES[capture].sample);
  const dockerfile = fs.readFileSync(path.join(dir, "Dockerfile"), "utf8");
  // A shell, as GPU images have: `docker run --health-cmd` (the Docker tests) runs its command with /bin/sh.
  const extra = [
    "COPY busybox /bin/sh",
    "COPY nvidia-smi /usr/bin/nvidia-smi",
    "COPY capture.txt /usr/share/nvidia-smi-stand-in/capture.txt",
    "COPY sample /usr/share/nvidia-smi-stand-in/sample",
    "",
  ];
  fs.writeFileSync(path.join(dir, "Dockerfile"), dockerfile.replace(/^EXPOSE/m, `${extra.join("\n")}EXPOSE`));
}

/** Build it with the daemon's classic builder. */
export function buildGpuWebImage(
  ref: string,
  marker: string,
  healthy = true,
  capture: CaptureName = "h100",
  release = marker,
): void {
  const dir = tempDir("gpu-web-image");
  writeGpuWebSource(dir, marker, healthy, capture, release);
  execFileSync("docker", ["build", "-q", "-t", ref, dir], {
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  fs.rmSync(dir, { recursive: true, force: true });
}
