/** What the replicas lab reads of a pool's samples and a copy's name, on samples written out here. */
import { describe, expect, it } from "vitest";
import { copyIndex, outages, poolFigures, poolStates, stateTrail, type PoolSample } from "./replicasLab";

const sample = (at: number, states: Record<string, string>): PoolSample => ({ at, states });

/** Copy 1 drained and loading from 300 to 600 ms, copy 2 absent from 700 ms on (a scale-down). */
const SAMPLES: PoolSample[] = [
  sample(0, { "stt-8060": "ready", "stt-8060.1": "ready", "stt-8060.2": "ready" }),
  sample(100, { "stt-8060": "ready", "stt-8060.1": "ready", "stt-8060.2": "ready" }),
  sample(300, { "stt-8060": "ready", "stt-8060.1": "drained", "stt-8060.2": "ready" }),
  sample(400, { "stt-8060": "ready", "stt-8060.1": "loading", "stt-8060.2": "ready" }),
  sample(600, { "stt-8060": "ready", "stt-8060.1": "ready", "stt-8060.2": "ready" }),
  sample(1200, { "stt-8060": "ready", "stt-8060.1": "ready" }),
];

describe("the replicas lab", () => {
  it("names copy 0 by the service's container name and copy i by its -copy<i> suffix; nothing else", () => {
    expect(copyIndex("stt-e2e", "stt-e2e")).toBe(0);
    expect(copyIndex("stt-e2e-copy2", "stt-e2e")).toBe(2);
    expect(copyIndex("stt-e2e-copy12", "stt-e2e")).toBe(12);
    expect(copyIndex("stt-e2e-a1b2c3", "stt-e2e")).toBeUndefined();
    expect(copyIndex("tts-e2e", "stt-e2e")).toBeUndefined();
  });

  it("takes a pool's members from a route table: the route and its .<i> routes, not another route sharing a prefix", () => {
    const routes = {
      "stt-8060": { state: "ready" },
      "stt-8060.1": { state: "loading" },
      "stt-80601": { state: "ready" },
      "tts-8055": { state: "ready" },
    };
    expect(poolStates(routes, "stt-8060")).toEqual({ "stt-8060": "ready", "stt-8060.1": "loading" });
  });

  it("finds the fewest members ready in a window, when, and the longest gap between samples", () => {
    expect(poolFigures(SAMPLES, { from: 50, to: 700 })).toEqual({
      samples: 4,
      leastReady: 2,
      leastReadyIds: ["stt-8060", "stt-8060.2"],
      leastAt: 300,
      longestGapMs: 200,
    });
    expect(poolFigures(SAMPLES, { from: 0, to: 1200 })).toMatchObject({ samples: 6, leastReady: 2, longestGapMs: 600 });
  });

  it("gives each member's stretches out of the pool and the states it went through", () => {
    expect(outages(SAMPLES, "stt-8060.1")).toEqual([{ from: 300, to: 600 }]);
    expect(outages(SAMPLES, "stt-8060")).toEqual([]);
    expect(outages(SAMPLES, "stt-8060.2")).toEqual([{ from: 1200, to: 1200 }]);
    expect(stateTrail(SAMPLES, "stt-8060.1")).toBe("ready → drained → loading → ready");
    expect(stateTrail(SAMPLES, "stt-8060.2")).toBe("ready → absent");
  });
});
