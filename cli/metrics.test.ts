/**
 * `gpu-services metrics` against a stand-in docker CLI (test/support/fakeDocker.ts) whose switch answers a known
 * history, across a restart of the switch, on one host of two (the other does not answer): the window's figures,
 * the series, the counters now, the table with its charts, and the line for the host not reached.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "./gpu-services";
import { EXIT } from "./errors";
import { FAKE_STACK, fakeDocker, fakeStackProject, type FakeDocker } from "../test/support/fakeDocker";
import { quantile } from "../observe/metrics/series";
import { binned, sparkline } from "../observe/metrics/render";

const STACK = FAKE_STACK;

const BOOT = "2026-07-01T09:00:00Z";
const RESTART = "2026-07-01T09:40:00Z";

/** stt's one route in a sample: 2xx and 5xx answers, held, shed, and its latency counts (≤ 0.1 s, ≤ 1 s, slower). */
function stt(ok: number, failed: number, latency: number[], held = 0, shed = 0) {
  return {
    state: "ready",
    release: "ghcr.io/example/stt@sha256:v2",
    requests: { "1xx": 0, "2xx": ok, "3xx": 0, "4xx": 0, "5xx": failed },
    held,
    shed,
    replayed: 0,
    inflight: 1,
    holding: 0,
    latency: { counts: latency, sum: 12.5 },
  };
}

const sample = (t: string, boot: string, route: ReturnType<typeof stt>) => ({ t, boot, routes: { "stt-8060": route } });

/** Samples every 15 min; the switch restarted at 09:40 (its counters start again). */
const HISTORY = {
  intervalSeconds: 10,
  latencyBuckets: [0.1, 1],
  samples: [
    sample("2026-07-01T08:50:00Z", "2026-07-01T08:00:00Z", stt(999, 9, [1008, 0, 0])),
    sample("2026-07-01T09:15:00Z", BOOT, stt(100, 0, [100, 0, 0])),
    sample("2026-07-01T09:30:00Z", BOOT, stt(250, 10, [210, 48, 2], 5, 1)),
    sample("2026-07-01T09:45:00Z", RESTART, stt(30, 0, [30, 0, 0])),
  ],
  now: sample("2026-07-01T10:00:00Z", RESTART, stt(120, 0, [60, 60, 0], 2)),
};

let docker: FakeDocker;
let dir: string;

beforeAll(() => {
  dir = fakeStackProject("metrics-cli");
  docker = fakeDocker([{ name: "gpu-switch-dev", labels: { "gpu-services.stack": STACK } }], HISTORY);
});

