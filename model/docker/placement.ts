/**
 * The copies of a service on a Docker host (`services.<s>.replicas` of 2 or more): which GPUs each copy's
 * container asks for. Pinned copies take `gpus.deviceIds` in order, `k` each; automatic ones are placed in index
 * order, each on the `k` GPUs with the most free memory (ties: the inventory's order), counting on each GPU every
 * other service that may use it, as the fit rule counts them (fitRule.ts): this stack's and the
 * `sharesHostsWith` stacks', a copy on its own GPUs, a service that gives only `gpus.count` on every GPU.
 *
 * Pure: reads drafts and the neighbour models, records problems at this stack's keys, returns the drafts with
 * their copies placed.
 */
import type { ModelContext } from "../context";
import type { DockerServiceDraft, ServiceDraft } from "../serviceDraft";
import { place, type PlacedService } from "./hostChecks";
import { isOnDocker, type CopySpec, type DeploymentModel, type DockerServiceSpec, type HostSpec } from "../types";

/** The memory sums' tolerance: declared GiB are decimals (4.5), their sums floats. */
const EPSILON = 1e-9;

export const gib = (n: number) => `${Math.round(n * 1000) / 1000} GiB`;

/** What one service (or one copy) holds of a GPU, as plan and the errors name it: `stt copy 1 16 GiB`. */
export interface GpuUse {
  readonly label: string;
  readonly memoryGiB: number;
}

/** One GPU of a host with what is counted on it. */
export interface GpuLoad {
  readonly id: string;
  readonly capacityGiB: number;
  readonly uses: readonly GpuUse[];
}

/** Where a service's memory is counted, or the key that is missing to count it. */
type Counted = { readonly on: readonly { readonly id: string; readonly use: GpuUse }[] } | { readonly missing: string };

/** The services of one model on Docker hosts, in a shape both drafts and built specs have. */
type Service = Pick<DockerServiceSpec, "name" | "gpus" | "replicas" | "copies" | "shareGpu">;

const usedGiB = (load: GpuLoad) => load.uses.reduce((sum, use) => sum + use.memoryGiB, 0);
const freeGiB = (load: GpuLoad) => load.capacityGiB - usedGiB(load);

/** `stt`, `stt copy 1`, `other/stt copy 1`: a copy is named only where there are several. */
export function copyLabel(service: Pick<Service, "name" | "replicas">, index: number, stack?: string): string {
  const name = stack === undefined ? service.name : `${stack}/${service.name}`;
  return service.replicas >= 2 ? `${name} copy ${index}` : name;
}

/** Where a service's memory counts among `deviceIds`: each copy on its GPUs, a count-only request on every one. */
function counted(service: Service, deviceIds: readonly string[], stack?: string, key?: string): Counted {
  const gpus = service.gpus;
  if (!gpus) return { on: [] };
  if (gpus.memoryGiB === undefined) return { missing: key ?? `services.${service.name}.gpus.memoryGiB` };
  const use = (index: number) => ({ label: copyLabel(service, index, stack), memoryGiB: gpus.memoryGiB! });
  if (service.copies.some((copy) => copy.deviceIds)) {
    return {
      on: service.copies.flatMap((copy) => (copy.deviceIds ?? []).map((id) => ({ id, use: use(copy.index) }))),
    };
  }
  const ids = gpus.deviceIds ?? deviceIds;
  return { on: ids.map((id) => ({ id, use: use(0) })) };
}

/** The inventory's GPUs with their memory, or the key that does not declare it. */
function capacities(host: HostSpec): { id: string; capacityGiB: number }[] | { missing: string } {
  const devices = host.gpus?.devices;
  if (!devices) return { missing: `hosts.${host.name}.gpus.devices` };
  const index = devices.findIndex((device) => device.memoryGiB === undefined);
  if (index >= 0) return { missing: `hosts.${host.name}.gpus.devices[${index}].memoryGiB` };
  return devices.map((device) => ({ id: device.id, capacityGiB: device.memoryGiB! }));
}

/**
 * The GPUs of `host` with every service counted on them: `services` of this stack (and others'), each with the
 * stack it belongs to when it is a neighbour's; or the key that is missing to count them.
 */
