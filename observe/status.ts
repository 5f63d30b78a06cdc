/**
 * Live status of a stack: per host what Docker and nvidia-smi show, per service its containers, the release it
 * runs against config, its health and whether its endpoint answers. Reads only. The JSON shape (`StatusReport`)
 * is documented in docs/reference/json.md and pinned by test/docker/observe.test.ts.
 */
import type { DeploymentModel, HostSpec, ServiceSpec } from "../model";
import { COPY_LABEL, LABEL_PREFIX } from "../formats";
import { DockerCli, HostUnreachable } from "../clients";
import { probeEndpoint } from "./endpoint";
import { probeGpus, probeImages, type GpuFigures } from "./gpuProbe";
import { containerPids, readSnapshot, type ContainerView, type HostSnapshot } from "./hostSnapshot";
import type { ComputeApp } from "./nvidiaSmi";
import { compareRelease, type ReleaseComparison } from "./runningRelease";

export interface HostStatus {
  readonly name: string;
  readonly dockerHost: string;
  readonly reachable: boolean;
  /** Why the host could not be read (reachable: false). */
  readonly error?: string;
  /** Seconds the host took to read (or to give up). */
  readonly seconds: number;
  readonly engine?: { readonly version: string; readonly apiVersion: string };
  readonly gpus: GpuFigures;
}

export interface ContainerStatus {
  readonly name: string;
  readonly id: string;
  readonly state: string;
  /** `healthy`, `unhealthy`, `starting`, or `none` (no healthcheck). */
  readonly health: string;
  readonly lastFailedProbe?: { readonly exitCode: number; readonly output: string; readonly at: string };
  readonly restartCount: number;
  readonly startedAt: string;
  readonly release?: string;
  readonly imageId: string;
  /** The copy it is (its `gpu-services.copy` label; 0: the service's own container). */
  readonly copy: number;
  /** The GPUs its device request names by ID; empty for a count or none. */
  readonly gpus: readonly string[];
}

export interface ServiceStatus {
  readonly name: string;
  readonly host: string;
  readonly containerName: string;
  readonly containers: readonly ContainerStatus[];
  readonly release: ReleaseComparison;
  readonly endpoint?: { readonly url: string; readonly answers: boolean; readonly detail: string };
  /** MiB of GPU memory the service's processes hold; null when not available (`gpuMemoryNote` says why). */
  readonly gpuMemoryMiB: number | null;
  readonly gpuMemoryNote?: string;
  /** What needs a person, one line each; empty when all is well. */
  readonly attention: readonly string[];
}

/** A report as a CLI gives it: with the exit code it exits with for the report's result. */
export type WithExitCode<R> = R & { readonly exitCode: number };

export interface StatusReport {
  readonly stack: string;
  readonly checkedAt: string;
  /** `ok` (all well), `attention` (something to look at) or `unreachable` (a host could not be read). */
  readonly result: "ok" | "attention" | "unreachable";
  readonly hosts: readonly HostStatus[];
  readonly services: readonly ServiceStatus[];
}

interface HostRead {
  readonly status: HostStatus;
  readonly snapshot?: HostSnapshot;
  readonly cli: DockerCli;
}

/** This service's containers on its host: by its fixed name, or by its labels (a blue/green switch has two). */
export function serviceContainers(snapshot: HostSnapshot, stack: string, service: ServiceSpec): ContainerView[] {
  return snapshot.containers.filter(
    (c) =>
      c.name === service.containerName ||
      (c.labels[`${LABEL_PREFIX}stack`] === stack && c.labels[`${LABEL_PREFIX}service`] === service.name),
  );
}

