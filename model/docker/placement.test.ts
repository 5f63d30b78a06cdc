/**
 * Copies on a Docker host (services that declare their memory share their GPUs, `shareGpu: true`, so that only
 * the memory sums are in play): where each copy's GPUs are (automatic, pinned), the problems by key path when they do
 * not fit, what the neighbour stacks take of the GPUs, the fit rule per copy and what plan prints of it.
 */
import { describe, expect, it } from "vitest";
import { buildModel, isOnDocker, placementText, type DeploymentModel, type DockerServiceSpec } from "..";
import { gpuLines } from "../../cli/plan";
import { problems } from "../../test/support/models";

const SWITCH = { image: { repository: "ghcr.io/jim0237/gpu-switch", digest: `sha256:${"b".repeat(64)}` } };
const IMAGE = { repository: "ghcr.io/example/stt", digest: `sha256:${"a".repeat(64)}` };
const DAEMON = "ssh://agnes@10.30.11.45";

/** A host `gpu1` with GPUs of these sizes (GiB), IDs "0", "1", … */
const gpusOf = (...sizes: number[]) => ({
  count: sizes.length,
  devices: sizes.map((memoryGiB, id) => ({ id: String(id), memoryGiB })),
});

/** Stack config with a switch, the host `gpu1` and these services on it (each with an image and a port). */
function config(
  sizes: number[],
  services: Record<string, Record<string, unknown>>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  let port = 8050;
  return {
    switch: SWITCH,
    hosts: { gpu1: { dockerHost: DAEMON, gpus: gpusOf(...sizes) } },
    services: Object.fromEntries(
      Object.entries(services).map(([name, s]) => [
        name,
        { host: "gpu1", image: IMAGE, ports: [{ host: port++, container: 8000 }], ...s },
      ]),
    ),
    ...extra,
  };
}

const build = (raw: unknown, stack = "prod", neighbours?: ReadonlyMap<string, DeploymentModel>) =>
  buildModel(raw, { stack, neighbours });

function service(model: DeploymentModel, name: string): DockerServiceSpec {
  const found = model.services.find((s) => s.name === name);
  if (!found || !isOnDocker(found)) throw new Error(`no Docker service ${name}`);
  return found;
}

