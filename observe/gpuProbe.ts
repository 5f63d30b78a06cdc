/**
 * GPU figures of a host from nvidia-smi, through Docker, with no agent on the host: a short-lived container of
 * an image already on the host (one this stack's GPU service runs), with an NVIDIA device request for every GPU,
 * runs nvidia-smi where the NVIDIA runtime mounts it; failing that, `docker exec` into the service's container
 * (which sees only its own GPUs). When neither works the figures are reported as not available, with why.
 */
import { DockerCliUnusable, HostUnreachable, type DockerCli } from "../clients";
import { type ServiceSpec } from "../model";
import { LABEL_PREFIX } from "../formats";
import type { ContainerView } from "./hostSnapshot";
import {
  APPS_QUERY,
  CSV_FORMAT,
  GPU_NAMES_QUERY,
  GPU_QUERY,
  SENSORS_QUERY,
  parseComputeApps,
  parseGpus,
  parseSensors,
  withNames,
  type ComputeApp,
  type GpuReading,
  type GpuSensors,
} from "./nvidiaSmi";

export type GpuFigures =
  | {
      readonly available: true;
      /** How the figures were read, for people. */
      readonly source: string;
      /** Each GPU; with its sensors where they were asked for (`sensors: true`) and nvidia-smi gives them. */
      readonly gpus: readonly (GpuReading & GpuSensors)[];
      readonly processes: readonly ComputeApp[];
    }
  | { readonly available: false; readonly reason: string };

/** The label on the short-lived probe container, so it is never mistaken for a service. */
export const PROBE_LABEL = "gpu-services.probe=nvidia-smi";

async function nvidiaSmi(cli: DockerCli, prefix: readonly string[], query: string): Promise<string> {
  const result = await cli.call([...prefix, query, CSV_FORMAT]);
  if (result.code !== 0) {
    if (result.timedOut)
      throw new HostUnreachable(cli.host.name, cli.host.dockerHost, "nvidia-smi did not finish in time");
    throw new Error(result.stderr.trim().split("\n").at(-1) || `exit ${result.code}`);
  }
  return result.stdout;
}

async function readWith(
  cli: DockerCli,
  prefix: readonly string[],
  source: string,
  sensors: boolean,
): Promise<GpuFigures> {
  const gpus = parseGpus(await nvidiaSmi(cli, prefix, GPU_QUERY));
  const processes = parseComputeApps(await nvidiaSmi(cli, prefix, APPS_QUERY));
  const withExtras = await optional(cli, prefix, GPU_NAMES_QUERY, gpus, withNames);
  return {
    available: true,
    source,
    gpus: sensors ? await optional(cli, prefix, SENSORS_QUERY, withExtras, addSensors) : withExtras,
    processes,
  };
}

/**
 * Names and sensors are extras: where nvidia-smi cannot tell them (a driver without a field, `[N/A]`), the GPUs
 * keep the figures of the main query, and nothing is made up.
 */
async function optional<T extends GpuReading>(
  cli: DockerCli,
  prefix: readonly string[],
  query: string,
  gpus: T[],
  merge: (gpus: T[], text: string) => T[],
): Promise<T[]> {
  try {
    return merge(gpus, await nvidiaSmi(cli, prefix, query));
  } catch (error) {
    if (error instanceof HostUnreachable || error instanceof DockerCliUnusable) throw error;
    return gpus;
  }
}

function addSensors<T extends GpuReading>(gpus: T[], text: string): (T & GpuSensors)[] {
  const sensors = parseSensors(text);
  return gpus.map((g) => ({ ...g, ...sensors.get(g.uuid) }));
}

function runPrefix(image: string): string[] {
  // --pid host: in its own PID namespace nvidia-smi cannot name the processes that hold GPU memory.
  return [
    "run",
    "--rm",
    "--gpus",
    "all",
    "--pid",
    "host",
    "--network",
    "none",
    "--label",
    PROBE_LABEL,
    "--entrypoint",
    "nvidia-smi",
    image,
  ];
}

/**
 * The GPU figures of the host, probing with the images of `candidates` (running GPU containers, this stack's
 * first). `allowRun: false` only execs into a running container.
 */
export async function probeGpus(
  cli: DockerCli,
  candidates: readonly ContainerView[],
  opts: { allowRun: boolean; images?: readonly string[]; sensors?: boolean } = { allowRun: true },
): Promise<GpuFigures> {
  const gpuContainers = candidates.filter((c) => c.running && c.gpuRequest);
  const images = [...new Set([...gpuContainers.map((c) => c.imageId), ...(opts.images ?? [])])];
  const tried: string[] = [];
  for (const image of opts.allowRun ? images : []) {
    try {
      return await readWith(
        cli,
        runPrefix(image),
        `nvidia-smi in a short-lived container of ${shortImage(image)} (--gpus all)`,
        opts.sensors ?? false,
      );
    } catch (error) {
      if (error instanceof HostUnreachable || error instanceof DockerCliUnusable) throw error;
      tried.push(`docker run --gpus all ${shortImage(image)}: ${(error as Error).message}`);
    }
  }
  for (const container of gpuContainers) {
    try {
      return await readWith(
        cli,
        ["exec", container.name, "nvidia-smi"],
        `nvidia-smi in ${container.name} (its GPUs only)`,
        opts.sensors ?? false,
      );
    } catch (error) {
      if (error instanceof HostUnreachable || error instanceof DockerCliUnusable) throw error;
      tried.push(`docker exec ${container.name} nvidia-smi: ${(error as Error).message}`);
    }
  }
  if (tried.length === 0) {
    return { available: false, reason: "no GPU container runs on the host and no image to probe with" };
  }
  return {
    available: false,
    reason: `nvidia-smi could not be run (no NVIDIA runtime or driver?): ${tried.join("; ")}`,
  };
}

function shortImage(image: string): string {
  return image.startsWith("sha256:") ? image.slice(0, 19) : image;
}

/**
 * Images on the host to probe nvidia-smi with when no GPU container runs: those of this stack's GPU containers in
 * any state (a stopped one), then the services' images as config names them, where the host has them.
 */
export async function probeImages(
  cli: DockerCli,
  stack: string,
  containers: readonly ContainerView[],
  services: readonly ServiceSpec[],
): Promise<string[]> {
  const ours = containers
    .filter((c) => c.gpuRequest && c.labels[`${LABEL_PREFIX}stack`] === stack)
    .map((c) => c.imageId);
  const named = services
    .filter((s) => s.gpus)
    .map((s) => (s.image.kind === "registry" ? s.image.ref : s.image.localTag));
  const present: string[] = [...ours];
  for (const name of named) {
    const found = await cli.call(["image", "inspect", "--format", "{{.Id}}", name]);
    if (found.code === 0) present.push(found.stdout.trim());
  }
  return [...new Set(present)];
}
