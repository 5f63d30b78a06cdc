/**
 * What the release e2e and the release bench share: a workspace with the real toolchain, the local registry with
 * the GPU web image in releases v1, v2 and broken (never healthy) and the switch image, stack files of GPU
 * services behind a `gpu-services:switch` on the local dockerd, and `pulumi up` under load, with every request
 * and every container of the stack recorded. The NVIDIA device requests are real (dockerd's stand-in hook);
 * no GPU is used. All traffic goes to 127.0.0.1.
 */
import { spawnSync } from "node:child_process";
import { docker, freePort, pushAndDigest, Registry } from "./docker";
import { watchContainers, type SeenContainer, type Watch } from "./dockerWatch";
import { HEALTHCHECK_TEST, HEALTHY_AFTER_ENV, RELEASE_PATH } from "./e2eFixtures";
import { buildGpuWebImage } from "./gpuImage";
import { buildSwitchImage } from "./switchImage";
import { now, startTraffic, type Answer, type Range } from "./probe";
import { Workspace, type RunResult } from "./workspace";

export const RELEASES = ["v1", "v2", "broken"] as const;
export type Tag = (typeof RELEASES)[number];
export type Strategy = "auto" | "blue-green" | "stop-then-start";

export interface PinnedImage {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
}

export interface ServiceOptions {
  readonly tag: Tag;
  readonly port: number;
  readonly volume: string;
  readonly strategy?: Strategy;
}

export interface StackOptions {
  /** `hosts.local.gpus.devices[0].memoryGiB`: with services of 1 GiB, 4 holds two copies of both, 3 of one. */
  readonly gpuMemoryGiB: number;
  readonly holdSeconds: number;
  readonly services: Readonly<Record<string, ServiceOptions>>;
}

/** The services' healthcheck: quick, and the image holds its first pass back HEALTHY_AFTER seconds. */
export const HEALTH = { interval: "1s", timeout: "1s", retries: 2, startPeriod: "1s" };
export const HEALTHY_AFTER = 3;
export const DRAIN_SECONDS = 2;

/** The GPU request every service container must carry on the daemon. */
export const GPU_REQUEST = { Driver: "nvidia", DeviceIDs: ["0"], Capabilities: [["gpu"]] };

export interface MeasuredUp {
  readonly result: RunResult;
  /** Every request, per service port, sorted by send time. */
  readonly answers: Record<number, Answer[]>;
  readonly watch: Watch;
  /** From the start of `pulumi up` to its exit. */
  readonly window: Range;
}

export class ReleaseLab {
  private constructor(
    readonly ws: Workspace,
    readonly registry: Registry,
    readonly repo: string,
    readonly digests: Record<Tag, string>,
    readonly switchImage: PinnedImage,
  ) {}

  /** Build and push the images; `name` keeps the repositories of several runs apart. */
  static async start(name: string): Promise<ReleaseLab> {
    const ws = Workspace.create();
    const registry = await Registry.start();
    const repo = `${registry.address}/${name}/web`;
    const digests = {} as Record<Tag, string>;
    for (const tag of RELEASES) {
      buildGpuWebImage(`${repo}:${tag}`, `web ${tag}`, tag !== "broken", "h100", tag);
      digests[tag] = pushAndDigest(`${repo}:${tag}`);
    }
    // Only the registry has them now: every pull of the stack really goes to it.
    docker(["image", "rm", ...RELEASES.map((tag) => `${repo}:${tag}`)]);
    const switchImage = await buildSwitchImage(registry.address);
    return new ReleaseLab(ws, registry, repo, digests, switchImage);
  }

  ref(tag: Tag): string {
    return `${this.repo}@${this.digests[tag]}`;
  }

