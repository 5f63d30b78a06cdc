import { afterEach, describe, expect, it, vi } from "vitest";
import { EXIT } from "../release/errors";
import { main } from "./plan";

describe("plan", () => {
  afterEach(() => vi.restoreAllMocks());

  function capture(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(console, "log").mockImplementation((s: string) => void out.push(s));
    vi.spyOn(console, "error").mockImplementation((s: string) => void err.push(s));
    const code = main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("prints the real stacks' desired state as JSON from the same model the program uses", () => {
    const { code, out } = capture(["--stack", "prod", "test", "--json"]);
    expect(code).toBe(0);
    const plans = JSON.parse(out);
    expect(plans.map((p: { stack: string }) => p.stack)).toEqual(["prod", "test"]);
    expect(plans[0].services[0]).toEqual({
      service: "stt",
      host: "gpu-server",
      container: "stt-prod",
      image: "build https://github.com/jim0237/STT-API-Server.git#cf2f45fd9df5a67ce52ebf996c8163cd94202952",
      ports: "8060->8000/tcp",
      gpus: "1",
      volumes: "stt-service_stt_models:/app/models (external) stt-service_stt_cache:/app/cache (external)",
      binds: "/home/agnes/voice-notes:/app/vnotes",
      healthcheck: "CMD curl -f http://localhost:8000/health",
    });
    expect(plans[1].services.map((s: { ports: string }) => s.ports)).toEqual(["8056->8000/tcp"]);
  });

  it("fails with EXIT.usage and names the stacks that exist for an unknown stack", () => {
    const { code, err } = capture(["--stack", "staging"]);
    expect(code).toBe(EXIT.usage);
    expect(err).toBe('plan: unknown stack "staging": no Pulumi.staging.yaml; stacks: prod, test');
  });
});
