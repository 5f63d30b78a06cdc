/**
 * How a compose service's fields come over to the deployed service, as compose-go reads them: strict durations,
 * compose's defaults (restart, stop grace period), GPUs shared on purpose, the CPU limit, and FROM_COMPOSE's account
 * of every field.
 */
import { describe, expect, it } from "vitest";
import { project, imp, modelOf } from "../test/support/composeProjects";
import { CARRIED, FROM_COMPOSE } from "./import";

describe("compose durations, strictly", () => {
  const grace = (value: string) =>
    imp(project({ "compose.yaml": `services:\n  a:\n    image: x/a:1\n    stop_grace_period: ${value}\n` }));

  it("takes Go durations as compose does: 1m30s, 500ms, 2h, 0", () => {
    expect(grace("1m30s").services.a.config.stopGraceSeconds).toBe(90);
    expect(grace("2m").services.a.config.stopGraceSeconds).toBe(120);
    expect(grace('"0"').services.a.config.stopGraceSeconds).toBe(0);
  });

  it("refuses what compose refuses, naming the key path: a number without unit, a unit missing at the end, words", () => {
    for (const bad of ['"10"', "10", '"abc"', '"1m30"', '"-5s"', '""']) {
      expect(() => grace(bad), bad).toThrow(
        /^services\.a\.stop_grace_period: .* is not a compose duration \(a number and a unit: 10s, 1m30s, 500ms\)$/,
      );
    }
    expect(() =>
      imp(
        project({
          "compose.yaml": "services:\n  a:\n    image: x/a:1\n    healthcheck: {test: [CMD, 'true'], interval: '30'}\n",
        }),
      ),
    ).toThrow('services.a.healthcheck.interval: "30" is not a compose duration');
  });

  it("a part of a second is cut as compose cuts it, and said", () => {
    const r = grace("1500ms");
    expect(r.services.a.config.stopGraceSeconds).toBe(1);
    expect(r.warnings).toContain("services.a.stop_grace_period: 1500ms is taken as 1 s (Docker takes whole seconds)");
  });

  it("without stop_grace_period, compose's 10 s, not the stack's 30 s", () => {
    const r = imp(project({ "compose.yaml": "services:\n  a:\n    image: x/a:1\n" }));
    expect(r.services.a.config.stopGraceSeconds).toBe(10);
    expect(modelOf(r).services[0].stopGraceSeconds).toBe(10);
  });
});

describe("restart as compose runs it", () => {
  const restartOf = (svc: string) => {
    const r = imp(project({ "compose.yaml": `services:\n  a:\n    image: x/a:1\n${svc}` }));
    return { restart: modelOf(r).services[0].restart, warnings: r.warnings };
  };

  it("without restart: compose's no, whatever the stack's default", () => {
    expect(restartOf("").restart).toBe("no");
  });

  it("deploy.restart_policy is what compose v2 runs, over restart: (its conditions mapped to Docker's policies)", () => {
    expect(restartOf("    deploy: {restart_policy: {condition: any}}\n").restart).toBe("always");
    expect(restartOf("    deploy: {restart_policy: {condition: none}}\n").restart).toBe("no");
    expect(restartOf("    restart: always\n    deploy: {restart_policy: {condition: on-failure}}\n").restart).toBe(
      "on-failure",
    );
    const limited = restartOf("    deploy: {restart_policy: {condition: on-failure, max_attempts: 3, delay: 5s}}\n");
    expect(limited.restart).toBe("on-failure");
    expect(limited.warnings).toEqual([
      "services.a.deploy.restart_policy.max_attempts: the retry limit 3 is not carried over",
      "services.a.deploy.restart_policy.delay: not carried over (Docker restarts with its own back-off)",
    ]);
  });
});

describe("several services on one GPU", () => {
  const gpu = (id: string) =>
    `    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ['${id}'], capabilities: [gpu]}]}}}\n`;
  const dir = () =>
    project({
      "compose.yaml":
        "services:\n" +
        ["embed", "rerank", "ocr", "parse", "vlm"].map((s) => `  ${s}:\n    image: x/${s}:1\n${gpu("0")}`).join("") +
        `  llm:\n    image: x/llm:1\n${gpu("1")}`,
    });

  it("a device the compose file itself shares is imported with shareGpu on each service, and said", () => {
    const r = imp(dir());
    const shared = Object.entries(r.services)
      .filter(([, s]) => s.config.shareGpu === true)
      .map(([n]) => n);
    expect(shared).toEqual(["embed", "rerank", "ocr", "parse", "vlm"]);
    expect(r.warnings).toContain(
      'services.embed, services.rerank, services.ocr, services.parse, services.vlm: share GPU "0" (device_ids), as ' +
        "compose runs them; imported with shareGpu: true",
    );
    const model = modelOf(r);
    expect(model.services.filter((s) => s.shareGpu).map((s) => s.name)).toEqual([
      "embed",
      "ocr",
      "parse",
      "rerank",
      "vlm",
    ]);
  });

  it("a service picked alone shares with nothing", () => {
    const r = imp(dir(), { only: ["embed"] });
    expect(r.services.embed.config.shareGpu).toBeUndefined();
  });
});

describe("FROM_COMPOSE: how import-compose fills each field of the deployed service", () => {
  it("names every field a built service has (tsc holds it to ServiceSpec; this holds it to what the model builds)", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  a:\n    image: x/a:1\n    ports: ['8000:8000']\n    healthcheck: {test: [CMD, 'true']}\n" +
        "    command: [serve]\n    entrypoint: [python]\n    user: '1000'\n    shm_size: 1g\n    cpus: 2\n    ipc: host\n" +
        "    ulimits: {memlock: -1}\n    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]}}}\n",
    });
    const spec = modelOf(imp(dir)).services[0];
    // `scheduling` is built only for a service on a cluster, which cannot have this one's ulimits.
    expect(Object.keys(FROM_COMPOSE).sort()).toEqual([...Object.keys(spec), "scheduling"].sort());
    expect([...CARRIED].sort()).toEqual(
      [
        ...["build", "command", "container_name", "cpus", "deploy", "entrypoint", "env_file", "environment"],
        ...["extends"],
        ...["gpus", "healthcheck", "image", "ipc", "labels", "ports", "profiles", "restart", "shm_size"],
        ...["stop_grace_period", "ulimits", "user", "volumes"],
      ].sort(),
    );
  });
});

describe("cpus, compose's CPU limit", () => {
  const withCpus = (value: string) =>
    imp(project({ "compose.yaml": `services:\n  a:\n    image: x/a:1\n    cpus: ${value}\n` }));

  it("comes over as the service's cpus, from a number or a numeric string, and reaches the model", () => {
    expect(withCpus("1.5").services.a.config.cpus).toBe(1.5);
    expect(withCpus('"0.5"').services.a.config.cpus).toBe(0.5);
    expect(modelOf(withCpus("2")).services[0].cpus).toBe(2);
  });

  it("a value that is no number of CPUs above 0 is refused with its key path", () => {
    for (const bad of ['"abc"', "0", "-1", '""']) {
      expect(() => withCpus(bad), bad).toThrow(/^services\.a\.cpus: /);
    }
  });
});
