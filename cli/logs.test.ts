/**
 * `gpu-services logs` against a stand-in docker CLI (test/support/fakeDocker.ts) for two hosts, one of which does
 * not answer: the scope (a service, the copy of one release, the switch, the last push), the lines of every copy
 * in one stream by time with host and container, the docker calls made, and the line for the host not reached.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "./gpu-services";
import { EXIT } from "./errors";
import { FAKE_STACK, fakeDocker, fakeStackProject, type FakeDocker } from "../test/support/fakeDocker";

const STACK = FAKE_STACK;

const labels = (release: string) => ({
  "gpu-services.stack": STACK,
  "gpu-services.service": "stt",
  "gpu-services.release": release,
});

let docker: FakeDocker;
let dir: string;

beforeAll(() => {
  dir = fakeStackProject("logs-cli");
  docker = fakeDocker([
    {
      name: "stt-dev",
      labels: labels("ghcr.io/example/stt@sha256:v1"),
      startedAt: "2026-07-01T09:00:00Z",
      stdout: ["2026-07-01T09:00:01.5Z serving v1", "2026-07-01T09:05:02.000000001Z request 1"],
      stderr: ["2026-07-01T09:05:03Z loading shard 2"],
    },
    {
      name: "stt-dev-4f2a1c",
      labels: labels("ghcr.io/example/stt@sha256:v2"),
      startedAt: "2026-07-01T09:05:00Z",
      stdout: ["2026-07-01T09:05:01Z loading v2", "2026-07-01T09:05:04Z serving v2"],
    },
    {
      name: "gpu-switch-dev",
      labels: { "gpu-services.stack": STACK },
      stdout: ['2026-07-01T09:05:04Z {"msg":"next copy promoted"}'],
    },
    {
      name: "push-old",
      labels: { "gpu-services.stack": STACK },
      cmd: ["/gpu-switch", "apply", "/push/plan.json"],
      startedAt: "2026-07-01T08:00:00Z",
      stdout: ["2026-07-01T08:00:01Z old push"],
    },
    {
      name: "push-new",
      labels: { "gpu-services.stack": STACK },
      cmd: ["/gpu-switch", "apply", "/push/plan.json"],
      startedAt: "2026-07-01T09:05:00Z",
      stderr: ["2026-07-01T09:05:05Z gpu-switch apply: stt switched"],
    },
    { name: "web-other", labels: { "gpu-services.stack": "other", "gpu-services.service": "stt" }, stdout: ["x"] },
  ]);
});

afterAll(() => {
  docker?.restore();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function logs(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["-s", STACK, "logs", ...args], {
    projectDir: dir,
    out: (s) => out.push(s),
    err: (s) => err.push(s),
  });
  return { code, out, err };
}

const FAR = `logs: NOT REACHABLE: host "far" (unix:///var/run/down.sock): no Docker daemon answers there`;

describe("gpu-services logs", () => {
  it("of every service: each copy's lines in one stream by time, host and container first; the host not reached said", async () => {
    const { code, out, err } = await logs("--since", "10m");
    expect(out).toEqual([
      "lab/stt-dev 2026-07-01T09:00:01.500000000Z serving v1",
      "lab/stt-dev-4f2a1c 2026-07-01T09:05:01.000000000Z loading v2",
      "lab/stt-dev 2026-07-01T09:05:02.000000001Z request 1",
      "lab/stt-dev 2026-07-01T09:05:03.000000000Z loading shard 2",
      "lab/stt-dev-4f2a1c 2026-07-01T09:05:04.000000000Z serving v2",
    ]);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(new RegExp(`^${FAR.replace(/[().]/g, "\\$&")} \\(Cannot connect`));
    expect(code).toBe(EXIT.unresolved);
    expect(docker.calls().filter((c) => c.includes(" logs "))).toEqual(
      expect.arrayContaining([
        "unix:///var/run/fake.sock logs --timestamps --tail 200 --since 10m stt-dev",
        "unix:///var/run/fake.sock logs --timestamps --tail 200 --since 10m stt-dev-4f2a1c",
      ]),
    );
  });

  it("of one service reads its host only; --release new, old or a value picks a copy; --grep filters", async () => {
    expect(await logs("stt", "--release", "new", "--tail", "5")).toEqual({
      code: EXIT.ok,
      out: [
        "lab/stt-dev-4f2a1c 2026-07-01T09:05:01.000000000Z loading v2",
        "lab/stt-dev-4f2a1c 2026-07-01T09:05:04.000000000Z serving v2",
      ],
      err: [],
    });
    expect((await logs("stt", "--release", "old", "--grep", "^(serving|loading)")).out).toEqual([
      "lab/stt-dev 2026-07-01T09:00:01.500000000Z serving v1",
      "lab/stt-dev 2026-07-01T09:05:03.000000000Z loading shard 2",
    ]);
    expect((await logs("stt", "--release", "sha256:v2", "--grep", "serving")).out).toEqual([
      "lab/stt-dev-4f2a1c 2026-07-01T09:05:04.000000000Z serving v2",
    ]);
    expect(await logs("stt", "--release", "sha256:v9")).toEqual({
      code: EXIT.failure,
      out: [],
      err: ["logs: no container of stt (release sha256:v9) on the hosts read"],
    });
  });

  it("of the switch and of the last push (the newest /gpu-switch apply container)", async () => {
    const sw = await logs("--switch");
    expect(sw.out).toEqual(['lab/gpu-switch-dev 2026-07-01T09:05:04.000000000Z {"msg":"next copy promoted"}']);
    expect(sw.code).toBe(EXIT.unresolved);
    expect((await logs("--push")).out).toEqual([
      "lab/push-new 2026-07-01T09:05:05.000000000Z gpu-switch apply: stt switched",
    ]);
  });

  it("refuses flags that contradict each other or are not what they take, before reading a host", async () => {
    const before = docker.calls().length;
    for (const [args, said] of [
      [["stt", "--switch"], "logs: one scope at a time, not --switch and service stt"],
      [["--push", "--release", "new"], "logs: --release picks a copy of a service, not of the switch or the push"],
      [["nope"], 'logs: unknown service "nope"; services: stt, tts'],
      [["--tail", "0"], "option '--tail <lines>' argument '0' is invalid. a whole number from 1 to 10000"],
      [["--since", "soon"], "a duration such as 10m or 1h30m, or a time such as 2026-07-01T09:05:00Z"],
      [["--grep", "("], "not a regular expression"],
    ] as const) {
      const { code, err } = await logs(...args);
      expect(code, args.join(" ")).toBe(EXIT.usage);
      expect(err.join("\n")).toContain(said);
    }
    expect(docker.calls()).toHaveLength(before);
  });
});
