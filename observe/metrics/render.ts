/** `metrics` for people: per host its switch history and GPUs, one row per service with small charts of the window. */
import type { GpuFigures } from "../gpuProbe";
import type { WithExitCode } from "../status";
import { table } from "../table";
import type { MetricsHost, MetricsReport, ServiceMetrics } from "./collect";
import type { SeriesPoint } from "./series";

const BARS = "▁▂▃▄▅▆▇█";
/** Characters per chart: each one the window's length divided by this. */
export const CHART_WIDTH = 24;

/** One character per value, scaled to the largest (a blank where there is no value). */
export function sparkline(values: readonly (number | null)[]): string {
  const max = Math.max(0, ...values.filter((v): v is number => v !== null));
  return values
    .map((v) =>
      v === null ? " " : BARS[max === 0 ? 0 : Math.min(BARS.length - 1, Math.floor((v / max) * BARS.length))],
    )
    .join("");
}

/**
 * The points of a window in `width` equal spans of time: requests per second and error rate of each span. A point
 * counts for the interval it ends, shared among the spans that interval overlaps.
 */
export function binned(
  series: readonly SeriesPoint[],
  window: { from: string; to: string },
  width = CHART_WIDTH,
): { rate: (number | null)[]; errors: (number | null)[] } {
  const from = Date.parse(window.from);
  const span = Math.max(1, Date.parse(window.to) - from) / width;
  const bins = Array.from({ length: width }, () => ({ requests: 0, errors: 0, seconds: 0 }));
  for (const p of series.filter((point) => point.seconds > 0)) {
    const end = Date.parse(p.t) - from;
    const start = end - p.seconds * 1000;
    for (let i = Math.max(0, Math.floor(start / span)); i < width && i * span < end; i++) {
      const overlap = Math.min(end, (i + 1) * span) - Math.max(start, i * span);
      if (overlap <= 0) continue;
      const share = overlap / (p.seconds * 1000);
      bins[i].requests += p.requests * share;
      bins[i].errors += p.errors * share;
      bins[i].seconds += overlap / 1000;
    }
  }
  return {
    rate: bins.map((b) => (b.seconds > 0 ? b.requests / b.seconds : null)),
    errors: bins.map((b) => (b.seconds > 0 ? (b.requests > 0 ? b.errors / b.requests : 0) : null)),
  };
}

const seconds = (s: number | null) => (s === null ? "-" : s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(1)} s`);
const percent = (r: number | null) => (r === null ? "-" : `${(r * 100).toFixed(r > 0 && r < 0.01 ? 2 : 1)} %`);
const rate = (r: number) => (r >= 10 ? r.toFixed(0) : r.toFixed(2));

function gpuLines(figures: GpuFigures): string[] {
  if (!figures.available) return [`  GPUs: not available (${figures.reason})`];
  return figures.gpus.map((g) => {
    const parts = [
      `${g.memoryUsedMiB ?? "n/a"} / ${g.memoryTotalMiB ?? "n/a"} MiB`,
      g.utilizationPercent === undefined ? "utilisation n/a" : `${g.utilizationPercent} % busy`,
      ...(g.temperatureC !== undefined ? [`${g.temperatureC} °C`] : []),
      ...(g.powerDrawW !== undefined
        ? [`${g.powerDrawW} W${g.powerLimitW !== undefined ? ` of ${g.powerLimitW}` : ""}`]
        : []),
      ...(g.eccCorrected !== undefined || g.eccUncorrected !== undefined
        ? [`ECC ${g.eccCorrected ?? "n/a"} corrected, ${g.eccUncorrected ?? "n/a"} uncorrected`]
        : []),
    ];
    return `  GPU ${g.index ?? "?"} ${g.name ?? g.uuid}: ${parts.join(", ")}`;
  });
}

function hostLines(h: MetricsHost): string[] {
  if (!h.reachable) return [`host ${h.name} (${h.dockerHost}): NOT REACHABLE after ${h.seconds} s: ${h.error}`];
  const sw = h.switch.available
    ? `switch history: a sample every ${h.switch.intervalSeconds} s, ${h.switch.samples} in the window, counting since ${h.switch.since}`
    : `switch history: not available (${h.switch.reason})`;
  return [`host ${h.name} (${h.dockerHost}), read in ${h.seconds} s; ${sw}`, ...gpuLines(h.gpus)];
}

function gpuCells(s: ServiceMetrics): [string, string] {
  if (!s.gpu) return ["-", "-"];
  const busy = s.gpu.devices.map((d) => `${d.utilizationPercent ?? "?"}%@${d.index ?? d.uuid}`).join(" ") || "-";
  const held = s.gpu.heldMiB === null ? "n/a" : `${s.gpu.heldMiB}`;
  const declared = s.gpu.declaredMiB === undefined ? "" : ` / ${s.gpu.declaredMiB}`;
  return [busy, `${held}${declared} MiB${s.gpu.overDeclared.length > 0 ? " (over)" : ""}`];
}

function row(s: ServiceMetrics): string[] {
  const [busy, memory] = gpuCells(s);
  const t = s.traffic;
  if (!t) return [s.name, s.host, "-", "", "-", "", "-", "-", "-", "-", busy, memory];
  const charts = binned(t.series, t.window);
  return [
    s.name,
    s.host,
    rate(t.requestsPerSecond),
    sparkline(charts.rate),
    percent(t.errorRate),
    sparkline(charts.errors),
    seconds(t.p50Seconds),
    seconds(t.p99Seconds),
    String(t.held),
    String(t.shed),
    busy,
    memory,
  ];
}

export function renderMetrics(report: WithExitCode<MetricsReport>): string {
  const window = `${Math.round(report.sinceSeconds / 60)} min`;
  const lines = [
    `stack ${report.stack}, the last ${window} to ${report.checkedAt}`,
    ...report.hosts.flatMap(hostLines),
    "",
  ];
  const header = [
    "SERVICE",
    "HOST",
    "REQ/S",
    "REQ/S OVER TIME",
    "5XX",
    "5XX OVER TIME",
    "P50",
    "P99",
    "HELD",
    "SHED",
    "GPU BUSY",
    "GPU MEMORY",
  ];
  lines.push(...table(header, report.services.map(row)));
  const notes = report.services.flatMap((s) => [
    ...(s.note ? [`  ${s.name}: ${s.note}`] : []),
    ...(s.gpu?.overDeclared ?? []).map((o) => `  ${s.name}: ${o} (doctor warns: the fit rule trusts gpus.memoryGiB)`),
    ...(s.gpu?.note && s.gpu.heldMiB === null ? [`  ${s.name}: GPU memory not available: ${s.gpu.note}`] : []),
  ]);
  if (notes.length > 0) lines.push("", "notes:", ...notes);
  const words = { ok: "every host read", unreachable: "a host could not be reached" };
  lines.push("", `result: ${words[report.result]} (exit ${report.exitCode})`);
  return lines.join("\n");
}
