/**
 * What the hold e2e and the release bench share: a workspace with the real toolchain (this project's tree, or an
 * older commit's to compare with), the local registry with the model-server stand-in (test/fixtures/model-server,
 * FROM scratch) in releases v1, v2 and broken (it never finishes loading) and the switch image, a stack of two
 * stand-ins behind a `gpu-services:switch` on the local dockerd, `stt` and `tts`, each with an NVIDIA device request
 * for GPU 0 (dockerd's stand-in hook; no GPU is used), and `pulumi up` under the stand-in's traffic
 * (modelTraffic.ts) with every container of the stack recorded. The switch's log and route table are read
 * in its own namespace. All traffic goes to 127.0.0.1.
 */
import { spawnSync } from "node:child_process";
import { docker, pushAndDigest, Registry } from "./docker";
import { watchContainers, type Watch } from "./dockerWatch";
import { buildModelServerImage, MODEL_SERVER_HEALTHCHECK, type LoadMode } from "./modelServer";
import { startModelTraffic, type ModelAnswer } from "./modelTraffic";
import { now, type Range } from "./probe";
import type { PinnedImage } from "./releaseLab";
import { buildSwitchImage } from "./switchImage";
import { Workspace, type RunResult } from "./workspace";

export const MODEL_RELEASES = ["v1", "v2", "broken"] as const;
export type ModelTag = (typeof MODEL_RELEASES)[number];
export const MODEL_SERVICES = ["stt", "tts"] as const;
export type ModelService = (typeof MODEL_SERVICES)[number];

/** The load time the images bake in by default; a service's env may say another. */
export const IMAGE_LOAD_SECONDS = 30;

/**
 * What each release bakes in: its name and load time (`loadSeconds`); broken's load never ends (its readiness
 * never passes).
 */
const releaseEnv = (tag: ModelTag, loadSeconds: number): Record<string, string> => ({
  MODEL_RELEASE: tag,
  MODEL_LOAD: tag === "broken" ? "24h" : `${loadSeconds}s`,
});

/** How long a stopped copy's requests in flight may take to finish (each service's release.drainSeconds). */
export const DRAIN_SECONDS = 10;

/** The time one transcription or synthesis takes: requests are in flight on a copy when it is drained. */
export const SERVICE_MS = 200;

export interface ModelServiceOptions {
  readonly tag: ModelTag;
  readonly port: number;
  readonly mode: LoadMode;
  /**
   * The load time: the image's (the lab's `imageLoadSeconds`, so that a release of broken never loads), or
   * another in the env; the healthcheck's start period says it too (the hold's expected time).
   */
  readonly loadSeconds: number;
  /** `hold.queue`. */
  readonly queue: number;
  /** `hold.seconds`; default: left out (the expected load time and the slack). */
  readonly holdSeconds?: number;
  /**
   * Declare the stand-in's own healthcheck (default true). Without it, the push waits for readiness only up to
   * the hold's budget, not the healthcheck's worst case plus a minute: a copy that never gets ready fails sooner.
   */
  readonly healthcheck?: boolean;
  /** `replicas`; default: left out (one copy). */
  readonly replicas?: number;
  /**
   * `gpus.memoryGiB` of a copy placed on any one GPU of the host's inventory (`count: 1`); default: pinned to
   * GPU 0 (`deviceIds: ["0"]`) with 1 GiB.
   */
  readonly placedGpuMemoryGiB?: number;
  /** MODEL_SERVICE, the time one request takes (default SERVICE_MS). */
  readonly serviceMs?: number;
  /** MODEL_ONE_AT_A_TIME: one request at a time per copy, as a GPU runs one inference (default: left out, no). */
  readonly oneAtATime?: boolean;
}

export interface HoldStackOptions {
  /** `hosts.local.gpus.devices[*].memoryGiB`: with two services of 1 GiB, 2 holds one copy of each, 3 a third. */
  readonly gpuMemoryGiB: number;
  /** The host's GPUs, `"0"` .. `"<n-1>"`, each of `gpuMemoryGiB` (default 1). */
  readonly gpuCount?: number;
  readonly holdSeconds: number;
  /** Declare `readiness` and `hold` (a program from before them refuses the keys). */
  readonly readiness: boolean;
  /** The services of the stack, of stt and tts. */
  readonly services: Readonly<Partial<Record<ModelService, ModelServiceOptions>>>;
}

export interface MeasuredModelUp {
  readonly result: RunResult;
  /** Every request, per service, sorted by send time. */
  readonly answers: Record<ModelService, ModelAnswer[]>;
  readonly watch: Watch;
  /** From the start of `pulumi up` to its exit. */
  readonly window: Range;
}

