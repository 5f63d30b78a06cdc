import { afterEach, describe, expect, it, vi } from "vitest";
import { EXIT } from "./errors";
import { clusterModel, labModel, NGINX } from "../test/support/models";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../test/support/harness";
import { main, planRows } from "./plan";
import { buildModel } from "../model";

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
      gpus: "1, 5 GiB each",
      volumes: "stt-service_stt_models:/app/models (external) stt-service_stt_cache:/app/cache (external)",
      binds: "/home/agnes/voice-notes:/app/vnotes",
      healthcheck: "CMD curl -f http://localhost:8000/health",
      release: "stt: stop-then-start: no switch: gpu-services:switch is not set",
      readiness: "stt: readiness GET /health on 8000, 2 passes (used once gpu-services:switch is set)",
      releaseCost:
        "stt: stop-then-start without the switch: clients are refused for the whole load, about 60 s (healthcheck " +
        "startPeriod); with gpu-services:switch: held up to 90 s, none lost",
    });
    expect(plans[1].services.map((s: { ports: string }) => s.ports)).toEqual(["8056->8000/tcp"]);
  });

  it("prints for prod and test each service's readiness check and what a release costs now and with the switch", () => {
    const { code, out } = capture(["--stack", "prod", "test"]);
    expect(code).toBe(0);
    const rows = out.split("\n").filter((line) => /^ {2}(readiness|releaseCost) /.test(line));
    const cost = (service: string) =>
      `  releaseCost  ${service}: stop-then-start without the switch: clients are refused for the whole load, about ` +
      "60 s (healthcheck startPeriod); with gpu-services:switch: held up to 90 s, none lost";
    expect(rows).toEqual([
      "  readiness    stt: readiness GET /health on 8000, 2 passes (used once gpu-services:switch is set)",
      cost("stt"),
      "  readiness    tts: readiness GET /v1/models on 8000 (https), 2 passes (used once gpu-services:switch is set)",
      cost("tts"),
      "  readiness    tts: readiness GET /v1/models on 8000, 2 passes (used once gpu-services:switch is set)",
      cost("tts"),
    ]);
  });

  it("fails with EXIT.usage and names the stacks that exist for an unknown stack", () => {
    const { code, err } = capture(["--stack", "staging"]);
    expect(code).toBe(EXIT.usage);
    expect(err).toBe('plan: unknown stack "staging": no Pulumi.staging.yaml; stacks: prod, test');
  });
});