export function gpuLoads(
  host: HostSpec,
  services: readonly { readonly service: Service; readonly stack?: string }[],
): GpuLoad[] | { missing: string } {
  const gpus = capacities(host);
  if ("missing" in gpus) return gpus;
  const uses = new Map(gpus.map((gpu) => [gpu.id, [] as GpuUse[]]));
  const ids = gpus.map((gpu) => gpu.id);
  for (const { service, stack } of services) {
    const key = stack === undefined ? undefined : `services.${service.name}.gpus.memoryGiB of stack "${stack}"`;
    const where = counted(service, ids, stack, key);
    if ("missing" in where) return where;
    for (const { id, use } of where.on) uses.get(id)?.push(use);
  }
  return gpus.map((gpu) => ({ ...gpu, uses: uses.get(gpu.id)! }));
}

/** `GPU 1: 16 of 24 GiB (stt copy 1 16 GiB), 8 GiB free`, as plan prints each GPU. */
export function gpuLoadText(load: GpuLoad): string {
  const uses = load.uses.map((use) => `${use.label} ${gib(use.memoryGiB)}`).join(", ");
  const used = `${Math.round(usedGiB(load) * 1000) / 1000} of ${gib(load.capacityGiB)}`;
  return `GPU ${load.id}: ${used}${uses ? ` (${uses})` : ""}, ${gib(freeGiB(load))} free`;
}

/** Where the copies are, as plan and preview print it: `stt: 3 copies: copy 0 → GPU 0, copy 1 → GPU 1`. */
export function placementText(service: DockerServiceSpec): string | undefined {
  if (service.replicas < 2) return undefined;
  const head = `${service.name}: ${service.replicas} copies`;
  if (!service.gpus) return `${head}, no GPU`;
  const copies = service.copies.map(
    (copy) =>
      `copy ${copy.index} → GPU${(copy.deviceIds ?? []).length === 1 ? "" : "s"} ${(copy.deviceIds ?? []).join(",")}`,
  );
  return `${head}: ${copies.join(", ")}`;
}

const usesText = (load: GpuLoad) =>
  load.uses.map((use) => `${use.label} ${gib(use.memoryGiB)}`).join(", ") || "nothing";

const ordinal = (n: number) =>
  `${n}${n % 10 === 1 && n !== 11 ? "st" : n % 10 === 2 && n !== 12 ? "nd" : n % 10 === 3 && n !== 13 ? "rd" : "th"}`;

/** The GPU that lacks room for a copy, as the error names it: its free and total memory and what uses it. */
function roomText(load: GpuLoad, rank: number): string {
  const uses = usesText(load);
  const which = rank === 1 ? "the one with the most room" : `the ${ordinal(rank)} with the most room`;
  return `GPU ${load.id}, ${which}, has ${gib(freeGiB(load))} free of ${gib(load.capacityGiB)} (used by ${uses})`;
}

/**
 * The GPUs held, by ID, by services that do not share theirs (`shareGpu` false): a copy of a service that does not
 * share either is not placed there, as two such services on one GPU are refused (hostChecks.ts).
 */
function heldBy(others: Placing["others"]): Map<string, string> {
  const held = new Map<string, string>();
  for (const { service, stack } of others) {
    if (!service.gpus || service.shareGpu) continue;
    const ids = [...service.copies.flatMap((copy) => copy.deviceIds ?? []), ...(service.gpus.deviceIds ?? [])];
    for (const id of ids)
      if (!held.has(id)) held.set(id, stack === undefined ? service.name : `${stack}/${service.name}`);
  }
  return held;
}

/** What a placement problem is about: the service, its host and what sits beside it on the daemon. */
interface Placing {
  readonly draft: DockerServiceDraft;
  readonly host: HostSpec;
  /** Every other service on the daemon, as gpuLoads counts them. */
  readonly others: readonly { readonly service: Service; readonly stack?: string }[];
}

