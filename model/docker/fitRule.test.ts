/**
 * The fit rule (design §8) through buildModel: which strategy each service gets and why, in tables; the greedy
 * invariant; neighbours from the real stack files; and every refusal of an explicit blue-green.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { StackConfigError } from "../../stackConfig";
import { buildModel } from "../buildModel";
import { loadStackModel } from "../load";
import type { DeploymentModel } from "../types";
import { tempDir } from "../../test/support/gitRepos";
import { PROJECT_DIR } from "../../test/support/harness";

const SWITCH = { image: { repository: "127.0.0.1:5000/gpu-switch", tag: "v1" } };
const HEALTH = { test: "true" };
const gpu16 = (...ids: string[]) => ({ count: ids.length, devices: ids.map((id) => ({ id, memoryGiB: 16 })) });

interface Stack {
  readonly services: Record<string, Record<string, unknown>>;
  /** The host's `gpus`; `null`: not declared. */
  readonly hostGpus?: unknown;
  readonly withSwitch?: boolean;
}

/**
 * One host `gpu1` (unix socket), a switch unless said otherwise, and these services on it with a healthcheck,
 * sharing the GPUs (the GPU count check does not get in the way of the memory sums).
 */
function config({ services, hostGpus = gpu16("0"), withSwitch = true }: Stack): Record<string, unknown> {
  return {
    hosts: { gpu1: { dockerHost: "unix:///var/run/docker.sock", ...(hostGpus ? { gpus: hostGpus } : {}) } },
    ...(withSwitch ? { switch: SWITCH } : {}),
    services: Object.fromEntries(
      Object.entries(services).map(([name, s]) => [
        name,
        { host: "gpu1", image: { repository: "nginx", tag: "1.27" }, healthcheck: HEALTH, shareGpu: true, ...s },
      ]),
    ),
  };
}

const model = (stack: Stack) => buildModel(config(stack), { stack: "dev" });
const reasons = (m: DeploymentModel) => m.services.map((s) => s.release.reason);