describe("automatic placement: each copy on the GPUs with the most free memory", () => {
  it("puts three copies on three empty GPUs, in index order, and says so", () => {
    const stt = service(build(config([24, 24, 24], { stt: { gpus: { memoryGiB: 16 }, replicas: 3 } })), "stt");
    expect(stt.copies).toEqual([
      { index: 0, deviceIds: ["0"] },
      { index: 1, deviceIds: ["1"] },
      { index: 2, deviceIds: ["2"] },
    ]);
    expect(placementText(stt)).toBe("stt: 3 copies: copy 0 → GPU 0, copy 1 → GPU 1, copy 2 → GPU 2");
  });

  it("counts what other services hold (a pinned one on its GPU): ties go to the inventory's order", () => {
    const model = build(
      config([24, 24, 24], {
        tts: { gpus: { deviceIds: ["0"], memoryGiB: 10 } },
        stt: { gpus: { memoryGiB: 8 }, replicas: 2 },
      }),
    );
    expect(service(model, "stt").copies).toEqual([
      { index: 0, deviceIds: ["1"] },
      { index: 1, deviceIds: ["2"] },
    ]);
    expect(gpuLines(model)).toEqual({
      gpu1: [
        "GPU 0: 10 of 24 GiB (tts 10 GiB), 14 GiB free",
        "GPU 1: 8 of 24 GiB (stt copy 0 8 GiB), 16 GiB free",
        "GPU 2: 8 of 24 GiB (stt copy 1 8 GiB), 16 GiB free",
      ],
    });
  });

  it("puts two copies on one GPU where it has the most room, and asks for one GPU of the host", () => {
    const stt = service(build(config([48, 16], { stt: { gpus: { memoryGiB: 16 }, replicas: 2 } })), "stt");
    expect(stt.copies).toEqual([
      { index: 0, deviceIds: ["0"] },
      { index: 1, deviceIds: ["0"] },
    ]);
  });

  it("keeps the copies of a service that does not share its GPUs off a GPU another such service holds", () => {
    const services = (shareGpu: boolean) =>
      config([48, 24], {
        tts: { gpus: { deviceIds: ["0"], memoryGiB: 1 } },
        stt: { gpus: { memoryGiB: 8 }, replicas: 2, shareGpu },
      });
    expect(service(build(services(false)), "stt").copies.map((c) => c.deviceIds)).toEqual([["1"], ["1"]]);
    // Sharing, they go where the memory is.
    expect(service(build(services(true)), "stt").copies.map((c) => c.deviceIds)).toEqual([["0"], ["0"]]);
  });

  it("refuses copies that find no GPU free of services that keep theirs, naming them", () => {
    const raw = config([24, 24], {
      tts: { gpus: { deviceIds: ["0"], memoryGiB: 1 } },
      asr: { gpus: { deviceIds: ["1"], memoryGiB: 1 } },
      stt: { gpus: { memoryGiB: 8 }, replicas: 2 },
    });
    const count =
      'host "gpu1" has 2 GPUs (hosts.gpu1.gpus) but tts, asr, stt ask for 4; set shareGpu: true on services that may share';
    expect(problems(raw)).toEqual([
      'services.stt.replicas: each copy needs 1 GPU that no other service holds for itself, and on host "gpu1" GPU 0 ' +
        "by tts, GPU 1 by asr (none with shareGpu); set shareGpu: true on the services that may share, or pin each " +
        "copy's GPUs with gpus.deviceIds (2 IDs, copy i taking the i-th 1)",
      // Two GPUs each held, and two asked for by the copies: the GPU count says the same.
      `services.tts.gpus: ${count}`,
      `services.asr.gpus: ${count}`,
      `services.stt.gpus: ${count}`,
    ]);
  });

  it("gives each copy gpus.count GPUs", () => {
    const stt = service(
      build(config([24, 24, 24, 24], { stt: { gpus: { count: 2, memoryGiB: 8 }, replicas: 2 } })),
      "stt",
    );
    expect(placementText(stt)).toBe("stt: 2 copies: copy 0 → GPUs 0,1, copy 1 → GPUs 2,3");
  });

  it("counts a service that gives only gpus.count on every GPU it may use", () => {
    const raw = config([24, 24], {
      tts: { gpus: { count: 1, memoryGiB: 6 }, shareGpu: true },
      stt: { gpus: { memoryGiB: 20 }, replicas: 2, shareGpu: true },
    });
    expect(problems(raw)).toEqual([
      "services.stt.replicas: copy 0 of 2 does not fit: it needs 20 GiB on a GPU, and GPU 0, the one with the most " +
        "room, has 18 GiB free of 24 GiB (used by tts 6 GiB); lower services.stt.gpus.memoryGiB or replicas, move a " +
        'service off host "gpu1", or pin each copy\'s GPUs with gpus.deviceIds (2 IDs, copy i taking the i-th 1)',
    ]);
  });

  it("refuses a copy that does not fit, naming the copy and the GPU with the most room", () => {
    const raw = config([24, 16], {
      tts: { gpus: { deviceIds: ["0"], memoryGiB: 10 }, shareGpu: true },
      stt: { gpus: { memoryGiB: 15 }, replicas: 2, shareGpu: true },
    });
    expect(problems(raw)).toEqual([
      "services.stt.replicas: copy 1 of 2 does not fit: it needs 15 GiB on a GPU, and GPU 0, the one with the most " +
        "room, has 14 GiB free of 24 GiB (used by tts 10 GiB); lower services.stt.gpus.memoryGiB or replicas, move a " +
        'service off host "gpu1", or pin each copy\'s GPUs with gpus.deviceIds (2 IDs, copy i taking the i-th 1)',
    ]);
  });

  it("needs the GPUs' memory and the service's: refused naming the missing key and the pinning way out", () => {
    const raw = config([24, 24], { stt: { gpus: { memoryGiB: 8 }, replicas: 2 } });
    (raw.hosts as Record<string, Record<string, unknown>>).gpu1.gpus = {
      count: 2,
      devices: [{ id: "0" }, { id: "1" }],
    };
    expect(problems(raw)).toEqual([
      "services.stt.replicas: 2 copies are placed on the GPUs with the most free memory, and " +
        "hosts.gpu1.gpus.devices[0].memoryGiB is not set: declare it, or pin each copy's GPUs with gpus.deviceIds " +
        "(2 IDs, copy i taking the i-th 1)",
    ]);
  });

  it('refuses "all" GPUs for several copies', () => {
    expect(problems(config([24, 24], { stt: { gpus: { count: "all", memoryGiB: 8 }, replicas: 2 } }))).toEqual([
      'services.stt.gpus.count: "all" cannot be split between 2 copies (replicas): give a number of GPUs per copy, ' +
        "or 2 × k gpus.deviceIds, or set replicas to 1",
    ]);
  });

  it("refuses copies without a switch to share the service's ports", () => {
    const raw = config([24, 24], { stt: { gpus: { memoryGiB: 8 }, replicas: 2 } });
    delete raw.switch;
    expect(problems(raw)).toEqual([
      "services.stt.replicas: 2 copies share the service's ports through the switch, and gpu-services:switch is " +
        "not set: set gpu-services:switch, or set replicas to 1",
    ]);
  });
});

