/**
 * Defects a close read of the model found, each pinned by a test that failed before its fix.
 */
import * as util from "node:util";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { GpuServiceArgs } from "../docker/gpuService";
import { goodConfig } from "../test/support/badConfigs";
import { buildModel } from "./buildModel";
import { StackConfigError } from "../stackConfig";
import type { DeploymentModel } from "./types";
import type { RestartPolicy } from "../formats";

function problems(raw: unknown, neighbours?: ReadonlyMap<string, DeploymentModel | Error>): string[] {
  try {
    buildModel(raw, { stack: "prod", neighbours });
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe("StackConfigError", () => {
  const error = new StackConfigError("prod", [
    {
      path: "services.stt.restart",
      message: 'must be one of no, on-failure, always, unless-stopped (got "sometimes")',
    },
  ]);

  it("prints its message the way Pulumi's language host prints an uncaught error (util.inspect)", () => {
    // @pulumi/pulumi cmd/run/error.js: util.inspect(err, { colors: true }) when err.stack is set.
    const printed = util.inspect(error, { colors: false });
    expect(printed).toContain('StackConfigError: Stack "prod" has 1 config problem');
    expect(printed).toContain(
      '  - services.stt.restart: must be one of no, on-failure, always, unless-stopped (got "sometimes")',
    );
    expect(printed).not.toMatch(/^\[prod\]/);
  });

  it("keeps Error#stack a stack trace and names the stack in stackName", () => {
    expect(error.stack).toMatch(/^StackConfigError: Stack "prod" has 1 config problem/);
    expect(error.stackName).toBe("prod");
  });
});

describe("sharesHostsWith", () => {
  /** A neighbour stack using one GPU of the shared 2-GPU host. */
  function neighbour(): DeploymentModel {
    const theirs = goodConfig();
    delete theirs.services.stt;
    theirs.services.tts.ports = [{ host: 9055, container: 8000 }];
    theirs.services.tts.containerName = "tts-other";
    return buildModel(theirs, { stack: "other" });
  }

  function ours(sharesHostsWith: string[]) {
    const raw = goodConfig();
    delete raw.services.stt; // one GPU here + one there = the host's 2
    raw.sharesHostsWith = sharesHostsWith;
    return raw;
  }

  it("counts a neighbour once: 1 + 1 GPUs fit a 2-GPU host", () => {
    expect(problems(ours(["other"]), new Map([["other", neighbour()]]))).toEqual([]);
  });

  it("refuses a stack listed twice with a clear message, and does not count it twice", () => {
    expect(problems(ours(["other", "other"]), new Map([["other", neighbour()]]))).toEqual([
      'sharesHostsWith[1]: lists stack "other" again (also at sharesHostsWith[0])',
    ]);
  });
});

describe("endpointPort", () => {
  const withPorts = (ports: object[], endpointPort?: number) => {
    const raw = goodConfig();
    raw.services.tts.ports = ports;
    if (endpointPort !== undefined) raw.services.tts.endpointPort = endpointPort;
    return raw;
  };

  it("picks the tcp mapping of a container port published over udp and tcp", () => {
    const raw = withPorts(
      [
        { host: 9000, container: 8000, protocol: "udp" },
        { host: 8055, container: 8000, protocol: "tcp" },
      ],
      8000,
    );
    const tts = buildModel(raw, { stack: "prod" }).services.find((s) => s.name === "tts")!;
    expect(tts.endpoint).toEqual({ host: 8055, container: 8000, protocol: "tcp", hostIp: "0.0.0.0" });
  });

  it("refuses an endpointPort published over udp only", () => {
    const raw = withPorts([{ host: 9000, container: 8000, protocol: "udp" }], 8000);
    expect(problems(raw)).toEqual([
      "services.tts.endpointPort: container port 8000 is published over udp only; the endpoint is an http URL and needs a tcp port",
    ]);
  });

  it("without endpointPort, the first tcp port is the endpoint even after a udp one", () => {
    const raw = withPorts([
      { host: 9000, container: 7000, protocol: "udp" },
      { host: 8055, container: 8000 },
    ]);
    expect(buildModel(raw, { stack: "prod" }).services.find((s) => s.name === "tts")!.endpoint?.host).toBe(8055);
  });
});

// Type-level: vitest runs these as no-ops; `npm run typecheck` (tsc over every .ts, run in CI) checks them.
describe("GpuServiceArgs", () => {
  it("keeps the model's types: restart is a restart policy, not any string", () => {
    expectTypeOf<GpuServiceArgs["restart"]>().toEqualTypeOf<RestartPolicy>();
    expectTypeOf<GpuServiceArgs["ports"]>().toEqualTypeOf<DeploymentModel["services"][number]["ports"]>();
  });
});

describe("stack files as the Pulumi CLI writes them", () => {
  it("reads a quoted top-level scalar as the engine hands it to the program (JSON where it is JSON)", async () => {
    const { parseStackText } = await import("../stackConfig/read");
    // `pulumi config set --path …` rewrites the file and quotes top-level scalars: `requirePinnedImages: "true"`.
    const raw = parseStackText(
      'config:\n  gpu-services:requirePinnedImages: "true"\n  gpu-services:note: "010"\n  gpu-services:sharesHostsWith: "[\\"test\\"]"\n',
    );
    expect(raw.values).toEqual({ requirePinnedImages: true, note: "010", sharesHostsWith: ["test"] });
  });
});