/** Each copy on the `k` GPUs with the most free memory, in index order; undefined where one does not fit. */
function placeAutomatic(ctx: ModelContext, { draft, host, others }: Placing, k: number): CopySpec[] | undefined {
  const { name, replicas } = draft;
  const memory = draft.gpus?.memoryGiB;
  const pin = `pin each copy's GPUs with gpus.deviceIds (${replicas * k} IDs, copy i taking the i-th ${k})`;
  const loads = memory === undefined ? { missing: `services.${name}.gpus.memoryGiB` } : gpuLoads(host, others);
  if ("missing" in loads) {
    ctx.add(
      ["services", name, "replicas"],
      `${replicas} copies are placed on the GPUs with the most free memory, and ${loads.missing} is not set: ` +
        `declare it, or ${pin}`,
    );
    return undefined;
  }
  if (k > loads.length) return undefined; // more GPUs per copy than the host has: hostChecks.ts says so
  const held = draft.shareGpu ? new Map<string, string>() : heldBy(others);
  if (loads.filter((load) => !held.has(load.id)).length < k) {
    const holders = [...held].map(([id, holder]) => `GPU ${id} by ${holder}`).join(", ");
    ctx.add(
      ["services", name, "replicas"],
      `each copy needs ${k} GPU${k === 1 ? "" : "s"} that no other service holds for itself, and on host ` +
        `"${host.name}" ${holders} (none with shareGpu); set shareGpu: true on the services that may share, or ${pin}`,
    );
    return undefined;
  }
  const copies: CopySpec[] = [];
  let current = loads;
  for (let index = 0; index < replicas; index++) {
    const ranked = current
      .map((load, order) => ({ load, order }))
      .filter(({ load }) => !held.has(load.id))
      .sort((a, b) => freeGiB(b.load) - freeGiB(a.load) || a.order - b.order)
      .slice(0, k);
    const short = ranked.findIndex(({ load }) => freeGiB(load) + EPSILON < memory!);
    if (short >= 0) {
      ctx.add(
        ["services", name, "replicas"],
        `copy ${index} of ${replicas} does not fit: it needs ${gib(memory!)} on ${k === 1 ? "a GPU" : `each of ${k} GPUs`}, ` +
          `and ${roomText(ranked[short].load, short + 1)}; lower services.${name}.gpus.memoryGiB or replicas, ` +
          `move a service off host "${host.name}", or ${pin}`,
      );
      return undefined;
    }
    const ids = ranked
      .map(({ load }) => load.id)
      .sort((a, b) => current.findIndex((l) => l.id === a) - current.findIndex((l) => l.id === b));
    const use = { label: copyLabel(draft, index), memoryGiB: memory! };
    current = current.map((load) => (ids.includes(load.id) ? { ...load, uses: [...load.uses, use] } : load));
    copies.push({ index, deviceIds: ids });
  }
  return copies;
}

/** Copy i takes the i-th `k` of `gpus.deviceIds`; undefined where the list does not split into `replicas` parts. */
function pinnedCopies(draft: DockerServiceDraft, deviceIds: readonly string[]): CopySpec[] | undefined {
  const { replicas } = draft;
  if (deviceIds.length % replicas !== 0) return undefined;
  const k = deviceIds.length / replicas;
  return Array.from({ length: replicas }, (_, index) => ({
    index,
    deviceIds: deviceIds.slice(index * k, (index + 1) * k),
  }));
}

/** Pinned copies, where their memory is declared: each in index order must fit beside what is there. */
function checkPinned(ctx: ModelContext, { draft, host, others }: Placing, copies: readonly CopySpec[]): void {
  const { name, replicas } = draft;
  const memory = draft.gpus?.memoryGiB;
  const loads = memory === undefined ? undefined : gpuLoads(host, others);
  if (!loads || "missing" in loads) return; // undeclared memory proves nothing, and refuses nothing
  let current = loads;
  for (const copy of copies) {
    const ids = copy.deviceIds ?? [];
    const full = current.find((load) => ids.includes(load.id) && freeGiB(load) + EPSILON < memory!);
    if (full) {
      ctx.add(
        ["services", name, "replicas"],
        `copy ${copy.index} of ${replicas} does not fit on GPU ${full.id} (gpus.deviceIds): it needs ` +
          `${gib(memory!)}, and GPU ${full.id} has ${gib(freeGiB(full))} free of ${gib(full.capacityGiB)} ` +
          `(used by ${usesText(full)}); lower services.${name}.gpus.memoryGiB or replicas, or pin the copy on ` +
          "another GPU",
      );
      return;
    }
    const use = { label: copyLabel(draft, copy.index), memoryGiB: memory! };
    current = current.map((load) => (ids.includes(load.id) ? { ...load, uses: [...load.uses, use] } : load));
  }
}

