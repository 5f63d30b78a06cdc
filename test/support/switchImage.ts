/**
 * The switch image of blue/green releases (docs/design/blue-green-releases.md §3): FROM scratch, Caddy and our
 * agent as scripts/pulumi-toolchain stage 4 built them (static, from switch/; or `$GPU_SWITCH_BIN`), and the
 * bootstrap config that puts Caddy's admin API on localhost:2019. Caddy keeps its autosave.json, the route table
 * and its internal CA under /data, the switch's volume.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pushAndDigest } from "./docker";
import { tempDir } from "./gitRepos";
import { toolchainBin } from "./workspace";

export const SWITCH_BINARIES = ["caddy", "gpu-switch"] as const;
export const SWITCH_BOOTSTRAP_PATH = "/etc/gpu-switch/bootstrap.json";
export const SWITCH_BOOTSTRAP = { admin: { listen: "localhost:2019" } };
/** The switch container's command: the last config Caddy took (autosave.json) wins over the bootstrap. */
export const SWITCH_COMMAND = ["/caddy", "run", "--resume", "--config", SWITCH_BOOTSTRAP_PATH];
export const SWITCH_HEALTHCHECK = ["CMD", "/gpu-switch", "health"];

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

/** Write the image's build context into `dir`, with the binaries from the toolchain's `bin`. */
export function writeSwitchSource(dir: string, bin: string): void {
  for (const name of SWITCH_BINARIES) {
    fs.copyFileSync(path.join(bin, name), path.join(dir, name)); // follows the toolchain's symlinks
    fs.chmodSync(path.join(dir, name), 0o755);
  }
  fs.writeFileSync(path.join(dir, "bootstrap.json"), `${JSON.stringify(SWITCH_BOOTSTRAP)}\n`);
  fs.writeFileSync(
    path.join(dir, "Dockerfile"),
    [
      "FROM scratch",
      "COPY caddy /caddy",
      "COPY gpu-switch /gpu-switch",
      `COPY bootstrap.json ${SWITCH_BOOTSTRAP_PATH}`,
      "ENV XDG_CONFIG_HOME=/data/config XDG_DATA_HOME=/data/data",
      `HEALTHCHECK --interval=2s --timeout=2s --retries=3 CMD ${JSON.stringify(SWITCH_HEALTHCHECK.slice(1))}`,
      `CMD ${JSON.stringify(SWITCH_COMMAND)}`,
      "",
    ].join("\n"),
  );
}

/**
 * Build the switch image with the daemon's classic builder, push it to `registry` (host:port) as
 * `<registry>/gpu-services/switch:<content hash>` and return where it is, pinned by the digest the registry gave.
 */
export async function buildSwitchImage(registry: string): Promise<SwitchImage> {
  const bin = switchBin();
  const dir = tempDir("switch-image");
  try {
    writeSwitchSource(dir, bin);
    const hash = createHash("sha256");
    for (const file of [...SWITCH_BINARIES, "bootstrap.json", "Dockerfile"])
      hash.update(fs.readFileSync(path.join(dir, file)));
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