async function readHost(model: DeploymentModel, host: HostSpec, timeoutMs?: number): Promise<HostRead> {
  const started = Date.now();
  const cli = new DockerCli(host, timeoutMs);
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  try {
    const snapshot = await readSnapshot(cli);
    const ours = snapshot.containers.filter((c) => c.labels[`${LABEL_PREFIX}stack`] === model.stack);
    const services = model.services.filter((s) => s.host === host.name);
    const images = await probeImages(cli, model.stack, snapshot.containers, services);
    const gpus = await probeGpus(cli, ours, { allowRun: true, images });
    const engine = { version: snapshot.engine.serverVersion, apiVersion: snapshot.engine.apiVersion };
    return {
      cli,
      snapshot,
      status: { name: host.name, dockerHost: host.dockerHost, reachable: true, seconds: seconds(), engine, gpus },
    };
  } catch (error) {
    if (!(error instanceof HostUnreachable)) throw error;
    const gpus = { available: false as const, reason: "host not reachable" };
    return {
      cli,
      status: {
        name: host.name,
        dockerHost: host.dockerHost,
        reachable: false,
        error: error.message,
        seconds: seconds(),
        gpus,
      },
    };
  }
}

function containerStatus(c: ContainerView): ContainerStatus {
  const release = c.labels[`${LABEL_PREFIX}release`];
  return {
    name: c.name,
    id: c.id.slice(0, 12),
    state: c.status,
    health: c.health?.status ?? "none",
    ...(c.health?.lastFailure ? { lastFailedProbe: c.health.lastFailure } : {}),
    restartCount: c.restartCount,
    startedAt: c.startedAt,
    ...(release !== undefined ? { release } : {}),
    imageId: c.imageId,
    copy: copyOf(c),
    gpus: [...c.gpuDevices],
  };
}

/** The copy a container is, by its label; a container without one is the service's own, copy 0. */
export function copyOf(c: Pick<ContainerView, "labels">): number {
  return Number(c.labels[COPY_LABEL] ?? "0");
}

/**
 * What needs a person about the copies of a service with several: each copy the model has must have a running,
 * healthy container (the switch sends it nothing until it is ready).
 */
export function copyAttention(service: ServiceSpec, containers: readonly ContainerView[]): string[] {
  if (service.replicas < 2) return [];
  const found: string[] = [];
  for (const copy of service.copies) {
    const where = copy.deviceIds ? ` (GPU ${copy.deviceIds.join(",")})` : "";
    const mine = containers.filter((c) => copyOf(c) === copy.index);
    const up = mine.find((c) => c.running);
    if (!up) found.push(`copy ${copy.index}${where}: ${mine.length === 0 ? "no container" : "not running"}`);
    else if (up.health && up.health.status !== "healthy") {
      found.push(`copy ${copy.index}${where}: ${up.name} is ${up.health.status}`);
    }
  }
  return found;
}

async function repoDigestsOf(cli: DockerCli, imageId: string): Promise<string[] | undefined> {
  const result = await cli.call(["image", "inspect", "--format", "{{json .RepoDigests}}", imageId]);
  return result.code === 0 ? ((JSON.parse(result.stdout) as string[] | null) ?? []) : undefined;
}

async function gpuMemory(
  read: HostRead,
  service: ServiceSpec,
  running: readonly ContainerView[],
): Promise<Pick<ServiceStatus, "gpuMemoryMiB" | "gpuMemoryNote">> {
  const figures = read.status.gpus;
  if (!service.gpus) return { gpuMemoryMiB: null, gpuMemoryNote: "no GPU requested" };
  if (!figures.available) return { gpuMemoryMiB: null, gpuMemoryNote: `not available: ${figures.reason}` };
  const pids = new Set<number>();
  for (const c of running) for (const pid of await containerPids(read.cli, c.name)) pids.add(pid);
  return heldMemory(figures.processes, pids);
}

/** The GPU memory the processes with these host PIDs hold, from nvidia-smi's list; null where it gives none. */
export function heldMemory(
  processes: readonly ComputeApp[],
  pids: ReadonlySet<number>,
): Pick<ServiceStatus, "gpuMemoryMiB" | "gpuMemoryNote"> {
  const mine = processes.filter((p) => pids.has(p.pid));
  if (mine.some((p) => p.usedMemoryMiB === undefined)) {
    return { gpuMemoryMiB: null, gpuMemoryNote: "nvidia-smi does not report its processes' memory" };
  }
  const note = `${mine.length} of the ${processes.length} GPU processes nvidia-smi lists are this service's`;
  return { gpuMemoryMiB: mine.reduce((sum, p) => sum + (p.usedMemoryMiB ?? 0), 0), gpuMemoryNote: note };
}

