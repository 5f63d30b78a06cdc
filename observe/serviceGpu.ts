/**
 * A service's GPU figures, by device and by process: what nvidia-smi lists for the host PIDs of the service's
 * running copies (containers), against the `gpus.memoryGiB` the stack declares for one copy on each GPU it uses,
 * which the release strategy's fit rule trusts. Figures nvidia-smi does not give are absent, never made up.
 */
import type { ServiceSpec } from "../model";
import type { DockerCli } from "../clients";
import type { GpuFigures } from "./gpuProbe";
import { containerPids, type ContainerView } from "./hostSnapshot";
import type { GpuReading, GpuSensors } from "./nvidiaSmi";

/** One process of a copy on a GPU. */
export interface CopyProcess {
  readonly container: string;
  readonly pid: number;
  readonly gpuUuid: string;
  readonly gpuIndex?: number;
  readonly usedMiB?: number;
}

/** A GPU the service's copies use, with what they hold on it and the device's own figures. */
export interface ServiceDevice extends GpuSensors {
  readonly uuid: string;
  readonly index?: number;
  /** MiB the service's processes hold on it (absent where nvidia-smi does not tell a process's memory). */
  readonly heldMiB?: number;
  readonly memoryUsedMiB?: number;
  readonly memoryTotalMiB?: number;
  readonly utilizationPercent?: number;
}

export interface ServiceGpu {
  /** `gpus.memoryGiB` in MiB: what one copy may hold on each GPU it uses; absent where not declared. */
  readonly declaredMiB?: number;
  /** MiB all its processes hold; null where nvidia-smi does not tell (or cannot run: `note`). */
  readonly heldMiB: number | null;
  readonly devices: readonly ServiceDevice[];
  readonly processes: readonly CopyProcess[];
  /** Copies that hold more than declared on a GPU, each said in one line. */
  readonly overDeclared: readonly string[];
  readonly note?: string;
}

/** The host PIDs of each running copy (`docker top`). */
export async function copyPids(cli: DockerCli, copies: readonly ContainerView[]): Promise<Map<string, number[]>> {
  const pids = new Map<string, number[]>();
  for (const c of copies.filter((copy) => copy.running)) pids.set(c.name, await containerPids(cli, c.name));
  return pids;
}

function sum(values: readonly (number | undefined)[]): number | undefined {
  return values.some((v) => v === undefined) ? undefined : values.reduce<number>((a, v) => a + v!, 0);
}

function deviceOf(gpu: GpuReading & GpuSensors, mine: readonly CopyProcess[]): ServiceDevice {
  const heldMiB = sum(mine.filter((p) => p.gpuUuid === gpu.uuid).map((p) => p.usedMiB));
  const { name: _name, ...figures } = gpu;
  return { ...figures, ...(heldMiB !== undefined ? { heldMiB } : {}) };
}

/** Each copy that holds more than `declaredMiB` on one GPU, in words. */
function overDeclared(processes: readonly CopyProcess[], declaredMiB: number | undefined): string[] {
  if (declaredMiB === undefined) return [];
  const held = new Map<string, { container: string; gpu: string; miB: number }>();
  for (const p of processes) {
    if (p.usedMiB === undefined) continue;
    const key = `${p.container}\0${p.gpuUuid}`;
    const gpu = p.gpuIndex !== undefined ? `GPU ${p.gpuIndex}` : p.gpuUuid;
    const entry = held.get(key) ?? { container: p.container, gpu, miB: 0 };
    held.set(key, { ...entry, miB: entry.miB + p.usedMiB });
  }
  return [...held.values()]
    .filter((h) => h.miB > declaredMiB)
    .map((h) => `${h.container} holds ${h.miB} MiB on ${h.gpu}, more than the ${declaredMiB} MiB declared`);
}

/** The service's figures from the host's nvidia-smi figures and its copies' host PIDs. */
export function serviceGpu(
  service: ServiceSpec,
  figures: GpuFigures,
  pidsByCopy: ReadonlyMap<string, readonly number[]>,
): ServiceGpu {
  const memoryGiB = service.gpus?.memoryGiB;
  const declared = memoryGiB !== undefined ? { declaredMiB: Math.round(memoryGiB * 1024) } : {};
  if (!figures.available) {
    return { ...declared, heldMiB: null, devices: [], processes: [], overDeclared: [], note: figures.reason };
  }
  const copyOf = new Map<number, string>();
  for (const [container, pids] of pidsByCopy) for (const pid of pids) copyOf.set(pid, container);
  const indexOf = new Map(figures.gpus.map((g) => [g.uuid, g.index]));
  const processes: CopyProcess[] = figures.processes
    .filter((p) => copyOf.has(p.pid))
    .map((p) => {
      const gpuIndex = indexOf.get(p.gpuUuid);
      return {
        container: copyOf.get(p.pid)!,
        pid: p.pid,
        gpuUuid: p.gpuUuid,
        ...(gpuIndex !== undefined ? { gpuIndex } : {}),
        ...(p.usedMemoryMiB !== undefined ? { usedMiB: p.usedMemoryMiB } : {}),
      };
    });
  const used = new Set(processes.map((p) => p.gpuUuid));
  const heldMiB = sum(processes.map((p) => p.usedMiB));
  return {
    ...declared,
    heldMiB: heldMiB ?? null,
    devices: figures.gpus.filter((g) => used.has(g.uuid)).map((g) => deviceOf(g, processes)),
    processes,
    overDeclared: overDeclared(processes, declared.declaredMiB),
    ...(heldMiB === undefined ? { note: "nvidia-smi does not report its processes' memory" } : {}),
  };
}
