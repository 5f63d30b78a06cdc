/**
 * `metrics`: per service, how it did over a window, from each host's switch history (kept on the host, in the
 * switch's volume: no Prometheus needed) and the GPU figures nvidia-smi gives now. Hosts are read in parallel
 * over the same path as `status`, each call bounded; a host that cannot be read is named with why, and the others
 * are still shown. Reads only. The JSON shape (`MetricsReport`) is documented in docs/reference/json.md.
 */
import type { DeploymentModel, HostSpec, ServiceSpec } from "../../model";
import { LABEL_PREFIX } from "../../formats";
import { DockerCli, HostUnreachable } from "../../clients";
import { probeGpus, probeImages, type GpuFigures } from "../gpuProbe";
import { readSnapshot, type HostSnapshot } from "../hostSnapshot";
import { copyPids, serviceGpu, type ServiceGpu } from "../serviceGpu";
import { serviceContainers } from "../status";
import { readSwitchHistory, type HistoryRead } from "./switchHistory";
import { serviceOfRoute, serviceTotals, serviceWindow, type ServiceWindow } from "./series";

export interface MetricsHost {
  readonly name: string;
  readonly dockerHost: string;
  readonly reachable: boolean;
  readonly error?: string;
  readonly seconds: number;
  /** The switch's history: its sampling interval and how many samples the window holds, or why there is none. */
  readonly switch:
    | { readonly available: true; readonly intervalSeconds: number; readonly samples: number; readonly since: string }
    | { readonly available: false; readonly reason: string };
  readonly gpus: GpuFigures;
}

export interface ServiceMetrics {
  readonly name: string;
  readonly host: string;
  /** The service's routes in the switch, their state and the release each serves or moves to. */
  readonly routes: readonly { readonly id: string; readonly state: string; readonly release: string }[];
  /** The window's figures; null where the switch's history could not be read (`note` says why). */
  readonly traffic: ServiceWindow | null;
  /** The counters now, since the switch process started; null as traffic. */
  readonly totals: ReturnType<typeof serviceTotals> | null;
  readonly gpu: ServiceGpu | null;
  readonly note?: string;
}

export interface MetricsReport {
  readonly stack: string;
  readonly checkedAt: string;
  readonly sinceSeconds: number;
  /** `ok`, or `unreachable` when a host could not be read. */
  readonly result: "ok" | "unreachable";
  readonly hosts: readonly MetricsHost[];
  readonly services: readonly ServiceMetrics[];
}

interface HostRead {
  readonly host: MetricsHost;
  readonly history?: HistoryRead;
  readonly snapshot?: HostSnapshot;
  readonly pids: ReadonlyMap<string, ReadonlyMap<string, readonly number[]>>;
}

function switchOf(history: HistoryRead, sinceSeconds: number): MetricsHost["switch"] {
  if (!history.available) return history;
  const h = history.history;
  const from = Date.parse(h.now.t) - sinceSeconds * 1000;
  const samples = h.samples.filter((s) => Date.parse(s.t) >= from).length;
  return { available: true, intervalSeconds: h.intervalSeconds, samples, since: h.now.boot };
}

async function readHost(model: DeploymentModel, host: HostSpec, opts: Options): Promise<HostRead> {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  const base = { name: host.name, dockerHost: host.dockerHost };
  const cli = new DockerCli(host, opts.timeoutMs);
  try {
    const snapshot = await readSnapshot(cli);
    const services = model.services.filter((s) => s.host === host.name && s.runsOn === "docker");
    const history = await readSwitchHistory(cli, model.stack, opts.sinceSeconds);
    const ours = snapshot.containers.filter((c) => c.labels[`${LABEL_PREFIX}stack`] === model.stack);
    const images = await probeImages(cli, model.stack, snapshot.containers, services);
    const gpus = await probeGpus(cli, ours, { allowRun: true, images, sensors: true });
    const pids = new Map<string, Map<string, number[]>>();
    for (const s of services.filter((service) => service.gpus && gpus.available)) {
      pids.set(s.name, await copyPids(cli, serviceContainers(snapshot, model.stack, s)));
    }
    const read = { ...base, reachable: true, seconds: seconds(), switch: switchOf(history, opts.sinceSeconds), gpus };
    return { host: read, history, snapshot, pids };
  } catch (error) {
    if (!(error instanceof HostUnreachable)) throw error;
    const reason = "host not reachable";
    const unread = { available: false as const, reason };
    const host = { ...base, reachable: false, error: error.message, seconds: seconds(), switch: unread, gpus: unread };
    return { host, pids: new Map() };
  } finally {
    cli.close();
  }
}

function serviceMetrics(service: ServiceSpec, read: HostRead, sinceSeconds: number): ServiceMetrics {
  const base = { name: service.name, host: service.host };
  const gpu =
    service.gpus && read.snapshot
      ? serviceGpu(service, read.host.gpus, read.pids.get(service.name) ?? new Map())
      : null;
  if (!read.history?.available) {
    const note = read.history ? read.history.reason : (read.host.error ?? "host not reachable");
    return { ...base, routes: [], traffic: null, totals: null, gpu, note };
  }
  const history = read.history.history;
  const ids = Object.keys(history.now.routes)
    .filter((id) => serviceOfRoute(id) === service.name)
    .sort();
  const routes = ids.map((id) => ({
    id,
    state: history.now.routes[id].state,
    release: history.now.routes[id].release,
  }));
  return {
    ...base,
    routes,
    traffic: serviceWindow(history, ids, sinceSeconds),
    totals: serviceTotals(history.now, ids),
    gpu,
    ...(ids.length === 0 ? { note: "the switch has no route of this service" } : {}),
  };
}

interface Options {
  readonly timeoutMs?: number;
  /** The window: the last this many seconds. */
  readonly sinceSeconds: number;
}

/** Every Docker host's switch history and GPU figures, read in parallel, as one report per service. */
export async function collectMetrics(model: DeploymentModel, opts: Options): Promise<MetricsReport> {
  const reads = await Promise.all(model.hosts.map((h) => readHost(model, h, opts)));
  const byHost = new Map(reads.map((r) => [r.host.name, r]));
  const services = model.services
    .filter((s) => s.runsOn === "docker")
    .map((s) => serviceMetrics(s, byHost.get(s.host)!, opts.sinceSeconds));
  const hosts = reads.map((r) => r.host);
  return {
    stack: model.stack,
    checkedAt: new Date().toISOString(),
    sinceSeconds: opts.sinceSeconds,
    result: hosts.some((h) => !h.reachable) ? "unreachable" : "ok",
    hosts,
    services,
  };
}