function attentionFor(
  service: ServiceSpec,
  release: ReleaseComparison,
  primary?: ContainerView,
  answer?: { answers: boolean; detail: string },
): string[] {
  const found = [...(release.state === "in-sync" ? [] : [`${release.state}: ${release.differences.join("; ")}`])];
  if (primary && !primary.running) found.push(`${primary.name} is ${primary.status}, not running`);
  if (primary?.running && primary.health && primary.health.status !== "healthy") {
    const probe = primary.health.lastFailure;
    found.push(
      `${primary.name} is ${primary.health.status}${probe ? `: last failed probe (exit ${probe.exitCode}): ${probe.output.slice(0, 200)}` : ""}`,
    );
  }
  if (answer && !answer.answers) found.push(`endpoint does not answer (${answer.detail})`);
  return found;
}

async function serviceStatus(
  model: DeploymentModel,
  service: ServiceSpec,
  read: HostRead,
  address: string,
): Promise<ServiceStatus> {
  const base = { name: service.name, host: service.host, containerName: service.containerName };
  if (!read.snapshot) {
    const release = {
      state: "unknown" as const,
      expected: compareRelease(service, model.stack, undefined, undefined).expected,
      differences: ["host not reachable"],
    };
    return {
      ...base,
      containers: [],
      release,
      gpuMemoryMiB: null,
      gpuMemoryNote: "host not reachable",
      attention: [`host ${service.host} not reachable: ${read.status.error}`],
    };
  }
  const containers = serviceContainers(read.snapshot, model.stack, service);
  const primary = containers.find((c) => c.name === service.containerName) ?? containers[0];
  const digests =
    primary && service.image.kind === "registry" ? await repoDigestsOf(read.cli, primary.imageId) : undefined;
  const release = compareRelease(service, model.stack, primary, digests);
  const url = service.endpoint ? `${service.scheme}://${address}:${service.endpoint.host}/` : undefined;
  const answer = url ? await probeEndpoint(url) : undefined;
  const gpu = await gpuMemory(
    read,
    service,
    containers.filter((c) => c.running),
  );
  return {
    ...base,
    containers: containers.map(containerStatus),
    release,
    ...(url && answer ? { endpoint: { url, ...answer } } : {}),
    ...gpu,
    attention: [...attentionFor(service, release, primary, answer), ...copyAttention(service, containers)],
  };
}

/** The live status of a stack; hosts are read in parallel, each bounded, a host that fails named in the report. */
export async function collectStatus(model: DeploymentModel, opts: { timeoutMs?: number } = {}): Promise<StatusReport> {
  const reads = await Promise.all(model.hosts.map((h) => readHost(model, h, opts.timeoutMs)));
  try {
    const byName = new Map(reads.map((r, i) => [model.hosts[i].name, { read: r, host: model.hosts[i] }]));
    const services: ServiceStatus[] = [];
    // The Docker hosts' services: a cluster's are read from its API, not from a daemon.
    for (const s of model.services.filter((service) => service.runsOn === "docker")) {
      const entry = byName.get(s.host)!;
      try {
        services.push(await serviceStatus(model, s, entry.read, entry.host.address));
      } catch (error) {
        if (!(error instanceof HostUnreachable)) throw error;
        // The host went away after it was read: it counts as not reachable from here on.
        const status = { ...entry.read.status, reachable: false, error: error.message };
        entry.read = { cli: entry.read.cli, status };
        services.push(await serviceStatus(model, s, entry.read, entry.host.address));
      }
    }
    const hosts = model.hosts.map((h) => byName.get(h.name)!.read.status);
    const result = hosts.some((h) => !h.reachable)
      ? "unreachable"
      : services.some((s) => s.attention.length > 0)
        ? "attention"
        : "ok";
    return { stack: model.stack, checkedAt: new Date().toISOString(), result, hosts, services };
  } finally {
    for (const r of reads) r.cli.close();
  }
}