describe("plan rows", () => {
  it("behind a switch: the readiness check and the hold on one line, and no release cost", () => {
    const model = buildModel(
      {
        hosts: { lab: { dockerHost: "unix:///var/run/docker.sock" } },
        switch: { image: { repository: "ghcr.io/x/gpu-switch", tag: "1" }, holdSeconds: 120 },
        services: {
          tts: {
            host: "lab",
            image: NGINX,
            ports: [{ host: 8055, container: 8000 }],
            readiness: {
              path: "/v1/audio/speech",
              method: "POST",
              headers: { "Content-Type": "application/json" },
              body: { text: '{"input":"hi","voice":"af_heart"}' },
              expectStatus: [200, 201],
            },
            hold: { queue: 32, replay: false },
          },
          web: { host: "lab", image: NGINX, ports: [{ host: 8080, container: 80 }] },
        },
      },
      { stack: "dev" },
    );
    const [tts, web] = planRows(model);
    expect(tts.readiness).toBe(
      "tts: readiness POST /v1/audio/speech on 8000 with text, 33 bytes, expects 200 or 201, 2 passes; requests " +
        "held up to 120 s (queue 32, not replayed)",
    );
    expect(web.readiness).toBe("web: readiness TCP connect to 80, 1 pass; requests held up to 120 s (queue 256)");
    expect("releaseCost" in tts || "releaseCost" in web).toBe(false);
  });

  it("on a cluster: a declared check as the pods' readiness probe, and no hold or release cost", () => {
    const model = clusterModel(
      {},
      { stt: { config: { image: NGINX, ports: [{ host: 8000, container: 8000 }], readiness: { path: "/ready" } } } },
    );
    const [stt] = planRows(model);
    expect(stt.readiness).toBe("stt: readiness GET /ready on 8000, 2 passes (the pods' readiness probe)");
    expect("releaseCost" in stt).toBe(false);
  });

  it("without a switch: a hold shorter than the load says what the clients then get", () => {
    const model = labModel({
      stt: {
        image: NGINX,
        ports: [{ host: 8060, container: 8000 }],
        healthcheck: { test: ["CMD", "true"], startPeriod: "2m" },
        hold: { seconds: 45 },
      },
    });
    expect(planRows(model)[0].releaseCost).toBe(
      "stt: stop-then-start without the switch: clients are refused for the whole load, about 120 s (healthcheck " +
        "startPeriod); with gpu-services:switch: held up to 45 s, then 503 with Retry-After (the load takes about " +
        "120 s)",
    );
  });

  it("writes an IPv6 host address in brackets, as Docker and compose do: [::]:8060, never :::8060", () => {
    const model = labModel({
      web: {
        image: NGINX,
        ports: [
          { host: 8060, container: 80, hostIp: "::" },
          { host: 8061, container: 81, hostIp: "::1" },
          { host: 8062, container: 82, hostIp: "127.0.0.1" },
          { host: 8063, container: 83 },
        ],
      },
    });
    expect(planRows(model)[0].ports).toBe("[::]:8060->80/tcp [::1]:8061->81/tcp 127.0.0.1:8062->82/tcp 8063->83/tcp");
  });

  it("prints a CPU limit, and no row without one", () => {
    const model = labModel({ tts: { image: NGINX, cpus: 1.5 }, stt: { image: NGINX } });
    const [stt, tts] = planRows(model);
    expect(tts.cpus).toBe("1.5");
    expect("cpus" in stt).toBe(false);
  });
});