function problemsOf(stack: Stack): string[] {
  try {
    model(stack);
  } catch (e) {
    if (e instanceof StackConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  throw new Error("expected a StackConfigError");
}

describe("the fit rule: one reason per service", () => {
  const cases: readonly { name: string; stack: Stack; reasons: string[] }[] = [
    {
      name: "the design's example: the first in order doubles, the second no longer fits beside it",
      stack: { services: { stt: { gpus: { memoryGiB: 5 } }, tts: { gpus: { memoryGiB: 6 } } } },
      reasons: [
        "stt: blue-green: 2 × 5 GiB + tts 6 GiB = 16 GiB ≤ 16 GiB on GPU 0",
        "tts: stop-then-start: 2 × 6 GiB + stt 2 × 5 GiB = 22 GiB > 16 GiB on GPU 0",
      ],
    },
    {
      name: "the issue's example: a stop-then-start neighbour counts once",
      stack: {
        services: {
          stt: { gpus: { memoryGiB: 5 }, release: { strategy: "stop-then-start" } },
          tts: { gpus: { memoryGiB: 6 } },
        },
      },
      reasons: [
        "stt: stop-then-start: asked for (services.stt.release.strategy)",
        "tts: stop-then-start: 2 × 6 GiB + stt 5 GiB = 17 GiB > 16 GiB on GPU 0",
      ],
    },
    {
      name: "deviceIds: each service counts only on its own GPU",
      stack: {
        hostGpus: gpu16("0", "1"),
        services: {
          stt: { gpus: { deviceIds: ["0"], memoryGiB: 5 } },
          tts: { gpus: { deviceIds: ["1"], memoryGiB: 6 } },
        },
      },
      reasons: [
        "stt: blue-green: 2 × 5 GiB = 10 GiB ≤ 16 GiB on GPU 0",
        "tts: blue-green: 2 × 6 GiB = 12 GiB ≤ 16 GiB on GPU 1",
      ],
    },
    {
      name: "count 1 of 2 GPUs: the runtime picks, so the service counts on every GPU, and the reason says how to prove it",
      stack: {
        hostGpus: gpu16("0", "1"),
        services: { stt: { gpus: { count: 1, memoryGiB: 5 } }, tts: { gpus: { deviceIds: ["1"], memoryGiB: 6 } } },
      },
      reasons: [
        "stt: blue-green: 2 × 5 GiB + tts 6 GiB = 16 GiB ≤ 16 GiB on GPU 1",
        "tts: stop-then-start: 2 × 6 GiB + stt 2 × 5 GiB = 22 GiB > 16 GiB on GPU 1 (services.stt.gpus.count: " +
          "gpus.count does not say which GPU; give gpus.deviceIds to prove the fit)",
      ],
    },
    {
      name: 'count equal to the host\'s, and "all": every GPU, with no note',
      stack: {
        hostGpus: gpu16("0", "1"),
        services: { stt: { gpus: { count: 2, memoryGiB: 7 } }, tts: { gpus: { count: "all", memoryGiB: 2 } } },
      },
      reasons: [
        "stt: blue-green: 2 × 7 GiB + tts 2 GiB = 16 GiB ≤ 16 GiB on GPU 0",
        "tts: stop-then-start: 2 × 2 GiB + stt 2 × 7 GiB = 18 GiB > 16 GiB on GPU 0",
      ],
    },
    {
      name: "no switch: every service stop-then-start, as today",
      stack: { withSwitch: false, services: { stt: { gpus: { memoryGiB: 5 } }, web: {} } },
      reasons: [
        "stt: stop-then-start: no switch: gpu-services:switch is not set",
        "web: stop-then-start: no switch: gpu-services:switch is not set",
      ],
    },
    {
      name: "no healthcheck: nothing to wait for before traffic moves",
      stack: { services: { stt: { gpus: { memoryGiB: 5 }, healthcheck: undefined } } },
      reasons: [
        "stt: stop-then-start: no healthcheck: services.stt.healthcheck is not set (blue-green waits for a healthy copy)",
      ],
    },
    {
      name: "no GPU: nothing to fit",
      stack: { hostGpus: null, services: { web: {} } },
      reasons: ["web: blue-green: no GPU"],
    },
    {
      name: "the service's memory is not declared",
      stack: { services: { stt: { gpus: {} } } },
      reasons: ["stt: stop-then-start: memory not declared: services.stt.gpus.memoryGiB is not set"],
    },
    {
      name: "the host's GPUs are not declared",
      stack: { hostGpus: null, services: { stt: { gpus: { memoryGiB: 5 } } } },
      reasons: ["stt: stop-then-start: memory not declared: hosts.gpu1.gpus.devices is not set"],
    },
    {
      name: "the host's GPUs are only counted",
      stack: { hostGpus: 1, services: { stt: { gpus: { memoryGiB: 5 } } } },
      reasons: ["stt: stop-then-start: memory not declared: hosts.gpu1.gpus.devices is not set"],
    },
    {
      name: "a device's memory is not declared",
      stack: {
        hostGpus: { count: 2, devices: [{ id: "0", memoryGiB: 16 }, { id: "1" }] },
        services: { stt: { gpus: { memoryGiB: 5 } } },
      },
      reasons: ["stt: stop-then-start: memory not declared: hosts.gpu1.gpus.devices[1].memoryGiB is not set"],
    },
    {
      name: "a service on the same GPU does not declare its memory",
      stack: { services: { stt: { gpus: { memoryGiB: 5 } }, tts: { gpus: {} } } },
      reasons: [
        "stt: stop-then-start: memory not declared: services.tts.gpus.memoryGiB is not set",
        "tts: stop-then-start: memory not declared: services.tts.gpus.memoryGiB is not set",
      ],
    },
    {
      name: "an explicit blue-green that fits counts twice from the start, before any auto in order",
      stack: {
        services: {
          asr: { gpus: { memoryGiB: 4 } },
          zed: { gpus: { memoryGiB: 5 }, release: { strategy: "blue-green" } },
        },
      },
      reasons: [
        "asr: stop-then-start: 2 × 4 GiB + zed 2 × 5 GiB = 18 GiB > 16 GiB on GPU 0",
        "zed: blue-green: 2 × 5 GiB + asr 4 GiB = 14 GiB ≤ 16 GiB on GPU 0",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const m = model(c.stack);
      expect(reasons(m)).toEqual(c.reasons);
      for (const s of m.services) expect(s.release.reason.startsWith(`${s.name}: ${s.release.strategy}: `)).toBe(true);
    });
  }

  it("keeps what the config asks for and the drain time beside the resolved strategy", () => {
    const m = model({ services: { stt: { gpus: { memoryGiB: 5 }, release: { drainSeconds: 5 } } } });
    expect(m.services[0].release).toEqual({
      requested: "auto",
      strategy: "blue-green",
      reason: "stt: blue-green: 2 × 5 GiB = 10 GiB ≤ 16 GiB on GPU 0",
      drainSeconds: 5,
    });
    expect(m.switch).toEqual({
      image: {
        kind: "registry",
        repository: "127.0.0.1:5000/gpu-switch",
        tag: "v1",
        track: false,
        ref: "127.0.0.1:5000/gpu-switch:v1",
      },
      holdSeconds: 10,
      streamCloseDelay: "1h",
      dockerSocket: "/var/run/docker.sock",
    });
  });
});

describe("the greedy invariant: all blue-green services doubled at once still fit", () => {
  it("two services on a GPU that holds three copies: one blue-green, never four copies (issue e2e step e)", () => {
    const m = model({
      hostGpus: { count: 1, devices: [{ id: "0", memoryGiB: 15 }] },
      services: { a: { gpus: { memoryGiB: 5 } }, b: { gpus: { memoryGiB: 5 } } },
    });
    expect(m.services.map((s) => s.release.strategy)).toEqual(["blue-green", "stop-then-start"]);
    expect(reasons(m)[1]).toBe("b: stop-then-start: 2 × 5 GiB + a 2 × 5 GiB = 20 GiB > 15 GiB on GPU 0");
  });

  // Sizes and placements over two 16 GiB GPUs: whatever the mix, the final set fits with every blue-green doubled.
  const sizes = [1, 3, 4.5, 5, 6, 8];
  const placements = [{ deviceIds: ["0"] }, { deviceIds: ["1"] }, { count: 1 }, { count: "all" }];
  function mix(seed: number): Record<string, Record<string, unknown>> {
    const services: Record<string, Record<string, unknown>> = {};
    for (let i = 0; i < 2 + (seed % 4); i++) {
      const strategy = (seed + i) % 5 === 0 ? { release: { strategy: "stop-then-start" } } : {};
      services[`s${i}`] = {
        gpus: { ...placements[(seed * 7 + i * 3) % 4], memoryGiB: sizes[(seed * 5 + i) % 6] },
        shareGpu: true,
        ...strategy,
      };
    }
    return services;
  }

  it("48 mixes of sizes, placements and strategies: never more than a GPU holds (unless it is full at one copy each)", () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 48; seed++) {
      const m = model({ hostGpus: gpu16("0", "1"), services: mix(seed) });
      for (const device of ["0", "1"]) {
        const there = m.services.filter((s) => !s.gpus!.deviceIds || s.gpus!.deviceIds.includes(device));
        const sum = there.reduce((t, s) => t + (s.release.strategy === "blue-green" ? 2 : 1) * s.gpus!.memoryGiB!, 0);
        const baseline = there.reduce((t, s) => t + s.gpus!.memoryGiB!, 0);
        // Where everyone once already overfills the GPU, nobody may double on it.
        expect(sum <= 16 || sum === baseline, `mix ${seed}, GPU ${device}: ${sum} GiB`).toBe(true);
      }
      for (const s of m.services)
        seen.add(s.release.reason.includes(" ≤ ") ? "fits" : s.release.reason.includes(" > ") ? "does not fit" : "-");
    }
    // The mixes reach both outcomes of the sum, or the test would prove nothing.
    expect([...seen].sort()).toEqual(["-", "does not fit", "fits"]);
  });
});

