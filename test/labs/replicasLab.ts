/**
 * What the replicas e2e and bench read of a service run as several copies behind the switch, on the local dockerd:
 * its running copies (container, main process, hostname, GPU device request, release), and its pool in the
 * switch's route table sampled every 100 ms by a sampler in the switch's network namespace (busybox `wget` of
 * `localhost:2019/gpu-switch/upstreams` in a loop, FROM scratch; nothing published), so that a sample costs no
 * `docker exec` and the traffic's timers are not delayed by one.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { docker } from "./docker";
import { switchContainer, type HoldStackOptions } from "./holdLab";
import { now, type Range } from "./probe";
import { tempDir } from "../support/gitRepos";

/** A copy of a service running on the daemon now. */
export interface RunningCopy {
  /** 0 for `<containerName>`, i for `<containerName>-copy<i>`. */
  readonly index: number;
  readonly name: string;
  readonly id: string;
  /** Its main process on the host. */
  readonly pid: number;
  /** Its hostname: the X-Copy of its answers. */
  readonly hostname: string;
  /** Its `gpu-services.release` label: the image it runs, `<repository>@<digest>` for a pinned image. */
  readonly release: string;
  /** The device IDs of its NVIDIA device request (HostConfig.DeviceRequests). */
  readonly deviceIds: readonly string[];
  readonly restarts: number;
}

interface CopyInspect {
  Id: string;
  Name: string;
  RestartCount: number;
  State: { Pid: number };
  Config: { Hostname: string; Labels: Record<string, string> };
  HostConfig: { DeviceRequests: { Driver: string; DeviceIDs: string[] | null }[] | null };
}

/** The copy index of a container name label: `<base>` is 0, `<base>-copy<i>` is i; undefined for another name. */
export function copyIndex(containerName: string, base: string): number | undefined {
  if (containerName === base) return 0;
  const match = new RegExp(`^${base}-copy(\\d+)$`).exec(containerName);
  return match ? Number(match[1]) : undefined;
}

