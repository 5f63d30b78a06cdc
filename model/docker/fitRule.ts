/**
 * The fit rule on a Docker host (docs/design/blue-green-releases.md §8): per service, blue-green or
 * stop-then-start, and why.
 *
 * Blue-green starts the new copy beside the old one, and the engine deletes replaced containers only at the very
 * end of `pulumi up`, so every blue-green service may hold two copies at once (several released in one `up`, or in
 * a neighbour stack's). `auto` therefore becomes blue-green only where a per-device memory sum proves that all of
 * them fit doubled at once, counting every service on the same GPUs, this stack's and the `sharesHostsWith`
 * stacks'. Services are decided one by one in the order (stack, service), which every stack computes alike, with
 * the invariant "the decided doubles plus everyone else once fit": the candidate at 2, decided ones at their
 * copies, undecided ones at 1.
 *
 * A service of several copies is summed copy by copy, each on its own GPUs (docker/placement.ts): it is blue-green
 * only where every copy fits twice there, and its reason names the tightest copy.
 *
 * Pure: reads specs, records problems for explicit `blue-green` that cannot be honoured.
 */
import type { ModelContext } from "../context";
import type { DockerServiceDraft } from "../serviceDraft";
import { perCopy, place, type PlacedCopy } from "./hostChecks";
import { copyLabel } from "./placement";
import type { DeploymentModel, GpuInventory, HostSpec, ReleaseSpec, ReleaseStrategy } from "../types";

/** The device sums' tolerance: declared GiB are decimals (4.5), their sums floats. */
const EPSILON = 1e-9;

const NO_SWITCH = "no switch: gpu-services:switch is not set";
const COUNT_NOTE = "gpus.count does not say which GPU; give gpus.deviceIds to prove the fit";

/** A copy of a placed service with what the rule needs of its stack. */
interface Entry {
  readonly placed: PlacedCopy;
  /** The stack it belongs to, by name (this stack's too): the sort key every stack shares. */
  readonly stack: string;
  readonly own: boolean;
  /** Its stack has a switch. */
  readonly hasSwitch: boolean;
}

/** The GPUs of one daemon, as this stack declares them (the host that names them in its keys). */
interface Inventory {
  readonly host: HostSpec;
  readonly gpus?: GpuInventory;
}

/** Where a service may run on the daemon's GPUs, or which key is missing to tell. */
type Devices = { readonly ids: readonly string[]; readonly countOnly: boolean } | { readonly missing: string };

/** One device's sum for a candidate at two copies. */
interface DeviceSum {
  readonly id: string;
  readonly capacity: number;
  readonly sum: number;
  readonly text: string;
  /** A service in the sum whose `gpus.count` leaves the device open. */
  readonly countOnly?: string;
}

type Fit = { readonly fits: boolean; readonly tightest: DeviceSum } | { readonly missing: string };

const gib = (n: number) => `${Math.round(n * 1000) / 1000} GiB`;

function serviceKey(entry: Entry, rest: string): string {
  const key = `services.${entry.placed.service.name}${rest}`;
  return entry.own ? key : `${key} of stack "${entry.stack}"`;
}

const label = (entry: Entry) =>
  copyLabel(entry.placed.service, entry.placed.copy.index, entry.own ? undefined : entry.stack);

function devicesOf(entry: Entry, inventory: Inventory): Devices {
  const gpus = entry.placed.service.gpus!;
  const devices = inventory.gpus?.devices;
  if (!devices) return { missing: `hosts.${inventory.host.name}.gpus.devices` };
  const all = devices.map((device) => device.id);
  const placed = entry.placed.copy.deviceIds;
  if (placed) return { ids: all.filter((id) => placed.includes(id)), countOnly: false };
  if (gpus.deviceIds) return { ids: all.filter((id) => gpus.deviceIds!.includes(id)), countOnly: false };
  const countOnly = gpus.count !== "all" && gpus.count !== inventory.gpus!.count;
  return { ids: all, countOnly };
}

