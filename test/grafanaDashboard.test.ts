/**
 * The Grafana dashboard (docs/operations/grafana/gpu-switch.json) asks only for metrics the switch exports, and
 * shows each of them. The exported names are read from switch/gpuswitch/testdata/metrics.prom, the exposition of
 * the real metrics handler that the Go tier's TestTheCheckedInExpositionSampleIsWhatTheSwitchExports checks byte
 * for byte: a metric renamed or added in the switch fails that test until the file is written again, and then this
 * one until the dashboard follows.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "./support/harness";

const DASHBOARD = path.join(PROJECT_DIR, "docs", "operations", "grafana", "gpu-switch.json");
const EXPOSITION = path.join(PROJECT_DIR, "switch", "gpuswitch", "testdata", "metrics.prom");

/** The series names a family of the text format has: a histogram's `_bucket`, `_sum` and `_count`. */
const SERIES_OF_TYPE: Record<string, readonly string[]> = {
  counter: [""],
  gauge: [""],
  untyped: [""],
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"],
};

/** Every series name the exposition has, from its `# TYPE <family> <type>` lines. */
function exportedSeries(text: string): Map<string, string> {
  const series = new Map<string, string>();
  for (const [, family, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const suffixes = SERIES_OF_TYPE[type];
    if (!suffixes) throw new Error(`${EXPOSITION}: ${family} has the unknown type ${type}`);
    for (const suffix of suffixes) series.set(`${family}${suffix}`, family);
  }
  return series;
}

/** PromQL's words that are not metric names where they stand alone (functions are followed by a parenthesis). */
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "inf",
  "nan",
]);

/**
 * The metric names a PromQL expression (or a Grafana `label_values(metric, label)` query) selects: its strings,
 * label matchers, ranges and grouping lists taken out, each identifier that is not a function call or a keyword.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\blabel_values\s*\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)/g, "$1")
    .replace(/\$\w+/g, " ");
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.])[a-zA-Z_:][\w:]*/g)) {
    const after = bare.slice(m.index + m[0].length).trimStart();
    if (after.startsWith("(") || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names].sort();
}

interface Panel {
  readonly title?: string;
  readonly targets?: readonly { readonly expr?: string }[];
  readonly panels?: readonly Panel[];
}

/** Every query of the dashboard: its panels' targets (rows' panels included) and its variables' queries. */
function queries(dashboard: {
  panels: readonly Panel[];
  templating: { list: readonly { name: string; query?: unknown }[] };
}) {
  const found: { where: string; expr: string }[] = [];
  const visit = (panel: Panel) => {
    for (const t of panel.targets ?? []) if (t.expr) found.push({ where: `panel "${panel.title}"`, expr: t.expr });
    panel.panels?.forEach(visit);
  };
  dashboard.panels.forEach(visit);
  for (const v of dashboard.templating.list) {
    const q = typeof v.query === "object" && v.query !== null ? (v.query as { query?: string }).query : undefined;
    if (typeof q === "string" && q.includes("(")) found.push({ where: `variable $${v.name}`, expr: q });
  }
  return found;
}

describe("metricNames", () => {
  it("finds the names an expression selects, a misspelt one too, and nothing of its labels, functions or ranges", () => {
    expect(
      metricNames(
        'sum by (service, le) (rate(gpu_switch_request_duration_seconds_bucket{class="5xx", host=~"$host"}[$__rate_interval]))',
      ),
    ).toEqual(["gpu_switch_request_duration_seconds_bucket"]);
    expect(metricNames("time() - gpu_swich_route_state_since_timestamp_seconds{route=~'a|b'} offset 5m")).toEqual([
      "gpu_swich_route_state_since_timestamp_seconds",
    ]);
    expect(metricNames('a_total / on (service) group_left (release) b_info == bool 1 and c{x="by (y)"}')).toEqual([
      "a_total",
      "b_info",
      "c",
    ]);
    expect(metricNames('label_values(gpu_switch_requests_total{host=~"$host"}, service)')).toEqual([
      "gpu_switch_requests_total",
    ]);
  });
});

describe("the Grafana dashboard", () => {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, "utf8"));
  const exported = exportedSeries(fs.readFileSync(EXPOSITION, "utf8"));
  const used = queries(dashboard).map((q) => ({ ...q, names: metricNames(q.expr) }));

  it("reads the exposition's families (a check that could not fail without them is no check)", () => {
    expect(new Set(exported.values()).size).toBeGreaterThanOrEqual(10);
    expect(exported.get("gpu_switch_request_duration_seconds_bucket")).toBe("gpu_switch_request_duration_seconds");
    expect(used.length).toBeGreaterThan(10);
  });

  it("asks only for metrics the switch exports", () => {
    const unknown = used.flatMap((q) => q.names.filter((n) => !exported.has(n)).map((n) => `${q.where}: ${n}`));
    expect(unknown).toEqual([]);
  });

  it("shows every metric family the switch exports", () => {
    const shown = new Set(used.flatMap((q) => q.names.map((n) => exported.get(n))));
    expect([...new Set(exported.values())].filter((family) => !shown.has(family))).toEqual([]);
  });

  it("every query has a selector for the host and service variables, and panels have unique ids", () => {
    const panels = queries(dashboard).filter((q) => q.where.startsWith("panel"));
    expect(panels.filter((q) => !q.expr.includes('host=~"$host", service=~"$service"')).map((q) => q.where)).toEqual(
      [],
    );
    const ids = (dashboard.panels as { id: number }[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