describe("neighbour stacks (the real stack files, with a switch and the memory declared)", () => {
  const REAL = (name: string) => fs.readFileSync(path.join(PROJECT_DIR, name), "utf8");
  const withSwitchAndGpu = (s: string) =>
    s
      .replace(
        /      # gpus.memoryGiB not declared[^\n]*\n      gpus:\n        count: 1\n/g,
        "      gpus:\n        count: 1\n        memoryGiB: 3\n",
      )
      // One GPU for the three services: they share it (the GPU count check, model/docker/hostChecks.ts).
      .replace(/\n      gpus:\n/g, "\n      shareGpu: true\n      gpus:\n")
      .replace(
        "      address: 10.30.11.45\n",
        '      address: 10.30.11.45\n      gpus:\n        count: 1\n        devices: [{id: "0", memoryGiB: 16}]\n',
      )
      .replace(
        "  gpu-services:hosts:\n",
        "  gpu-services:switch:\n    image: {repository: ghcr.io/jim0237/gpu-switch, digest: " +
          `"sha256:${"a".repeat(64)}"}\n  gpu-services:hosts:\n`,
      );

  function project(): string {
    const dir = tempDir("fit");
    for (const stack of ["prod", "test"]) {
      fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), withSwitchAndGpu(REAL(`Pulumi.${stack}.yaml`)));
    }
    return dir;
  }

  it("counts the other stack's services on the shared GPU, and both stacks reach the same assignment", () => {
    const dir = project();
    const prod = loadStackModel("prod", dir);
    const test = loadStackModel("test", dir);
    expect(reasons(prod)).toEqual([
      "stt: blue-green: 2 × 5 GiB + tts 3 GiB + test/tts 3 GiB = 16 GiB ≤ 16 GiB on GPU 0",
      "tts: stop-then-start: 2 × 3 GiB + stt 2 × 5 GiB + test/tts 3 GiB = 19 GiB > 16 GiB on GPU 0",
    ]);
    // Sorted by (stack, service) from either side: prod's stt, prod's tts, then test's tts.
    expect(reasons(test)).toEqual([
      "tts: stop-then-start: 2 × 3 GiB + prod/stt 2 × 5 GiB + prod/tts 3 GiB = 19 GiB > 16 GiB on GPU 0",
    ]);
  });

  it("names the neighbour's key when its memory is not declared", () => {
    const dir = project();
    fs.writeFileSync(
      path.join(dir, "Pulumi.test.yaml"),
      fs.readFileSync(path.join(dir, "Pulumi.test.yaml"), "utf8").replace("        memoryGiB: 3\n", ""),
    );
    expect(reasons(loadStackModel("prod", dir))).toEqual([
      'stt: stop-then-start: memory not declared: services.tts.gpus.memoryGiB of stack "test" is not set',
      'tts: stop-then-start: memory not declared: services.tts.gpus.memoryGiB of stack "test" is not set',
    ]);
  });
});

