/**
 * The traffic tool itself, against a local node:http server that is stopped and started again under load, so
 * that it has something to fail on.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  figures,
  firstAnswerFrom,
  isGood,
  now,
  releasesSeen,
  startTraffic,
  steadyAndDuring,
  type Answer,
} from "./probe";

/** A server that answers like the web image's release CGI; `readBytes` lets it lie about the body it read. */
function serve(release: string, port = 0, readBytes?: number): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    let bytes = 0;
    request.on("data", (chunk: Buffer) => (bytes += chunk.length));
    request.on("end", () => {
      const lines = [release];
      if (request.method === "POST") lines.push(`received ${readBytes ?? bytes} bytes`);
      response.end(`${lines.join("\n")}\n`);
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

function stopServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) if (server.listening) await stopServer(server);
});

describe("startTraffic", () => {
  it("sends a GET every 20 ms and POSTs of 8 KiB on kept-alive connections, recording the release", async () => {
    const server = await serve("v1");
    servers.push(server);
    const { port } = server.address() as AddressInfo;
    const started = performance.now();
    const traffic = startTraffic(`http://127.0.0.1:${port}/cgi-bin/release`);
    await sleep(1000);
    const stopping = performance.now();
    const answers = await traffic.stop();
    const gets = answers.filter((a) => a.kind === "get");
    const posts = answers.filter((a) => a.kind === "post");
    // About 1 s at one GET per 20 ms, on two busy cores: at least 30, and no more than one per 20 ms of the time
    // until stop was called (the sleep may end late, so the bound is the time measured, not 1 s).
    expect(gets.length).toBeGreaterThanOrEqual(30);
    expect(gets.length).toBeLessThanOrEqual(Math.floor((stopping - started + 1) / 20) + 1);
    expect(posts.length).toBeGreaterThan(10);
    expect(answers.every(isGood)).toBe(true);
    expect(new Set(answers.map((a) => a.release))).toEqual(new Set(["v1"]));
    // Keep-alive: one connection per loop, every request after the first reuses it.
    expect(gets.slice(1).every((a) => a.reused)).toBe(true);
    expect(posts.slice(1).every((a) => a.reused)).toBe(true);
    expect(gets[0].reused).toBe(false);
    const all = figures(answers);
    expect(all.failures).toBe(0);
    expect(all.longestGapMs).toBeLessThan(500);
    expect(all.p50Ms).toBeGreaterThan(0);
    expect(all.p99Ms).toBeGreaterThanOrEqual(all.p50Ms);
  });

  it("records the refused requests while the server is away, the gap, and the release after it", async () => {
    const first = await serve("v1");
    servers.push(first);
    const { port } = first.address() as AddressInfo;
    const traffic = startTraffic(`http://127.0.0.1:${port}/cgi-bin/release`);
    await sleep(500);
    const down = now();
    await stopServer(first);
    await sleep(600);
    const second = await serve("v2", port);
    servers.push(second);
    const back = now();
    await sleep(500);
    const answers = await traffic.stop();

    // A request in flight when the server went away is cut (a reset): it belongs to the window.
    const window = { from: down - 100, to: back };
    const split = steadyAndDuring(answers, window);
    expect(split.all.steady.failures).toBe(0);
    expect(split.get.during.failures).toBeGreaterThan(5);
    expect(split.post.during.failures).toBeGreaterThan(0);
    // The GETs had no good answer for the whole 600 ms.
    expect(split.get.during.longestGapMs).toBeGreaterThanOrEqual(590);
    expect(split.get.steady.longestGapMs).toBeLessThan(590);
    const failed = answers.filter((a) => !isGood(a));
    expect(failed.every((a) => a.sent >= window.from && a.sent <= back)).toBe(true);
    expect(new Set(failed.map((a) => a.error))).toContain("ECONNREFUSED");

    const v2 = firstAnswerFrom(answers, "v2")!;
    expect(v2.sent).toBeGreaterThanOrEqual(down);
    expect(answers.filter((a) => a.sent > v2.ended).every((a) => a.release === "v2")).toBe(true);
    expect(releasesSeen(answers)).toMatch(/^v1 ×\d+, v2 ×\d+$/);
  });

  it("counts a POST whose body the server did not read in full as failed", async () => {
    const server = await serve("v1", 0, 10);
    servers.push(server);
    const { port } = server.address() as AddressInfo;
    const traffic = startTraffic(`http://127.0.0.1:${port}/`);
    await sleep(200);
    const answers = await traffic.stop();
    expect(answers.filter((a) => a.kind === "get").every(isGood)).toBe(true);
    const posts = answers.filter((a) => a.kind === "post");
    expect(posts.length).toBeGreaterThan(0);
    expect(posts.every((a) => a.error === 'the POST body was not read in full: "received 10 bytes"')).toBe(true);
  });

  it("goes to loopback only", () => {
    expect(() => startTraffic("http://10.30.11.45:8055/")).toThrow("traffic only goes to loopback, not 10.30.11.45");
  });
});

describe("figures", () => {
  const answer = (sent: number, ended: number, error?: string): Answer => ({
    kind: "get",
    sent,
    ended,
    reused: true,
    ...(error ? { error } : { status: 200, release: "v1" }),
  });

  it("takes the longest stretch between good answers, with the range edges, and nearest-rank percentiles", () => {
    const answers = [
      answer(0, 10),
      answer(20, 30),
      answer(40, 41, "ECONNREFUSED"),
      answer(60, 61, "ECONNREFUSED"),
      answer(80, 200),
      answer(220, 225),
    ];
    expect(figures(answers)).toEqual({
      requests: 6,
      failures: 2,
      longestGapMs: 170,
      p50Ms: 10,
      p99Ms: 120,
      maxMs: 120,
    });
    // Only what was sent in [0, 50): the gap runs from the last good end (30) to the range's end.
    expect(figures(answers, [{ from: 0, to: 50 }])).toMatchObject({ requests: 3, failures: 1, longestGapMs: 20 });
  });
});