/** The running copies of `service` (`<service>-<stack>` and its `-copy<i>`), by index. */
export function runningCopies(stack: string, service: string): RunningCopy[] {
  const ids = docker([
    "ps",
    "-q",
    "--filter",
    `label=gpu-services.stack=${stack}`,
    "--filter",
    `label=gpu-services.service=${service}`,
  ])
    .split("\n")
    .filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = JSON.parse(docker(["inspect", ...ids])) as CopyInspect[];
  const copies = inspected.flatMap((c) => {
    const index = copyIndex(c.Config.Labels["gpu-services.container-name"] ?? "", `${service}-${stack}`);
    if (index === undefined) return [];
    const nvidia = (c.HostConfig.DeviceRequests ?? []).filter((r) => r.Driver === "nvidia");
    return [
      {
        index,
        name: c.Name.replace(/^\//, ""),
        id: c.Id,
        pid: c.State.Pid,
        hostname: c.Config.Hostname,
        release: c.Config.Labels["gpu-services.release"] ?? "",
        deviceIds: nvidia.flatMap((r) => r.DeviceIDs ?? []),
        restarts: c.RestartCount,
      },
    ];
  });
  return copies.sort((a, b) => a.index - b.index);
}

/** The members of a pool in a route table (`<routeId>` and `<routeId>.<i>`), each with its state. */
export function poolStates(
  routes: Readonly<Record<string, { state: string }>>,
  routeId: string,
): Record<string, string> {
  const members: Record<string, string> = {};
  for (const [id, route] of Object.entries(routes)) {
    if (id === routeId || id.startsWith(`${routeId}.`)) members[id] = route.state;
  }
  return members;
}

/** One sample of a pool: when it was read and each member's state. */
export interface PoolSample {
  readonly at: number;
  readonly states: Readonly<Record<string, string>>;
}

const SAMPLER_IMAGE = "gpu-services-e2e-sampler:busybox";

/** The sampler's image: the host's static busybox, FROM scratch (built once per daemon). */
function samplerImage(): string {
  if (docker(["images", "-q", SAMPLER_IMAGE])) return SAMPLER_IMAGE;
  const dir = tempDir("sampler-image");
  try {
    fs.copyFileSync("/bin/busybox", path.join(dir, "busybox"));
    fs.chmodSync(path.join(dir, "busybox"), 0o755);
    fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n");
    execFileSync("docker", ["build", "-q", "-t", SAMPLER_IMAGE, dir], {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return SAMPLER_IMAGE;
}

/**
 * Sample the pool of `routeId` in the switch of `stack` every `intervalMs` until stopped; each sample is timed as
 * it arrives here. A sample whose GET failed is left out (the gaps between samples say how dense they were).
 */
export function samplePool(
  stack: string,
  routeId: string,
  intervalMs = 100,
): { readonly samples: readonly PoolSample[]; stop(): Promise<PoolSample[]> } {
  const name = `pool-sampler-${stack}-${process.pid}`;
  const loop =
    "while :; do /bin/busybox wget -q -O - http://localhost:2019/gpu-switch/upstreams; echo; " +
    `/bin/busybox usleep ${intervalMs * 1000}; done`;
  const image = samplerImage();
  const child = spawn(
    "docker",
    [
      "run",
      "--rm",
      "--name",
      name,
      "--network",
      `container:${switchContainer(stack)}`,
      image,
      "/bin/busybox",
      "sh",
      "-c",
      loop,
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  const samples: PoolSample[] = [];
  readline.createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const at = now();
    try {
      const table = JSON.parse(line) as { routes: Record<string, { state: string }> };
      samples.push({ at, states: poolStates(table.routes, routeId) });
    } catch {
      // A line cut short (the sampler stopped mid-answer) is no sample.
    }
  });
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return {
    samples,
    async stop() {
      docker(["rm", "-f", name]);
      await exited;
      return samples;
    },
  };
}

const readyOf = (s: PoolSample) => Object.keys(s.states).filter((id) => s.states[id] === "ready");

/** What the samples within a window say: the fewest members ready (and when first), and the longest sample gap. */
export function poolFigures(samples: readonly PoolSample[], window: Range) {
  const within = samples.filter((s) => s.at >= window.from && s.at <= window.to);
  let least = within.length ? readyOf(within[0]) : [];
  let leastAt = within[0]?.at ?? NaN;
  let longestGapMs = 0;
  for (const [i, s] of within.entries()) {
    const ready = readyOf(s);
    if (ready.length < least.length) [least, leastAt] = [ready, s.at];
    if (i > 0) longestGapMs = Math.max(longestGapMs, s.at - within[i - 1].at);
  }
  return { samples: within.length, leastReady: least.length, leastReadyIds: least, leastAt, longestGapMs };
}

/** The stretches in which `member` was in the pool but not ready (or absent), in order, within the samples. */
export function outages(samples: readonly PoolSample[], member: string): Range[] {
  const out: Range[] = [];
  let from: number | undefined;
  for (const s of samples) {
    const ready = s.states[member] === "ready";
    if (!ready && from === undefined) from = s.at;
    if (ready && from !== undefined) {
      out.push({ from, to: s.at });
      from = undefined;
    }
  }
  if (from !== undefined) out.push({ from, to: samples[samples.length - 1].at });
  return out;
}

/** The states a member went through, in order, with repeats collapsed: `ready → drained → loading → ready`. */
export function stateTrail(samples: readonly PoolSample[], member: string): string {
  const trail: string[] = [];
  for (const s of samples) {
    const state = s.states[member] ?? "absent";
    if (trail[trail.length - 1] !== state) trail.push(state);
  }
  return trail.join(" → ");
}

/**
 * The stack the replicas e2e and bench:replicas deploy: `stt`, the stand-in refusing connections while it loads,
 * serving one request at a time, as `replicas` copies of 16 GiB each on a host declaring 4 GPUs of 24 GiB (no GPU
 * holds two copies), its readiness declared and no Docker healthcheck, holding requests up to `holdSeconds`.
 */
export function copiesStack(opts: {
  readonly port: number;
  readonly replicas: number;
  readonly loadSeconds: number;
  readonly holdSeconds: number;
  /** The time one request takes; default the lab's. */
  readonly serviceMs?: number;
}): HoldStackOptions {
  return {
    gpuMemoryGiB: 24,
    gpuCount: 4,
    holdSeconds: 10,
    readiness: true,
    services: {
      stt: {
        tag: "v1",
        port: opts.port,
        mode: "refuse",
        loadSeconds: opts.loadSeconds,
        queue: 4096,
        holdSeconds: opts.holdSeconds,
        healthcheck: false,
        replicas: opts.replicas,
        placedGpuMemoryGiB: 16,
        ...(opts.serviceMs !== undefined ? { serviceMs: opts.serviceMs } : {}),
        oneAtATime: true,
      },
    },
  };
}