/** The sums on every device the candidate may use, the candidate at two copies and the others at `copies`. */
function fitOf(candidate: Entry, onDaemon: readonly Entry[], inventory: Inventory, copies: Map<Entry, number>): Fit {
  const memory = candidate.placed.service.gpus!.memoryGiB;
  if (memory === undefined) return { missing: serviceKey(candidate, ".gpus.memoryGiB") };
  const devices = devicesOf(candidate, inventory);
  if ("missing" in devices) return devices;
  const sums: DeviceSum[] = [];
  for (const id of devices.ids) {
    const index = inventory.gpus!.devices!.findIndex((device) => device.id === id);
    const capacity = inventory.gpus!.devices![index].memoryGiB;
    if (capacity === undefined) return { missing: `hosts.${inventory.host.name}.gpus.devices[${index}].memoryGiB` };
    let sum = 2 * memory;
    let text = `2 × ${gib(memory)}`;
    let countOnly = devices.countOnly ? serviceKey(candidate, ".gpus.count") : undefined;
    for (const other of onDaemon) {
      if (other === candidate || !other.placed.service.gpus) continue;
      const theirs = devicesOf(other, inventory);
      if ("missing" in theirs || !theirs.ids.includes(id)) continue;
      const need = other.placed.service.gpus.memoryGiB;
      if (need === undefined) return { missing: serviceKey(other, ".gpus.memoryGiB") };
      const n = copies.get(other) ?? 1;
      sum += n * need;
      text += ` + ${label(other)} ${n === 2 ? "2 × " : ""}${gib(need)}`;
      if (theirs.countOnly) countOnly ??= serviceKey(other, ".gpus.count");
    }
    sums.push({ id, capacity, sum, text, ...(countOnly ? { countOnly } : {}) });
  }
  if (sums.length === 0) return { missing: serviceKey(candidate, ".gpus.deviceIds") };
  const tightest = sums.reduce((a, b) => (b.capacity - b.sum < a.capacity - a.sum ? b : a));
  return { fits: tightest.sum <= tightest.capacity + EPSILON, tightest };
}

function sumText(fit: { fits: boolean; tightest: DeviceSum }): string {
  const { tightest: t } = fit;
  return `${t.text} = ${gib(t.sum)} ${fit.fits ? "≤" : ">"} ${gib(t.capacity)} on GPU ${t.id}`;
}

/** The strategy of one service at its turn, with why (without the `<service>: <strategy>: ` head). */
function decide(
  entry: Entry,
  onDaemon: readonly Entry[],
  inventory: Inventory,
  copies: Map<Entry, number>,
): { strategy: ReleaseStrategy; why: string; fit?: Fit } {
  const { service } = entry.placed;
  const requested = service.release.requested;
  if (requested === "stop-then-start") {
    return { strategy: requested, why: `asked for (${serviceKey(entry, ".release.strategy")})` };
  }
  const explicit = requested === "blue-green";
  if (!explicit && !entry.hasSwitch) return { strategy: "stop-then-start", why: NO_SWITCH };
  if (!explicit && !service.healthcheck) {
    return {
      strategy: "stop-then-start",
      why: `no healthcheck: ${serviceKey(entry, ".healthcheck")} is not set (blue-green waits for a healthy copy)`,
    };
  }
  if (!service.gpus) return { strategy: "blue-green", why: "no GPU" };
  const fit = fitOf(entry, onDaemon, inventory, copies);
  if ("missing" in fit) {
    return {
      strategy: explicit ? "blue-green" : "stop-then-start",
      why: `memory not declared: ${fit.missing} is not set`,
      fit,
    };
  }
  const note = !fit.fits && fit.tightest.countOnly ? ` (${fit.tightest.countOnly}: ${COUNT_NOTE})` : "";
  return { strategy: explicit || fit.fits ? "blue-green" : "stop-then-start", why: sumText(fit) + note, fit };
}

/** An explicit `blue-green` that cannot be honoured: a problem at its `release.strategy`, naming what is missing. */
function checkExplicit(ctx: ModelContext, entry: Entry, fit: Fit | undefined): void {
  const { service } = entry.placed;
  const at = ["services", service.name, "release", "strategy"];
  const or = "or set it to auto or stop-then-start";
  if (!entry.hasSwitch) {
    ctx.add(at, `blue-green needs a switch: set gpu-services:switch (it moves traffic between the copies), ${or}`);
  }
  if (!service.healthcheck) {
    ctx.add(
      at,
      `blue-green needs a healthcheck: set services.${service.name}.healthcheck (traffic moves only to a healthy copy), ${or}`,
    );
  }
  if (fit && "missing" in fit) {
    ctx.add(at, `blue-green cannot be proven to fit two copies: ${fit.missing} is not set; declare it, ${or}`);
  } else if (fit && !fit.fits) {
    ctx.add(
      at,
      `blue-green does not fit two copies: ${sumText(fit)}; every blue-green service counts twice, as two may be ` +
        `released in one up; lower the memory, move a service, ${or}`,
    );
  }
}

/** One copy must fit on every GPU the service may use: a declared need above a device's memory is a typo or a move. */
function checkOneCopy(ctx: ModelContext, entry: Entry, inventory: Inventory): boolean {
  const memory = entry.placed.service.gpus?.memoryGiB;
  if (memory === undefined) return false;
  const devices = devicesOf(entry, inventory);
  if ("missing" in devices) return false;
  for (const id of devices.ids) {
    const index = inventory.gpus!.devices!.findIndex((device) => device.id === id);
    const capacity = inventory.gpus!.devices![index].memoryGiB;
    if (capacity === undefined || memory <= capacity + EPSILON) continue;
    ctx.add(
      ["services", entry.placed.service.name, "gpus", "memoryGiB"],
      `${gib(memory)} for one copy is more than GPU ${id} has (hosts.${inventory.host.name}.gpus.devices[${index}]` +
        `.memoryGiB: ${gib(capacity)}), and the service may run there; must be at most ${gib(capacity)}`,
    );
    return true;
  }
  return false;
}

