/**
 * The switch image of blue/green releases (docs/design/blue-green-releases.md §3), built from switch/image/ (its
 * Dockerfile and bootstrap.json, the same files .github/workflows/publish-switch.yml publishes) with Caddy and our
 * agent as scripts/pulumi-toolchain stage 4 built them (static, from switch/; or `$GPU_SWITCH_BIN`). Caddy keeps
 * its autosave.json, the route table and its internal CA under /data, the switch's volume.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pushAndDigest } from "./docker";
import { tempDir } from "../support/gitRepos";
import { PROJECT_DIR } from "../support/harness";
import { toolchainBin } from "./workspace";

export { SWITCH_COMMAND } from "../../switch/gpuSwitch";
export const SWITCH_BINARIES = ["caddy", "gpu-switch"] as const;
/** The image's own files: its Dockerfile and the bootstrap config. */
const SWITCH_IMAGE_DIR = path.join(PROJECT_DIR, "switch", "image");
const IMAGE_FILES = ["Dockerfile", "bootstrap.json"] as const;

/**
 * The folder with the switch's `caddy` and `gpu-switch`: `$GPU_SWITCH_BIN` when set (binaries built by hand
 * from switch/, e.g. `go build -o "$GPU_SWITCH_BIN/caddy" ./cmd/caddy`, to test a change of switch/ without
 * rebuilding the toolchain), else the toolchain's bin folder (stage 4).
 */
export function switchBin(): string {
  const dir = process.env.GPU_SWITCH_BIN;
  if (!dir) return toolchainBin(SWITCH_BINARIES);
  for (const name of SWITCH_BINARIES) {
    if (!fs.existsSync(path.join(dir, name))) throw new Error(`GPU_SWITCH_BIN=${dir} has no ${name}`);
  }
  return dir;
}

export interface SwitchImage {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
}

/** Write the image's build context into `dir`: switch/image/'s files, with the binaries from the toolchain's `bin`. */
export function writeSwitchSource(dir: string, bin: string): void {
  for (const name of SWITCH_BINARIES) {
    fs.copyFileSync(path.join(bin, name), path.join(dir, name)); // follows the toolchain's symlinks
    fs.chmodSync(path.join(dir, name), 0o755);
  }
  for (const name of IMAGE_FILES) fs.copyFileSync(path.join(SWITCH_IMAGE_DIR, name), path.join(dir, name));
}

/**
 * Build the switch image with the daemon's classic builder, push it to `registry` (host:port) as
 * `<registry>/gpu-services/switch:<content hash>` and return where it is, pinned by the digest the registry gave.
 * `bin`: the folder of its binaries (default switchBin()).
 */
export async function buildSwitchImage(registry: string, bin = switchBin()): Promise<SwitchImage> {
  const dir = tempDir("switch-image");
  try {
    writeSwitchSource(dir, bin);
    const hash = createHash("sha256");
    for (const file of [...SWITCH_BINARIES, ...IMAGE_FILES]) hash.update(fs.readFileSync(path.join(dir, file)));
    const repository = `${registry}/gpu-services/switch`;
    const tag = hash.digest("hex").slice(0, 12);
    execFileSync("docker", ["build", "-q", "-t", `${repository}:${tag}`, dir], {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { repository, tag, digest: pushAndDigest(`${repository}:${tag}`) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