/** One line of the switch's JSON log, its time in ms since the epoch. */
export interface SwitchLogLine {
  readonly at: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export class HoldLab {
  private constructor(
    readonly ws: Workspace,
    readonly registry: Registry,
    readonly repo: string,
    readonly digests: Record<ModelTag, string>,
    readonly switchImage: PinnedImage,
    /** The load time v1 and v2 bake in. */
    readonly imageLoadSeconds: number,
  ) {}

  /**
   * Build and push the images; `name` keeps the repositories of several runs apart. `switchBin`: the folder of
   * the switch's binaries (default switchImage.ts's); `commit`: the program's tree to run (default this one);
   * `imageLoadSeconds`: the load time v1 and v2 bake in (default IMAGE_LOAD_SECONDS).
   */
  static async start(
    name: string,
    opts: { switchBin?: string; commit?: string; imageLoadSeconds?: number } = {},
  ): Promise<HoldLab> {
    const imageLoadSeconds = opts.imageLoadSeconds ?? IMAGE_LOAD_SECONDS;
    const ws = Workspace.create(opts.commit);
    const registry = await Registry.start();
    const repo = `${registry.address}/${name}/model-server`;
    const digests = {} as Record<ModelTag, string>;
    for (const tag of MODEL_RELEASES) {
      buildModelServerImage(`${repo}:${tag}`, releaseEnv(tag, imageLoadSeconds));
      digests[tag] = pushAndDigest(`${repo}:${tag}`);
    }
    // Only the registry has them now: every pull of the stack really goes to it.
    docker(["image", "rm", ...MODEL_RELEASES.map((tag) => `${repo}:${tag}`)]);
    const switchImage = await buildSwitchImage(registry.address, opts.switchBin);
    return new HoldLab(ws, registry, repo, digests, switchImage, imageLoadSeconds);
  }

  ref(tag: ModelTag): string {
    return `${this.repo}@${this.digests[tag]}`;
  }

  private serviceText(name: ModelService, s: ModelServiceOptions, readiness: boolean): string {
    // The stand-in's healthcheck is its own binary (FROM scratch has no curl): no GET the switch could take from
    // it, so the readiness check is declared, as an operator of such an image would.
    const declared = `      readiness:
        path: /health
        passes: 2
      hold:
${s.holdSeconds === undefined ? "" : `        seconds: ${s.holdSeconds}\n`}        queue: ${s.queue}
`;
    return `    ${name}:
      host: local
${s.replicas === undefined ? "" : `      replicas: ${s.replicas}\n`}      image:
        repository: ${this.repo}
        tag: ${s.tag}
        digest: ${this.digests[s.tag]}
      ports:
        - host: ${s.port}
          container: 8000
          hostIp: 127.0.0.1
${this.envText(s)}${gpusText(s)}      shareGpu: true
      restart: unless-stopped
${s.healthcheck === false ? "" : healthcheckText(s)}${readiness ? declared : ""}      release:
        drainSeconds: ${DRAIN_SECONDS}
      stopGraceSeconds: 10
`;
  }

  private envText(s: ModelServiceOptions): string {
    return `      env:
        MODEL_MODE: "${s.mode}"
        MODEL_SERVICE: ${s.serviceMs ?? SERVICE_MS}ms
${s.oneAtATime === undefined ? "" : `        MODEL_ONE_AT_A_TIME: "${s.oneAtATime}"\n`}${
      s.loadSeconds === this.imageLoadSeconds ? "" : `        MODEL_LOAD: ${s.loadSeconds}s\n`
    }`;
  }

  stackText(stack: string, options: HoldStackOptions): string {
    const services = MODEL_SERVICES.flatMap((name) => {
      const service = options.services[name];
      return service ? [this.serviceText(name, service, options.readiness)] : [];
    });
    const devices = Array.from(
      { length: options.gpuCount ?? 1 },
      (_, i) => `          - id: "${i}"\n            memoryGiB: ${options.gpuMemoryGiB}\n`,
    );
    return `# ${stack}: model-server stand-ins behind a switch on the local dockerd (NVIDIA stand-in hook; no GPU is used).
config:
  gpu-services:requirePinnedImages: true
  gpu-services:hosts:
    local:
      dockerHost: unix:///var/run/docker.sock
      address: 127.0.0.1
      gpus:
        count: ${devices.length}
        devices:
${devices.join("")}  gpu-services:switch:
    image:
      repository: ${this.switchImage.repository}
      tag: ${this.switchImage.tag}
      digest: ${this.switchImage.digest}
    holdSeconds: ${options.holdSeconds}
    streamCloseDelay: 1h
    dockerSocket: /var/run/docker.sock
  gpu-services:services:
${services.join("")}`;
  }

  /** Write the stack file, init the stack and commit. */
  init(stack: string, options: HoldStackOptions): Promise<void> {
    return this.ws.initStack(stack, this.stackText(stack, options));
  }

  edit(stack: string, what: string, change: (text: string) => string): void {
    this.ws.editStack(stack, what, change);
  }

  release(...args: string[]): Promise<RunResult> {
    return this.ws.release(...args);
  }

  up(stack: string): Promise<RunResult> {
    return this.ws.pulumi("up", "--stack", stack, "--yes", "--skip-preview");
  }

  /** `pulumi up` under the stand-in's traffic on both services' ports, with `settleMs` of it on both sides. */
  async measuredUp(stack: string, ports: Record<ModelService, number>, settleMs = 2000): Promise<MeasuredModelUp> {
    const watcher = watchContainers(`gpu-services.stack=${stack}`);
    const traffic = MODEL_SERVICES.map((s) => startModelTraffic(ports[s]));
    await sleep(settleMs);
    const from = now();
    const result = await this.up(stack);
    const to = now();
    await sleep(settleMs);
    const [stt, tts] = await Promise.all(traffic.map((t) => t.stop()));
    return { result, answers: { stt, tts }, watch: await watcher.stop(), window: { from, to } };
  }

  /** Tear a stack down for good: unprotect, destroy, and remove what a failed step may have left. */
  async destroy(stack: string): Promise<void> {
    await this.ws.pulumi("state", "unprotect", "--stack", stack, "--all", "--yes");
    await this.ws.pulumi("destroy", "--stack", stack, "--yes", "--skip-preview");
    const left = docker(["ps", "-aq", "--filter", `label=gpu-services.stack=${stack}`])
      .split("\n")
      .filter(Boolean);
    const switchName = switchContainer(stack);
    if (docker(["ps", "-aq", "--filter", `name=^/${switchName}$`])) left.push(switchName);
    if (left.length) docker(["rm", "-f", ...left]);
    docker(["volume", "rm", "-f", `${switchName}-data`]);
    spawnSync("docker", ["network", "rm", switchName], { stdio: "ignore" });
  }

  async stop(): Promise<void> {
    await this.registry.remove();
    this.ws.remove();
  }
}

/** A service's `gpus`: pinned to GPU 0 with 1 GiB, or one GPU placed from the inventory with the memory given. */
function gpusText(s: ModelServiceOptions): string {
  const which =
    s.placedGpuMemoryGiB === undefined
      ? `        deviceIds: ["0"]\n        memoryGiB: 1\n`
      : `        count: 1\n        memoryGiB: ${s.placedGpuMemoryGiB}\n`;
  return `      gpus:\n${which}`;
}

/** The stand-in's own healthcheck, its start period the load. */
function healthcheckText(s: ModelServiceOptions): string {
  const test = `[${MODEL_SERVER_HEALTHCHECK.map((t) => JSON.stringify(t)).join(", ")}]`;
  return `      healthcheck:
        test: ${test}
        interval: 1s
        timeout: 1s
        retries: 2
        startPeriod: ${s.loadSeconds}s
`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const switchContainer = (stack: string) => `gpu-switch-${stack}`;

/** The switch's JSON log lines (Caddy logs to stderr), with `msg` among `messages`. */
export function switchLog(stack: string, messages: readonly string[]): SwitchLogLine[] {
  const logs = spawnSync("docker", ["logs", switchContainer(stack)], { encoding: "utf8", maxBuffer: 1 << 30 });
  const lines: SwitchLogLine[] = [];
  for (const text of `${logs.stdout}${logs.stderr}`.split("\n")) {
    if (!text.startsWith("{")) continue;
    const line = JSON.parse(text) as { ts: number; msg: string };
    if (messages.includes(line.msg)) lines.push({ ...line, at: line.ts * 1000 });
  }
  return lines;
}

/** One route of the switch's table with its counters, as `gpu-switch upstreams` prints it. */
export interface RouteCounters {
  readonly dial: string;
  readonly state: string;
  readonly release: string;
  readonly requests: Record<string, number>;
  readonly held: number;
  readonly shed: number;
  readonly replayed: number;
  readonly inflight: number;
}

/** The switch's route table, read with `gpu-switch upstreams` in the switch container. */
export function routeTable(stack: string): Record<string, RouteCounters> {
  return JSON.parse(docker(["exec", switchContainer(stack), "/gpu-switch", "upstreams"])).routes;
}

/** The running container of a service (its `gpu-services.container-name` label) and its main process. */
export function serviceContainer(stack: string, service: ModelService): { name: string; pid: number; id: string } {
  const names = docker([
    "ps",
    "--filter",
    `label=gpu-services.container-name=${service}-${stack}`,
    "--format",
    "{{.Names}}",
  ])
    .split("\n")
    .filter(Boolean);
  if (names.length !== 1) throw new Error(`${service}: ${names.length} running containers (${names.join(", ")})`);
  const [pid, id] = docker(["inspect", "--format", "{{.State.Pid}} {{.Id}}", names[0]]).split(" ");
  return { name: names[0], pid: Number(pid), id };
}
