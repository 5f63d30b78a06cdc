/** The shared formats: key paths, Docker host addresses, durations. */
import { describe, expect, it } from "vitest";
import { addressOf } from "./addresses";
import { durationSeconds } from "./durations";
import { appendPath, formatPath } from "./keyPaths";

describe("formats", () => {
  it("formats key paths as people write them", () => {
    expect(formatPath(["services", "stt", "ports", 0, "host"])).toBe("services.stt.ports[0].host");
    expect(formatPath(["services", "tts", "env", "1BAD"])).toBe('services.tts.env["1BAD"]');
    expect(formatPath([])).toBe("");
  });

  it("appends one segment as formatPath writes it (compose's key paths are built this way)", () => {
    expect(appendPath("services.a", "node.name")).toBe('services.a["node.name"]');
    expect(appendPath(appendPath("services.a.ports", 0), "host")).toBe("services.a.ports[0].host");
    expect(appendPath("", "services")).toBe("services");
  });

  it("derives the client address from the Docker host URI", () => {
    expect(addressOf("ssh://agnes@10.30.11.45")).toBe("10.30.11.45");
    expect(addressOf("ssh://gpu.lan:2222")).toBe("gpu.lan");
    expect(addressOf("tcp://[fd00::5]:2376")).toBe("[fd00::5]");
    expect(addressOf("unix:///var/run/docker.sock")).toBe("localhost");
  });

  it("reads Docker durations", () => {
    expect(durationSeconds("30s")).toBe(30);
    expect(durationSeconds("1m30s")).toBe(90);
    expect(durationSeconds("500ms")).toBe(0.5);
    expect(durationSeconds("1h")).toBe(3600);
  });

  it("refuses what is not a whole duration instead of reading part of it: 10, abc, 1m30, 30 s", () => {
    for (const text of ["10", "abc", "1m30", "30 s", ""]) {
      expect(() => durationSeconds(text), text).toThrow(`"${text}" is not a duration such as 30s, 1m30s or 500ms`);
    }
  });
});
