/** The host's GPUs: NVIDIA runtime or driver, the inventory declared in `hosts.<h>.gpus`, free GPU memory. */
import type { GpuInventory, ServiceSpec } from "../../model";
import type { GpuReading } from "../nvidiaSmi";
import { fail, ok, warn, type CheckContext, type HostCheck } from "./types";

const TOOLKIT_FIX =
  "install the NVIDIA driver and container toolkit on the host (nvidia-ctk runtime configure --runtime=docker), restart dockerd";

const gpuServices = (ctx: CheckContext) => ctx.services.filter((s) => s.gpus);

export const nvidiaRuntimeCheck: HostCheck = (ctx) => {
  if (gpuServices(ctx).length === 0) return ok("no service of this stack requests a GPU here");
  if (ctx.gpus.available) return ok(`NVIDIA device requests work: ${ctx.gpus.source}`);
  if (ctx.snapshot.engine.runtimes.includes("nvidia")) {
    return warn(`the nvidia runtime is registered, but nvidia-smi could not be run: ${ctx.gpus.reason}`, TOOLKIT_FIX);
  }
  if (ctx.gpus.reason.startsWith("no GPU container")) {
    return warn(
      "cannot tell: no nvidia runtime is registered and no GPU container or service image is on the host to try",
      `after the first up, run doctor again; or ${TOOLKIT_FIX}`,
    );
  }
  return fail(`NVIDIA device requests do not work: ${ctx.gpus.reason}`, TOOLKIT_FIX);
};

function deviceProblems(declared: GpuInventory, gpus: readonly GpuReading[]): string[] {
  const problems: string[] = [];
  for (const device of declared.devices ?? []) {
    const found = gpus.find((g) => g.uuid === device.id || String(g.index) === device.id);
    if (!found) {
      problems.push(`device ${device.id} is not among ${gpus.map((g) => `${g.index}/${g.uuid}`).join(", ")}`);
      continue;
    }
    if (device.memoryGiB !== undefined && found.memoryTotalMiB !== undefined) {
      const actual = found.memoryTotalMiB / 1024;
      if (Math.abs(actual - device.memoryGiB) > device.memoryGiB * 0.1) {
        problems.push(`device ${device.id} has ${actual.toFixed(1)} GiB, declared ${device.memoryGiB} GiB`);
      }
    }
  }
  return problems;
}

export const gpusDeclaredCheck: HostCheck = ({ host, gpus }) => {
  const key = `hosts.${host.name}.gpus`;
  if (!host.gpus)
    return warn(`${key} is not declared: GPU placement is not checked`, `declare ${key} (count, devices)`);
  if (!gpus.available)
    return warn(`${key} not checked against the host: ${gpus.reason}`, "run doctor again once nvidia-smi can run");
  const problems = [
    ...(host.gpus.count > gpus.gpus.length
      ? [`${key} declares ${host.gpus.count} GPUs, nvidia-smi reports ${gpus.gpus.length}`]
      : []),
    ...deviceProblems(host.gpus, gpus.gpus),
  ];
  if (problems.length > 0) return fail(problems.join("; "), `correct ${key} to what the host has, or move services`);
  return ok(
    `${key}: ${host.gpus.count} declared, nvidia-smi reports ${gpus.gpus.length} (${gpus.gpus.map((g) => g.name ?? g.uuid).join(", ")})`,
  );
};

/** Below this share of free memory a GPU is too full to start another model on it. */
export const MIN_FREE_SHARE = 0.1;

/** Copies a service holds at once during a release: two when it is released blue-green (model/docker/fitRule.ts). */
const copiesOf = (service: ServiceSpec) => (service.release.strategy === "blue-green" ? 2 : 1);

/** Whether a device ID names the GPU nvidia-smi reports (by UUID or index). */
const names = (gpu: GpuReading) => (id: string) => id === gpu.uuid || id === String(gpu.index);

/**
 * How many of the service's copies run on a GPU nvidia-smi reports: those placed on it (each copy names its
 * devices), else one where its deviceIds name it, or where it has none (the runtime picks).
 */
function copiesOn(service: ServiceSpec, gpu: GpuReading): number {
  const placed = service.copies.filter((c) => c.deviceIds);
  if (placed.length > 0) return placed.filter((c) => c.deviceIds!.some(names(gpu))).length;
  const ids = service.gpus?.deviceIds;
  return !ids || ids.some(names(gpu)) ? 1 : 0;
}

export const gpuMemoryCheck: HostCheck = (ctx) => {
  const wanting = gpuServices(ctx);
  if (wanting.length === 0) return ok("no service of this stack requests a GPU here");
  if (!ctx.gpus.available)
    return warn(`free GPU memory not checked: ${ctx.gpus.reason}`, "run doctor again once nvidia-smi can run");
  const free = ctx.gpus.gpus.map((g) => ({ g, free: (g.memoryTotalMiB ?? 0) - (g.memoryUsedMiB ?? 0) }));
  const full = free.filter(({ g, free }) => g.memoryTotalMiB !== undefined && free < g.memoryTotalMiB * MIN_FREE_SHARE);
  const line = free.map(({ g, free }) => `GPU ${g.index}: ${free} of ${g.memoryTotalMiB} MiB free`).join(", ");
  const basis = wanting
    .map((s) => `${s.name} ${copiesOf(s) === 2 ? "two copies (blue-green)" : "one copy"}`)
    .join(", ");
  // A blue-green release starts its second copy beside the running one: that copy must fit in what is free.
  const short = free.flatMap(({ g, free }) => {
    const second = wanting.filter((s) => copiesOf(s) === 2 && s.gpus?.memoryGiB !== undefined && copiesOn(s, g) > 0);
    const needMiB = Math.ceil(second.reduce((sum, s) => sum + s.gpus!.memoryGiB! * 1024 * copiesOn(s, g), 0));
    if (g.memoryTotalMiB === undefined || second.length === 0 || free >= needMiB) return [];
    const who = second.map((s) => `${s.name} ${s.gpus!.memoryGiB} GiB`).join(" + ");
    return [`GPU ${g.index} has ${free} MiB free, a blue-green release's second copy needs ${needMiB} MiB (${who})`];
  });
  if (short.length > 0) {
    return warn(
      `${line}; ${short.join("; ")}`,
      "stop what holds the memory, or set release.strategy: stop-then-start on those services",
    );
  }
  if (full.length > 0) {
    const holders = ctx.gpus.processes.map((p) => `pid ${p.pid} ${p.processName ?? "?"} ${p.usedMemoryMiB ?? "?"} MiB`);
    return warn(
      `${line}; less than ${MIN_FREE_SHARE * 100} % free on ${full.length} GPU(s) for ${basis}; held by ${holders.join(", ")}`,
      "stop what holds the memory, or place the services on another GPU",
    );
  }
  return ok(`${line} for ${basis}`);
};