  stackText(stack: string, options: StackOptions): string {
    const test = `[${HEALTHCHECK_TEST.map((t) => JSON.stringify(t)).join(", ")}]`;
    const services = Object.entries(options.services)
      .map(
        ([name, s]) => `    ${name}:
      host: local
      image:
        repository: ${this.repo}
        tag: ${s.tag}
        digest: ${this.digests[s.tag]}
      ports:
        - host: ${s.port}
          container: 8000
          hostIp: 127.0.0.1
      volumes:
        - name: ${s.volume}
          target: /data
          protect: false
          retainOnDelete: false
      env:
        ${HEALTHY_AFTER_ENV}: "${HEALTHY_AFTER}"
      gpus:
        deviceIds: ["0"]
        memoryGiB: 1
      shareGpu: true
      healthcheck:
        test: ${test}
${Object.entries(HEALTH)
  .map(([k, v]) => `        ${k}: ${v}`)
  .join("\n")}
      release:
        strategy: ${s.strategy ?? "auto"}
        drainSeconds: ${DRAIN_SECONDS}
      stopGraceSeconds: 2
`,
      )
      .join("");
    return `# ${stack}: GPU services behind a switch on the local dockerd (NVIDIA stand-in hook; no GPU is used).
config:
  gpu-services:requirePinnedImages: true
  gpu-services:hosts:
    local:
      dockerHost: unix:///var/run/docker.sock
      address: 127.0.0.1
      gpus:
        count: 1
        devices:
          - id: "0"
            memoryGiB: ${options.gpuMemoryGiB}
  gpu-services:switch:
    image:
      repository: ${this.switchImage.repository}
      tag: ${this.switchImage.tag}
      digest: ${this.switchImage.digest}
    holdSeconds: ${options.holdSeconds}
    streamCloseDelay: 1h
    dockerSocket: /var/run/docker.sock
  gpu-services:services:
${services}`;
  }

  /** Write the stack file, init the stack and commit. */
  init(stack: string, options: StackOptions): Promise<void> {
    return this.ws.initStack(stack, this.stackText(stack, options));
  }

  edit(stack: string, what: string, change: (text: string) => string): void {
    this.ws.editStack(stack, what, change);
  }

  release(...args: string[]): Promise<RunResult> {
    return this.ws.release(...args);
  }

  up(stack: string, ...args: string[]): Promise<RunResult> {
    return this.ws.pulumi("up", "--stack", stack, "--yes", "--skip-preview", ...args);
  }

  /**
   * `pulumi up` under load on every port: the traffic and the container sampler run `settleMs` before and after
   * it, so there is a steady part on both sides of the window.
   */
  async measuredUp(stack: string, ports: number[], settleMs = 1500, ...args: string[]): Promise<MeasuredUp> {
    const watcher = watchContainers(`gpu-services.stack=${stack}`);
    const traffic = ports.map((port) => startTraffic(`http://127.0.0.1:${port}${RELEASE_PATH}`));
    await sleep(settleMs);
    const from = now();
    const result = await this.up(stack, ...args);
    const to = now();
    await sleep(settleMs);
    const answers: Record<number, Answer[]> = {};
    for (const [i, t] of traffic.entries()) answers[ports[i]] = await t.stop();
    return { result, answers, watch: await watcher.stop(), window: { from, to } };
  }

  /** Tear a stack down for good: unprotect, destroy, and remove what a failed step may have left. */
  async destroy(stack: string, volumes: readonly string[]): Promise<void> {
    await this.ws.pulumi("state", "unprotect", "--stack", stack, "--all", "--yes");
    await this.ws.pulumi("destroy", "--stack", stack, "--yes", "--skip-preview");
    const left = docker(["ps", "-aq", "--filter", `label=gpu-services.stack=${stack}`])
      .split("\n")
      .filter(Boolean);
    const switchName = `gpu-switch-${stack}`;
    if (docker(["ps", "-aq", "--filter", `name=^/${switchName}$`])) left.push(switchName);
    if (left.length) docker(["rm", "-f", ...left]);
    for (const volume of [...volumes, `${switchName}-data`]) docker(["volume", "rm", "-f", volume]);
    spawnSync("docker", ["network", "rm", switchName], { stdio: "ignore" });
  }

  async stop(): Promise<void> {
    await this.registry.remove();
    this.ws.remove();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** The service containers of one service (its `gpu-services.container-name` label) on the daemon now. */
export function containersOf(containerName: string): string[] {
  return docker([
    "ps",
    "-a",
    "--filter",
    `label=gpu-services.container-name=${containerName}`,
    "--format",
    "{{.Names}}",
  ])
    .split("\n")
    .filter(Boolean)
    .sort();
}

/** The containers the sampler saw of one release of a service (its `gpu-services.release` label). */
export function seenOf(watch: Watch, containerName: string, ref: string): SeenContainer[] {
  return watch.containers.filter(
    (c) => c.labels["gpu-services.container-name"] === containerName && c.labels["gpu-services.release"] === ref,
  );
}