/** This stack's GPUs on a daemon: the first of its hosts there that declares them, else the first there. */
function inventoryOf(hosts: readonly HostSpec[], daemon: string): Inventory {
  const there = hosts.filter((host) => host.dockerHost === daemon);
  const host = there.find((h) => h.gpus?.devices) ?? there.find((h) => h.gpus) ?? there[0];
  return { host, ...(host.gpus ? { gpus: host.gpus } : {}) };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const bySortKey = (a: Entry, b: Entry) =>
  compare(a.stack, b.stack) ||
  compare(a.placed.service.name, b.placed.service.name) ||
  a.placed.copy.index - b.placed.copy.index;

type Decision = ReturnType<typeof decide>;

/** What is left of a copy's margin on its tightest GPU (the least first); none where no sum was made. */
const margin = (d: Decision) =>
  d.fit && !("missing" in d.fit) ? d.fit.tightest.capacity - d.fit.tightest.sum : Number.POSITIVE_INFINITY;

/**
 * A service's strategy from its copies': blue-green only where every copy is (each fits twice on its own GPUs),
 * with the tightest copy's sum as why (a copy that does not fit before one that does).
 */
function combine(group: readonly Entry[], decided: readonly Decision[]): Decision {
  if (decided.length === 1) return decided[0];
  const fits = (d: Decision) => !d.fit || "missing" in d.fit || d.fit.fits;
  const order = decided.map((d, i) => i).sort((a, b) => margin(decided[a]) - margin(decided[b]));
  const tightest = order.find((i) => !fits(decided[i])) ?? order[0];
  const chosen = decided[tightest];
  const strategy = decided.every((d) => d.strategy === "blue-green") ? "blue-green" : "stop-then-start";
  const why =
    chosen.fit && !("missing" in chosen.fit) ? `copy ${group[tightest].placed.copy.index}: ${chosen.why}` : chosen.why;
  return { ...chosen, strategy, why };
}

/** The entries of one (stack, service) together, in the sorted order. */
function byService(entries: readonly Entry[]): Entry[][] {
  const groups: Entry[][] = [];
  for (const entry of entries) {
    const last = groups[groups.length - 1];
    if (last && last[0].stack === entry.stack && last[0].placed.service === entry.placed.service) last.push(entry);
    else groups.push([entry]);
  }
  return groups;
}

/**
 * The resolved release of every service of this stack, by name. Explicit `blue-green` must pass the same proof,
 * with every explicit blue-green service doubled and everyone else once; otherwise it is a problem with the sum.
 */
export function planReleases(
  ctx: ModelContext,
  hosts: readonly HostSpec[],
  services: readonly DockerServiceDraft[],
  hasSwitch: boolean,
  neighbours: readonly DeploymentModel[],
): Map<string, ReleaseSpec> {
  const entries: Entry[] = [
    ...perCopy(place(hosts, services)).map((placed) => ({ placed, stack: ctx.stack, own: true, hasSwitch })),
    ...neighbours.flatMap((neighbour) =>
      perCopy(place(neighbour.hosts, neighbour.services, neighbour.stack)).map((placed) => ({
        placed,
        stack: neighbour.stack,
        own: false,
        hasSwitch: neighbour.switch !== undefined,
      })),
    ),
  ].sort(bySortKey);
  const plans = new Map<string, ReleaseSpec>();
  for (const daemon of new Set(entries.filter((e) => e.own).map((e) => e.placed.daemon))) {
    const onDaemon = entries.filter((e) => e.placed.daemon === daemon);
    const inventory = inventoryOf(hosts, daemon);
    const explicitCopies = (e: Entry) => (e.placed.service.release.requested === "blue-green" ? 2 : 1);
    // Explicit strategies are decided from the start; `auto` ones count once until their turn.
    const initial = new Map(onDaemon.map((e) => [e, explicitCopies(e)] as const));
    const copies = new Map(initial);
    for (const group of byService(onDaemon)) {
      const [entry] = group;
      const explicit = entry.placed.service.release.requested === "blue-green";
      const decided = group.map((copy) => decide(copy, onDaemon, inventory, explicit ? initial : copies));
      const { strategy, why, fit } = combine(group, decided);
      for (const copy of group) copies.set(copy, strategy === "blue-green" ? 2 : 1);
      if (!entry.own) continue;
      const { service } = entry.placed;
      if (service.gpus) group.some((copy) => checkOneCopy(ctx, copy, inventory));
      if (explicit) checkExplicit(ctx, entry, fit);
      plans.set(service.name, {
        requested: service.release.requested,
        strategy,
        reason: `${service.name}: ${strategy}: ${why}`,
        drainSeconds: service.release.drainSeconds,
      });
    }
  }
  return plans;
}
