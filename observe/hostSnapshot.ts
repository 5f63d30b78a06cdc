/**
 * What one Docker host has, read through its docker CLI: the engine's version and info, every container (this
 * stack's and the others', for the ports they hold), the volumes. Reads only.
 */
import type { DockerCli } from "../clients";

export interface PublishedPort {
  readonly hostIp: string;
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: string;
}

export interface HealthView {
  readonly status: string;
  readonly failingStreak: number;
  /** The last probe that did not pass, if any is in Docker's log of the last five. */
  readonly lastFailure?: { readonly exitCode: number; readonly output: string; readonly at: string };
}

export interface ContainerView {
  readonly id: string;
  readonly name: string;
  /** The image ID the container runs. */
  readonly imageId: string;
  /** The image as it was named at `docker run`/create. */
  readonly imageName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly status: string;
  readonly running: boolean;
  readonly startedAt: string;
  readonly restartCount: number;
  readonly health?: HealthView;
  readonly ports: readonly PublishedPort[];
  /** Whether it has an NVIDIA device request (driver `nvidia`, or the `gpu` capability as `--gpus` sets it). */
  readonly gpuRequest: boolean;
  /** The GPUs its device requests name by ID (a copy's, placed by the model); empty for a count or none. */
  readonly gpuDevices: readonly string[];
  /** Its command (`Config.Cmd`): the switch's push and drain containers run `/gpu-switch apply|drain …`. */
  readonly command: readonly string[];
}

export interface EngineView {
  readonly serverVersion: string;
  readonly apiVersion: string;
  readonly runtimes: readonly string[];
  readonly rootDir: string;
}

export interface HostSnapshot {
  readonly engine: EngineView;
  readonly containers: readonly ContainerView[];
  readonly volumes: ReadonlySet<string>;
}

interface InspectJson {
  Id: string;
  Name: string;
  Image: string;
  Config: { Image: string; Labels: Record<string, string> | null; Cmd?: string[] | null };
  State: {
    Status: string;
    Running: boolean;
    StartedAt: string;
    Health?: { Status: string; FailingStreak: number; Log?: { ExitCode: number; Output: string; End: string }[] };
  };
  RestartCount: number;
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null };
  HostConfig: {
    DeviceRequests: { Driver: string; Capabilities: string[][] | null; DeviceIDs?: string[] | null }[] | null;
  };
}

function healthOf(state: InspectJson["State"]): HealthView | undefined {
  const health = state.Health;
  if (!health) return undefined;
  const failure = [...(health.Log ?? [])].reverse().find((probe) => probe.ExitCode !== 0);
  return {
    status: health.Status,
    failingStreak: health.FailingStreak,
    ...(failure ? { lastFailure: { exitCode: failure.ExitCode, output: failure.Output.trim(), at: failure.End } } : {}),
  };
}

function portsOf(json: InspectJson): PublishedPort[] {
  const ports: PublishedPort[] = [];
  for (const [key, bindings] of Object.entries(json.NetworkSettings.Ports ?? {})) {
    const [containerPort, protocol] = key.split("/");
    for (const b of bindings ?? []) {
      ports.push({
        hostIp: b.HostIp || "0.0.0.0",
        hostPort: Number(b.HostPort),
        containerPort: Number(containerPort),
        protocol,
      });
    }
  }
  return ports;
}

/** A container as `docker inspect` shows it. */
export function containerView(json: InspectJson): ContainerView {
  const health = healthOf(json.State);
  return {
    id: json.Id,
    name: json.Name.replace(/^\//, ""),
    imageId: json.Image,
    imageName: json.Config.Image,
    labels: json.Config.Labels ?? {},
    status: json.State.Status,
    running: json.State.Running,
    startedAt: json.State.StartedAt,
    restartCount: json.RestartCount,
    ...(health ? { health } : {}),
    ports: portsOf(json),
    gpuRequest: (json.HostConfig.DeviceRequests ?? []).some(
      (d) => d.Driver === "nvidia" || (d.Capabilities ?? []).some((set) => set.includes("gpu")),
    ),
    gpuDevices: (json.HostConfig.DeviceRequests ?? []).flatMap((d) => d.DeviceIDs ?? []),
    command: json.Config.Cmd ?? [],
  };
}

/** The engine: the first call to a host, so it is also the reachability check. */
export async function readEngine(cli: DockerCli): Promise<EngineView> {
  const version = JSON.parse(await cli.run(["version", "--format", "{{json .Server}}"])) as {
    Version: string;
    ApiVersion: string;
  } | null;
  const info = JSON.parse(await cli.run(["info", "--format", "{{json .}}"])) as {
    Runtimes?: Record<string, unknown>;
    DockerRootDir?: string;
  };
  return {
    serverVersion: version?.Version ?? "unknown",
    apiVersion: version?.ApiVersion ?? "unknown",
    runtimes: Object.keys(info.Runtimes ?? {}).sort(),
    rootDir: info.DockerRootDir ?? "/var/lib/docker",
  };
}

export async function readContainers(cli: DockerCli): Promise<ContainerView[]> {
  const ids = (await cli.run(["ps", "-a", "-q", "--no-trunc"])).split("\n").filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = JSON.parse(await cli.run(["container", "inspect", ...ids])) as InspectJson[];
  return inspected.map(containerView).sort((a, b) => a.name.localeCompare(b.name));
}

export async function readSnapshot(cli: DockerCli): Promise<HostSnapshot> {
  const engine = await readEngine(cli);
  const containers = await readContainers(cli);
  const volumes = new Set((await cli.run(["volume", "ls", "-q"])).split("\n").filter(Boolean));
  return { engine, containers, volumes };
}

/** Host PIDs of a running container's processes (`docker top`), to match nvidia-smi's processes to it. */
export async function containerPids(cli: DockerCli, container: string): Promise<number[]> {
  const out = await cli.run(["top", container, "-eo", "pid"]);
  return out
    .split("\n")
    .slice(1)
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}
