/**
 * A tiny web image (e2eFixtures.ts's busybox httpd) with the stand-in nvidia-smi (test/fixtures/nvidia-smi) at
 * /usr/bin/nvidia-smi, where the NVIDIA runtime would mount the real one. It prints captured output of a real
 * GPU machine (one of CAPTURES); no GPU is used.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeWebSource } from "./e2eFixtures";
import { tempDir } from "../support/gitRepos";
import { CAPTURES, STAND_IN_DIR, type CaptureName } from "../support/nvidiaSmiCaptures";

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
