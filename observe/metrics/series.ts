/**
 * A service's figures over a window, from the switch's history: the counters' increases between samples (a
 * counter starts again at zero with each switch process: a sample of a new boot counts from that boot), as
 * requests per second, error rate (5xx among all answers) and latency quantiles from the histogram's buckets
 * (interpolated within a bucket, as Prometheus's histogram_quantile does).
 */
import {
  STATUS_CLASSES,
  type HistorySample,
  type RouteSample,
  type StatusClass,
  type SwitchHistory,
} from "./historySchema";

export type ClassCounts = Record<StatusClass, number>;

/**
 * The switch names a route `<service>-<listen port>`, and copy i's `<service>-<listen port>.<i>`
 * (switch/cmd/gpu-switch copyRouteID).
 */
export function serviceOfRoute(route: string): string {
  return /^(.+)-\d+(?:\.\d+)?$/.exec(route)?.[1] ?? route;
}

/** What a service's routes counted over one interval between samples (added up as it is read). */
interface Increase {
  requests: ClassCounts;
  held: number;
  shed: number;
  replayed: number;
  /** Per latency bucket (not cumulative), the last one for the requests slower than every bound. */
  latency: number[];
}

export interface SeriesPoint {
  /** The end of the interval. */
  readonly t: string;
  readonly seconds: number;
  readonly requests: number;
  readonly errors: number;
  readonly requestsPerSecond: number;
  /** 5xx among the answers; null when there were none. */
  readonly errorRate: number | null;
}

export interface ServiceWindow {
  readonly window: { readonly from: string; readonly to: string; readonly seconds: number };
  readonly requests: ClassCounts;
  readonly held: number;
  readonly shed: number;
  readonly replayed: number;
  readonly requestsPerSecond: number;
  readonly errorRate: number | null;
  readonly p50Seconds: number | null;
  readonly p99Seconds: number | null;
  readonly series: readonly SeriesPoint[];
}

const zeroClasses = (): ClassCounts => Object.fromEntries(STATUS_CLASSES.map((c) => [c, 0])) as ClassCounts;

function emptyIncrease(buckets: number): Increase {
  return { requests: zeroClasses(), held: 0, shed: 0, replayed: 0, latency: Array(buckets + 1).fill(0) };
}

/** What one route counted from `a` to `b`: all of b's counts when b is of another boot or a lacks the route. */
function routeIncrease(into: Increase, before: RouteSample | undefined, after: RouteSample): void {
  const from = (pick: (r: RouteSample) => number) => (before ? pick(before) : 0);
  const add = (pick: (r: RouteSample) => number) => Math.max(0, pick(after) - from(pick));
  for (const c of STATUS_CLASSES) into.requests[c] += add((r) => r.requests[c]);
  into.held += add((r) => r.held);
  into.shed += add((r) => r.shed);
  into.replayed += add((r) => r.replayed);
  after.latency.counts.forEach((n, i) => (into.latency[i] += Math.max(0, n - (before?.latency.counts[i] ?? 0))));
}

function increase(a: HistorySample, b: HistorySample, routes: readonly string[], buckets: number): Increase {
  const sum = emptyIncrease(buckets);
  const sameBoot = a.boot === b.boot;
  for (const id of routes) {
    const after = b.routes[id];
    if (after) routeIncrease(sum, sameBoot ? a.routes[id] : undefined, after);
  }
  return sum;
}

const total = (c: ClassCounts) => STATUS_CLASSES.reduce((n, k) => n + c[k], 0);

/** The q-quantile of a histogram's increase: null with no requests; the highest bound for the slowest bucket. */
export function quantile(q: number, counts: readonly number[], bounds: readonly number[]): number | null {
  const all = counts.reduce((a, b) => a + b, 0);
  if (all === 0) return null;
  const rank = q * all;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    if (below + counts[i] >= rank && counts[i] > 0) {
      if (i === bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : bounds[i - 1];
      return lower + (bounds[i] - lower) * ((rank - below) / counts[i]);
    }
    below += counts[i];
  }
  return bounds[bounds.length - 1];
}

/**
 * The samples of the window, oldest first, ending with the sample of now; a zero sample at the boot of the first
 * one when that switch started within the window (all its counts are the window's).
 */
function windowSamples(history: SwitchHistory, seconds: number): HistorySample[] {
  const from = Date.parse(history.now.t) - seconds * 1000;
  const kept = history.samples.filter((s) => Date.parse(s.t) >= from && Date.parse(s.t) < Date.parse(history.now.t));
  const all = [...kept, history.now];
  const first = all[0];
  if (Date.parse(first.boot) >= from) all.unshift({ t: first.boot, boot: first.boot, routes: {} });
  return all;
}

/** The service's figures over the last `seconds` of the history, from the routes given. */
export function serviceWindow(history: SwitchHistory, routes: readonly string[], seconds: number): ServiceWindow {
  const buckets = history.latencyBuckets.length;
  const samples = windowSamples(history, seconds);
  const sum = emptyIncrease(buckets);
  const series: SeriesPoint[] = [];
  for (let i = 1; i < samples.length; i++) {
    const step = increase(samples[i - 1], samples[i], routes, buckets);
    const span = (Date.parse(samples[i].t) - Date.parse(samples[i - 1].t)) / 1000;
    for (const c of STATUS_CLASSES) sum.requests[c] += step.requests[c];
    sum.held += step.held;
    sum.shed += step.shed;
    sum.replayed += step.replayed;
    step.latency.forEach((n, j) => (sum.latency[j] += n));
    const requests = total(step.requests);
    series.push({
      t: samples[i].t,
      seconds: span,
      requests,
      errors: step.requests["5xx"],
      requestsPerSecond: span > 0 ? requests / span : 0,
      errorRate: requests > 0 ? step.requests["5xx"] / requests : null,
    });
  }
  const from = samples[0].t;
  const windowSeconds = (Date.parse(history.now.t) - Date.parse(from)) / 1000;
  const requests = total(sum.requests);
  return {
    window: { from, to: history.now.t, seconds: windowSeconds },
    requests: sum.requests,
    held: sum.held,
    shed: sum.shed,
    replayed: sum.replayed,
    requestsPerSecond: windowSeconds > 0 ? requests / windowSeconds : 0,
    errorRate: requests > 0 ? sum.requests["5xx"] / requests : null,
    p50Seconds: quantile(0.5, sum.latency, history.latencyBuckets),
    p99Seconds: quantile(0.99, sum.latency, history.latencyBuckets),
    series,
  };
}

/** The counters of the routes now, since the switch process started (`since`). */
export function serviceTotals(now: HistorySample, routes: readonly string[]) {
  const requests = zeroClasses();
  let held = 0,
    shed = 0,
    replayed = 0,
    inFlight = 0,
    holding = 0;
  for (const r of routes.map((id) => now.routes[id]).filter(Boolean)) {
    for (const c of STATUS_CLASSES) requests[c] += r.requests[c];
    held += r.held;
    shed += r.shed;
    replayed += r.replayed;
    inFlight += r.inflight;
    holding += r.holding;
  }
  return { since: now.boot, requests, held, shed, replayed, inFlight, holding };
}
