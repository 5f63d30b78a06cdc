/**
 * Progress lines as a pipe gets them (the terminal's live list is read in test/docker/terminal.test.ts): one
 * plain line per change, each naming its item; a failed step marks its items failed and throws on.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { streamProgress } from "./progress";
import { waitForReady } from "./statusWait";
import { labModel, NGINX } from "../test/support/models";

/** A stream that is not a terminal, keeping what it was sent. */
function pipe(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

describe("progress, piped", () => {
  it("prints a plain line per step, naming its item, and the result it was given", async () => {
    const { stream, text } = pipe();
    const result = await streamProgress(stream, false)(["host a", "host b"], async (lines) => {
      lines.update("host a", "check ssh");
      lines.update("host b", "check ssh");
      await new Promise((resolve) => setTimeout(resolve, 20));
      lines.update("host a", "check ports");
      lines.done("host a", "11 checks");
      lines.done("host b", "not reachable");
      return 42;
    });
    expect(result).toBe(42);
    const lines = text().trimEnd().split("\n");
    expect(lines).not.toContain(expect.stringContaining("\u001b"));
    expect(new Set(lines)).toEqual(
      new Set([
        "❯ host a",
        "❯ host b",
        "› host a: check ssh",
        "› host b: check ssh",
        "› host a: check ports",
        "✔ host a: 11 checks",
        "✔ host b: not reachable",
      ]),
    );
    expect(lines.indexOf("› host a: check ssh")).toBeLessThan(lines.indexOf("› host a: check ports"));
  });

  it.each([
    ["piped", false],
    ["live", true],
  ])("%s: throws the work's error when it fails at once, before any item's task has started", async (_, live) => {
    const { stream } = pipe();
    // listr2's live renderer marks this process's stdout and stderr as terminals (forceTTY): put them back after.
    const tty = [process.stdout.isTTY, process.stderr.isTTY];
    try {
      const work = streamProgress(stream, live)(["one.yaml", "two.yaml"], async () => {
        throw new Error("say which host with --host");
      });
      await expect(work).rejects.toThrow("say which host with --host");
      // An unhandled rejection would fail this file; give one a turn of the event loop to show up.
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      [process.stdout.isTTY, process.stderr.isTTY] = tty;
    }
  });

  it("marks every open item failed when the work throws, and throws the work's error", async () => {
    const { stream, text } = pipe();
    const work = streamProgress(stream, false)(["one.yaml"], async (lines) => {
      lines.update("one.yaml", "service 1 of 2: web");
      throw new Error("services.web.ports: bad");
    });
    await expect(work).rejects.toThrow("services.web.ports: bad");
    expect(text()).toContain("✖ one.yaml");
  });
});

describe("status --wait", () => {
  const model = labModel({ web: { image: NGINX } });
  type Report = Awaited<ReturnType<Parameters<typeof waitForReady>[1]>>;
  const report = (attention: string[]): Report =>
    ({
      result: attention.length === 0 ? "ok" : "attention",
      services: [{ name: "web", attention }],
    }) as unknown as Report;

  it("reads again until every service is ready, showing what each still waits for", async () => {
    const reads = [report(["web: starting"]), report(["web: endpoint does not answer"]), report([])];
    const said: string[] = [];
    const last = await waitForReady(
      model,
      async () => reads.shift()!,
      { update: (item, what) => said.push(`${item}: ${what}`), done: (item, what) => said.push(`${item} ${what}`) },
      { waitMs: 10_000, timeoutMs: 1000, intervalMs: 1 },
    );
    expect(last.result).toBe("ok");
    expect(said).toEqual(["web: web: starting", "web: web: endpoint does not answer", "web ready"]);
  });

  it("gives the last read when the time is up", async () => {
    let reads = 0;
    const last = await waitForReady(
      model,
      async () => (reads++, report(["web: unhealthy"])),
      { update() {}, done() {} },
      { waitMs: 50, timeoutMs: 1000, intervalMs: 10 },
    );
    expect(last.result).toBe("attention");
    expect(reads).toBeGreaterThan(1);
  });
});