afterAll(() => {
  docker?.restore();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function metrics(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["-s", STACK, "metrics", ...args], {
    projectDir: dir,
    out: (s) => out.push(s),
    err: (s) => err.push(s),
  });
  return { code, out: out.join("\n"), err };
}

describe("gpu-services metrics", () => {
  it("--json: the window's figures from the switch's history, across its restart, and the counters now", async () => {
    const { code, out } = await metrics("--since", "1h", "--json");
    expect(code).toBe(EXIT.unresolved);
    const report = JSON.parse(out);
    expect(report).toMatchObject({ stack: STACK, result: "unreachable", exitCode: 3, sinceSeconds: 3600 });
    const host = (name: string) => report.hosts.find((h: { name: string }) => h.name === name);
    expect(host("lab")).toMatchObject({
      name: "lab",
      reachable: true,
      switch: { available: true, intervalSeconds: 10, samples: 3, since: RESTART },
    });
    expect(host("far")).toMatchObject({ name: "far", reachable: false, switch: { available: false } });
    expect(host("far").error).toMatch(/^host "far" \(unix:\/\/\/var\/run\/down.sock\): no Docker daemon answers/);
    const [sttMetrics, tts] = report.services;
    // From 09:00 (the boot inside the window: its counts are the window's) to 10:00, the restart at 09:40 counted
    // from zero: 100 + 160 + 30 + 90 answers.
    expect(sttMetrics.traffic).toMatchObject({
      window: { from: BOOT, to: "2026-07-01T10:00:00Z", seconds: 3600 },
      requests: { "1xx": 0, "2xx": 370, "3xx": 0, "4xx": 0, "5xx": 10 },
      held: 7,
      shed: 1,
      replayed: 0,
    });
    expect(sttMetrics.traffic.requestsPerSecond).toBeCloseTo(380 / 3600, 9);
    expect(sttMetrics.traffic.errorRate).toBeCloseTo(10 / 380, 9);
    expect(sttMetrics.traffic.p50Seconds).toBeCloseTo(0.1 * (190 / 270), 9);
    expect(sttMetrics.traffic.p99Seconds).toBeCloseTo(0.1 + 0.9 * ((0.99 * 380 - 270) / 108), 9);
    expect(
      sttMetrics.traffic.series.map((p: { requests: number; errors: number; seconds: number }) => [
        p.requests,
        p.errors,
        p.seconds,
      ]),
    ).toEqual([
      [100, 0, 900],
      [160, 10, 900],
      [30, 0, 900],
      [90, 0, 900],
    ]);
    expect(sttMetrics.totals).toEqual({
      since: RESTART,
      requests: { "1xx": 0, "2xx": 120, "3xx": 0, "4xx": 0, "5xx": 0 },
      held: 2,
      shed: 0,
      replayed: 0,
      inFlight: 1,
      holding: 0,
    });
    expect(sttMetrics.routes).toEqual([{ id: "stt-8060", state: "ready", release: "ghcr.io/example/stt@sha256:v2" }]);
    expect(tts).toMatchObject({ name: "tts", host: "far", traffic: null, totals: null, gpu: null });
    expect(docker.calls()).toContain("unix:///var/run/fake.sock exec gpu-switch-dev /gpu-switch history 3600");
  });

  it("for people: a row per service with charts of the window, and the host not reached named", async () => {
    const { out } = await metrics("--since", "1h");
    const lines = out.split("\n");
    expect(lines).toContain(
      "host lab (unix:///var/run/fake.sock), read in " +
        lines
          .find((l) => l.startsWith("host lab"))!
          .split("read in ")[1]
          .split(" s;")[0] +
        ` s; switch history: a sample every 10 s, 3 in the window, counting since ${RESTART}`,
    );
    expect(out).toMatch(/host far \(unix:\/\/\/var\/run\/down.sock\): NOT REACHABLE after [\d.]+ s: host "far"/);
    const row = lines.find((l) => l.startsWith("stt "))!;
    expect(row.split(/\s{2,}/)).toEqual([
      "stt",
      "lab",
      "0.11",
      "▆▆▆▆▆▆██████▂▂▂▂▂▂▅▅▅▅▅▅",
      "2.6 %",
      "▁▁▁▁▁▁██████▁▁▁▁▁▁▁▁▁▁▁▁",
      "70 ms",
      "985 ms",
      "7",
      "1",
      "-",
      "-",
    ]);
    expect(out).toContain(`  tts: host "far" (unix:///var/run/down.sock): no Docker daemon answers there`);
    expect(out).toContain("result: a host could not be reached (exit 3)");
  });

  it("refuses a window that is not a duration from 1 s to 7 days", async () => {
    for (const since of ["soon", "0s", "200h"]) {
      const { code, err } = await metrics("--since", since);
      expect(code, since).toBe(EXIT.usage);
      expect(err.join("\n")).toContain("--since <duration>");
    }
  });
});

describe("the figures' arithmetic", () => {
  it("a quantile is interpolated in its bucket, null with no requests, the last bound for the slowest", () => {
    expect(quantile(0.5, [0, 10, 0], [0.1, 1])).toBeCloseTo(0.55, 9);
    expect(quantile(0.99, [0, 0, 0], [0.1, 1])).toBeNull();
    expect(quantile(0.99, [1, 0, 99], [0.1, 1])).toBe(1);
  });

  it("a chart scales to its largest value and leaves a span without samples blank", () => {
    expect(sparkline([0, 1, 2, 4, 8, null])).toBe("▁▂▃▅█ ");
    const window = { from: "2026-07-01T09:00:00Z", to: "2026-07-01T09:04:00Z" };
    const point = (t: string, requests: number, errors: number) => ({
      t,
      seconds: 60,
      requests,
      errors,
      requestsPerSecond: 0,
      errorRate: null,
    });
    expect(binned([point("2026-07-01T09:02:00Z", 60, 6), point("2026-07-01T09:03:00Z", 120, 0)], window, 4)).toEqual({
      rate: [null, 1, 2, null],
      errors: [null, 0.1, 0, null],
    });
  });
});