describe("an explicit blue-green that cannot be honoured is a config error", () => {
  const bg = { release: { strategy: "blue-green" } };
  it("without a healthcheck, naming the key", () => {
    expect(problemsOf({ services: { stt: { gpus: { memoryGiB: 5 }, healthcheck: undefined, ...bg } } })).toEqual([
      "services.stt.release.strategy: blue-green needs a healthcheck: set services.stt.healthcheck (traffic moves " +
        "only to a healthy copy), or set it to auto or stop-then-start",
    ]);
  });

  it("without a switch, naming the key", () => {
    expect(problemsOf({ withSwitch: false, services: { web: bg } })).toEqual([
      "services.web.release.strategy: blue-green needs a switch: set gpu-services:switch (it moves traffic between " +
        "the copies), or set it to auto or stop-then-start",
    ]);
  });

  it("whose fit is not proven, with the sum; every problem at once", () => {
    expect(
      problemsOf({ services: { stt: { gpus: { memoryGiB: 9 }, ...bg }, tts: { gpus: { memoryGiB: 6 }, ...bg } } }),
    ).toEqual([
      "services.stt.release.strategy: blue-green does not fit two copies: 2 × 9 GiB + tts 2 × 6 GiB = 30 GiB > 16 GiB " +
        "on GPU 0; every blue-green service counts twice, as two may be released in one up; lower the memory, move " +
        "a service, or set it to auto or stop-then-start",
      "services.tts.release.strategy: blue-green does not fit two copies: 2 × 6 GiB + stt 2 × 9 GiB = 30 GiB > 16 GiB " +
        "on GPU 0; every blue-green service counts twice, as two may be released in one up; lower the memory, move " +
        "a service, or set it to auto or stop-then-start",
    ]);
  });

  it("whose memory is not declared", () => {
    expect(problemsOf({ services: { stt: { gpus: {}, ...bg } } })).toEqual([
      "services.stt.release.strategy: blue-green cannot be proven to fit two copies: services.stt.gpus.memoryGiB is " +
        "not set; declare it, or set it to auto or stop-then-start",
    ]);
  });

  it("a udp port behind a switch", () => {
    expect(problemsOf({ services: { web: { ports: [{ host: 5353, container: 53, protocol: "udp" }] } } })).toEqual([
      "services.web.ports[0].protocol: udp cannot be published behind gpu-services:switch, which proxies HTTP over " +
        "tcp only; use tcp, or deploy this service from a stack without a switch",
    ]);
  });
});