describe("pinned copies: copy i takes the i-th k of gpus.deviceIds", () => {
  it("splits the IDs in order, without memory declared", () => {
    const stt = service(
      build(config([24, 24, 24, 24], { stt: { gpus: { deviceIds: ["3", "2", "1", "0"] }, replicas: 2 } })),
      "stt",
    );
    expect(stt.copies).toEqual([
      { index: 0, deviceIds: ["3", "2"] },
      { index: 1, deviceIds: ["1", "0"] },
    ]);
  });

  it("refuses a list that does not split between the copies, saying which lengths do", () => {
    expect(problems(config([24, 24, 24], { stt: { gpus: { deviceIds: ["0", "1", "2"] }, replicas: 2 } }))).toEqual([
      "services.stt.gpus.deviceIds: lists 3 device IDs for 2 copies (replicas): must list 2 × k of them (2, 4, 6, " +
        "…), copy i taking the i-th k in order",
    ]);
  });

  it("refuses copies that overcommit a GPU where memory is declared", () => {
    expect(
      problems(config([24, 24], { stt: { gpus: { deviceIds: ["0", "0"], memoryGiB: 16 }, replicas: 2 } })),
    ).toEqual([
      "services.stt.replicas: copy 1 of 2 does not fit on GPU 0 (gpus.deviceIds): it needs 16 GiB, and GPU 0 has " +
        "8 GiB free of 24 GiB (used by stt copy 0 16 GiB); lower services.stt.gpus.memoryGiB or replicas, or pin the " +
        "copy on another GPU",
    ]);
  });

  it("keeps one copy as today: no deviceIds in its copy, whatever gpus says", () => {
    const stt = service(build(config([24, 24], { stt: { gpus: { deviceIds: ["1"], memoryGiB: 8 } } })), "stt");
    expect(stt).toMatchObject({ replicas: 1, copies: [{ index: 0 }] });
    expect(placementText(stt)).toBeUndefined();
    expect(gpuLines(build(config([24, 24], { stt: { gpus: { deviceIds: ["1"], memoryGiB: 8 } } })))).toEqual({});
  });
});

describe("copies beside the sharesHostsWith stacks", () => {
  /** Stack "test" on the same daemon: stt's two copies, 16 GiB each, and tts on every GPU (count only), 2 GiB. */
  const neighbour = build(
    config([24, 24, 24], {
      stt: { gpus: { memoryGiB: 16 }, replicas: 2 },
      tts: { gpus: { count: 1, memoryGiB: 2 }, shareGpu: true },
    }),
    "test",
  );
  const ours = (memoryGiB: number) => ({
    ...config([24, 24, 24], {
      asr: { gpus: { memoryGiB }, replicas: 2, shareGpu: true, ports: [{ host: 9000, container: 8000 }] },
    }),
    sharesHostsWith: ["test"],
  });

  it("counts the neighbour's copies on their GPUs and its count-only service on every GPU", () => {
    expect(service(neighbour, "stt").copies).toEqual([
      { index: 0, deviceIds: ["0"] },
      { index: 1, deviceIds: ["1"] },
    ]);
    const asr = service(build(ours(11), "prod", new Map([["test", neighbour]])), "asr");
    // GPU 2 has 22 GiB free; after copy 0 it has 11, still more than GPUs 0 and 1 (6 each).
    expect(asr.copies).toEqual([
      { index: 0, deviceIds: ["2"] },
      { index: 1, deviceIds: ["2"] },
    ]);
  });

  it("refuses a GPU pinned here where a neighbour's copy that keeps its GPU was placed", () => {
    const held = build(config([24, 24, 24], { stt: { gpus: { memoryGiB: 16 }, replicas: 2 } }), "test");
    const raw = {
      ...config([24, 24, 24], { tts: { gpus: { deviceIds: ["1"] }, ports: [{ host: 9100, container: 8000 }] } }),
      sharesHostsWith: ["test"],
    };
    expect(problems(raw, new Map([["test", held]]))).toEqual([
      'services.tts.gpus.deviceIds[0]: GPU "1" on host "gpu1" is already used by test/stt; set shareGpu: true on ' +
        "both to share it",
    ]);
  });

  it("refuses a copy that does not fit beside them, naming what the neighbour holds there", () => {
    expect(problems(ours(12), new Map([["test", neighbour]]))).toEqual([
      "services.asr.replicas: copy 1 of 2 does not fit: it needs 12 GiB on a GPU, and GPU 2, the one with the most " +
        "room, has 10 GiB free of 24 GiB (used by test/tts 2 GiB, asr copy 0 12 GiB); lower " +
        'services.asr.gpus.memoryGiB or replicas, move a service off host "gpu1", or pin each copy\'s GPUs with ' +
        "gpus.deviceIds (2 IDs, copy i taking the i-th 1)",
    ]);
  });
});

describe("the fit rule per copy", () => {
  const healthy = { healthcheck: { test: "true" } };

  it("is blue-green where every copy fits twice on its own GPU, naming the tightest copy", () => {
    const model = build(config([24, 20], { stt: { gpus: { memoryGiB: 10 }, replicas: 2, ...healthy } }));
    expect(service(model, "stt").copies.map((c) => c.deviceIds)).toEqual([["0"], ["1"]]);
    expect(service(model, "stt").release).toMatchObject({
      strategy: "blue-green",
      reason: "stt: blue-green: copy 1: 2 × 10 GiB = 20 GiB ≤ 20 GiB on GPU 1",
    });
  });

  it("is stop-then-start where one copy does not fit twice, naming that copy", () => {
    const model = build(config([24, 16], { stt: { gpus: { memoryGiB: 10 }, replicas: 2, ...healthy } }));
    expect(service(model, "stt").release).toMatchObject({
      strategy: "stop-then-start",
      reason: "stt: stop-then-start: copy 1: 2 × 10 GiB = 20 GiB > 16 GiB on GPU 1",
    });
  });
});