/** What can be said of copies from their own service alone: a switch, a split of `gpus`. */
function checkSplit(ctx: ModelContext, draft: DockerServiceDraft, hasSwitch: boolean): boolean {
  const { name, replicas, gpus } = draft;
  if (!hasSwitch) {
    ctx.add(
      ["services", name, "replicas"],
      `${replicas} copies share the service's ports through the switch, and gpu-services:switch is not set: set ` +
        "gpu-services:switch, or set replicas to 1",
    );
  }
  if (gpus?.count === "all") {
    ctx.add(
      ["services", name, "gpus", "count"],
      `"all" cannot be split between ${replicas} copies (replicas): give a number of GPUs per copy, or ` +
        `${replicas} × k gpus.deviceIds, or set replicas to 1`,
    );
    return false;
  }
  if (gpus?.deviceIds && gpus.deviceIds.length % replicas !== 0) {
    const n = gpus.deviceIds.length;
    const allowed = [1, 2, 3].map((k) => String(k * replicas)).join(", ");
    ctx.add(
      ["services", name, "gpus", "deviceIds"],
      `lists ${n} device ID${n === 1 ? "" : "s"} for ${replicas} copies (replicas): must list ${replicas} × k of ` +
        `them (${allowed}, …), copy i taking the i-th k in order`,
    );
    return false;
  }
  return true;
}

/**
 * The drafts with the copies of each Docker service of 2 or more replicas placed (the others as they are), each
 * checked: a switch to share their ports, `gpus` that split between them, room on the GPUs where memory is
 * declared (needed for automatic placement). Services are placed in name order, each beside the ones before.
 */
export function placeCopies(
  ctx: ModelContext,
  hosts: readonly HostSpec[],
  all: readonly ServiceDraft[],
  neighbours: readonly DeploymentModel[],
  hasSwitch: boolean,
): ServiceDraft[] {
  const drafts = all.filter(isOnDocker);
  const hostOf = new Map(hosts.map((host) => [host.name, host]));
  const replicated = drafts.filter((d) => d.replicas >= 2).sort((a, b) => (a.name < b.name ? -1 : 1));
  const placed = new Map<string, DockerServiceDraft>();
  const ok = new Set(replicated.filter((d) => checkSplit(ctx, d, hasSwitch) && d.gpus).map((d) => d.name));
  // Pinned copies are known first: every other service counts them where they are.
  for (const draft of replicated.filter((d) => ok.has(d.name) && d.gpus!.deviceIds)) {
    placed.set(draft.name, { ...draft, copies: pinnedCopies(draft, draft.gpus!.deviceIds!)! });
  }
  const neighbourServices: PlacedService[] = neighbours.flatMap((n) => place(n.hosts, n.services, n.stack));
  const pending = new Set(replicated.filter((d) => !d.gpus?.deviceIds).map((d) => d.name));
  for (const draft of replicated.filter((d) => ok.has(d.name))) {
    pending.delete(draft.name);
    const host = hostOf.get(draft.host);
    if (!host) continue;
    const daemon = host.dockerHost;
    const others = [
      ...drafts
        .filter((d) => d.name !== draft.name && !pending.has(d.name) && hostOf.get(d.host)?.dockerHost === daemon)
        .map((d) => ({ service: placed.get(d.name) ?? d })),
      ...neighbourServices.filter((p) => p.daemon === daemon).map((p) => ({ service: p.service, stack: p.stack })),
    ];
    const placing = { draft, host, others };
    if (draft.gpus!.deviceIds) checkPinned(ctx, placing, placed.get(draft.name)!.copies);
    else {
      const copies = placeAutomatic(ctx, placing, draft.gpus!.count as number);
      if (copies) placed.set(draft.name, { ...draft, copies });
    }
  }
  return all.map((draft) => placed.get(draft.name) ?? draft);
}