describe("plan of a stack with a cluster (test/fixtures/cluster/Pulumi.mixed.yaml)", () => {
  const FIXTURES = path.join(PROJECT_DIR, "test", "fixtures", "cluster");

  function run(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = main(args, { projectDir: FIXTURES, out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("names the cluster in the host column, with the pods, their placement and the fit rule's reason", () => {
    const { code, out, err } = run(["--stack", "mixed", "--json"]);
    expect(err).toBe("");
    expect(code).toBe(0);
    const [plan] = JSON.parse(out);
    expect(plan.services.find((s: { service: string }) => s.service === "stt")).toEqual({
      service: "stt",
      host: "cluster-a",
      runsOn: "kubernetes",
      replicas: "2",
      scheduling:
        "nodeSelector kubernetes.io/arch=amd64,nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3; tolerations " +
        "nvidia.com/gpu:NoSchedule op=Exists; runtimeClassName nvidia",
      container: "stt-mixed",
      image: `pull ghcr.io/jim0237/stt-api-server@sha256:${"1".repeat(64)}`,
      ports: "30060->8000/tcp",
      gpus: "1",
      volumes: "stt-models:/app/models stt-cache:/app/cache (external)",
      binds: "-",
      healthcheck: "CMD curl -f http://localhost:8000/health",
      shm: "2048m",
      ipc: "host",
      // The whole reason: model/clusters.test.ts.
      release: expect.stringMatching(
        /^stt: blue-green: 1 surge GPU \+ tts 1 = 2 ≤ 2 spare on cluster-a; claim "stt-models" is ReadWriteOnce: /,
      ),
    });
    // The Docker service's row is as it always was: no runsOn, replicas or scheduling.
    expect(plan.services.find((s: { service: string }) => s.service === "asr")).toEqual({
      service: "asr",
      host: "gpu-box",
      container: "asr-mixed",
      image: "pull ghcr.io/jim0237/asr:sha-cf2f45fd9df5a67ce52ebf996c8163cd94202952",
      ports: "8070->8000/tcp",
      gpus: "1",
      volumes: "-",
      binds: "-",
      healthcheck: "-",
      release: "asr: stop-then-start: no switch: gpu-services:switch is not set",
      readiness: "asr: readiness TCP connect to 8000, 1 pass (used once gpu-services:switch is set)",
      releaseCost:
        "asr: stop-then-start without the switch: clients are refused for the whole load, for as long as it takes " +
        "(no healthcheck startPeriod says how long); with gpu-services:switch: held up to 30 s, none lost",
    });
  });

  it("prints the cluster beside the Docker host", () => {
    const { code, out } = run(["--stack", "mixed"]);
    expect(code).toBe(0);
    expect(out.split("\n").slice(0, 3)).toEqual([
      "stack mixed (pinned images required)",
      "host gpu-box: ssh://ops@10.0.0.5 (clients reach it at 10.0.0.5)",
      "cluster cluster-a: namespace speech, context prod of the kubeconfig in secrets.kubeconfig; NodePort (clients " +
        "reach it at 10.0.0.9); 2 spare GPUs; ReadWriteOnce claims of 20Gi (local-path)",
    ]);
    expect(out).toContain(
      "  release      vad: stop-then-start: 1 surge GPU + stt 1 + tts 1 = 3 > 2 spare on cluster-a",
    );
  });
});

describe("plan of a service with several copies on a Docker host", () => {
  const STACK = [
    "config:",
    "  gpu-services:switch:",
    "    image: {repository: ghcr.io/x/gpu-switch, tag: '1'}",
    "  gpu-services:hosts:",
    "    gpu1:",
    "      dockerHost: ssh://agnes@10.30.11.45",
    "      gpus: {count: 3, devices: [{id: '0', memoryGiB: 24}, {id: '1', memoryGiB: 24}, {id: '2', memoryGiB: 24}]}",
    "  gpu-services:services:",
    "    stt:",
    "      host: gpu1",
    "      image: {repository: ghcr.io/x/stt, tag: '1'}",
    "      ports: [{host: 8060, container: 8000}]",
    "      gpus: {memoryGiB: 16}",
    "      replicas: 2",
    "    tts:",
    "      host: gpu1",
    "      image: {repository: ghcr.io/x/tts, tag: '1'}",
    "      ports: [{host: 8055, container: 8000}]",
    "      gpus: {deviceIds: ['0'], memoryGiB: 6}",
    "",
  ].join("\n");

  function run(args: string[]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-copies-"));
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), STACK);
    const out: string[] = [];
    const err: string[] = [];
    const code = main(args, { projectDir: dir, out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("prints the copies' GPUs in the service's rows and each GPU's memory under its host", () => {
    const { code, out, err } = run(["--stack", "dev"]);
    expect([code, err]).toEqual([0, ""]);
    expect(out.split("\n").slice(0, 5)).toEqual([
      "stack dev",
      "host gpu1: ssh://agnes@10.30.11.45 (clients reach it at 10.30.11.45)",
      "  GPU 0: 6 of 24 GiB (tts 6 GiB), 18 GiB free",
      "  GPU 1: 16 of 24 GiB (stt copy 0 16 GiB), 8 GiB free",
      "  GPU 2: 16 of 24 GiB (stt copy 1 16 GiB), 8 GiB free",
    ]);
    expect(out).toContain("\n  replicas     2\n");
    expect(out).toContain("\n  placement    stt: 2 copies: copy 0 → GPU 1, copy 1 → GPU 2\n");
  });

  it("gives the same in --json: the rows' replicas and placement, and the GPUs by host", () => {
    const { code, out } = run(["--stack", "dev", "--json"]);
    expect(code).toBe(0);
    const [plan] = JSON.parse(out);
    expect(plan.services[0]).toMatchObject({
      service: "stt",
      replicas: "2",
      placement: "stt: 2 copies: copy 0 → GPU 1, copy 1 → GPU 2",
    });
    expect("replicas" in plan.services[1] || "placement" in plan.services[1]).toBe(false);
    expect(plan.gpus).toEqual({
      gpu1: [
        "GPU 0: 6 of 24 GiB (tts 6 GiB), 18 GiB free",
        "GPU 1: 16 of 24 GiB (stt copy 0 16 GiB), 8 GiB free",
        "GPU 2: 16 of 24 GiB (stt copy 1 16 GiB), 8 GiB free",
      ],
    });
  });
});
