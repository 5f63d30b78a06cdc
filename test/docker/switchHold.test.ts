/**
 * The switch's hold on the real dockerd: the switch image (the binaries of switch/, or `$GPU_SWITCH_BIN`) in front
 * of the model-server stand-in, which answers 503 while it loads, routed by a version 2 plan (a readiness check
 * of GET /health, 2 passes in a row; a hold of 60 s). Under a loop of GETs on new connections and a loop of
 * POSTs on one keep-alive connection, the stand-in's process is killed from the host (`docker kill` would be a
 * stop, which the restart policy leaves stopped): its restart policy brings it back and it loads again. Every
 * request must be answered 200, and the switch's counters must say that requests were held. No GPU is involved.
 */
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerAvailable, freePort, registryAvailable, requireDocker, Registry, waitFor } from "../labs/docker";
import { tempDir } from "../support/gitRepos";
import { buildModelServerImage, modelServerEnv } from "../labs/modelServer";
import { buildSwitchImage, SWITCH_COMMAND, switchBin, type SwitchImage } from "../labs/switchImage";

const haveBinaries = (() => {
  try {
    switchBin();
    return true;
  } catch {
    return false;
  }
})();
const run = (dockerAvailable && registryAvailable && haveBinaries) || requireDocker;
const LOAD_SECONDS = 4;
/** The docker CLI without blocking the event loop (the traffic's timers must keep running). */
const dockerAsync = async (args: string[]) => (await promisify(execFile)("docker", args)).stdout.trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One answer the switch gave: its status (0: a reset or a timeout) and how long it took. */
interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly body: string;
}

function request(
  port: number,
  method: string,
  path: string,
  agent: http.Agent | false,
  body?: string,
): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, agent, timeout: 90_000 }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started, body: text }));
      res.on("error", () => resolve({ status: 0, ms: Date.now() - started, body: "response error" }));
    });
    req.on("error", (e) => resolve({ status: 0, ms: Date.now() - started, body: String(e) }));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    if (body) req.setHeader("Content-Type", "application/json");
    req.end(body);
  });
}

/** Until stop() is called: a GET every 20 ms on a new connection, and POSTs one after another on a keep-alive one. */
function traffic(port: number): { stop: () => Promise<Answer[]> } {
  const pending: Promise<Answer>[] = [];
  let running = true;
  const timer = setInterval(() => pending.push(request(port, "GET", "/v1/models", false)), 20);
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const posts = (async () => {
    while (running) {
      pending.push(request(port, "POST", "/v1/audio/speech", keepAlive, '{"input":"hello","voice":"af_heart"}'));
      await pending[pending.length - 1];
    }
  })();
  return {
    stop: async () => {
      running = false;
      clearInterval(timer);
      await posts;
      const answers = await Promise.all(pending);
      keepAlive.destroy();
      return answers;
    },
  };
}

describe.runIf(run)("the switch holds requests through a crash of a copy that answers 503 while it loads", () => {
  const id = `h${process.pid}`;
  const names = {
    network: `gpu-switch-${id}`,
    volume: `gpu-switch-${id}-data`,
    service: `tts-${id}`,
    push: `tts-${id}-push`,
  };
  const modelImage = `gpu-services-switch-test/model-server:${id}`;
  let registry: Registry;
  let image: SwitchImage;
  let port: number;
  let planDir: string;

  beforeAll(async () => {
    registry = await Registry.start();
    image = await buildSwitchImage(registry.address);
    buildModelServerImage(modelImage);
    port = await freePort();
    planDir = tempDir("switch-hold-plan");
  }, 300_000);

  afterAll(async () => {
    for (const name of [names.push, names.network, names.service]) {
      spawnSync("docker", ["rm", "-f", "-v", name], { stdio: "ignore" });
    }
    spawnSync("docker", ["network", "rm", names.network], { stdio: "ignore" });
    spawnSync("docker", ["volume", "rm", names.volume], { stdio: "ignore" });
    for (const ref of [modelImage, `${image?.repository}:${image?.tag}`]) {
      spawnSync("docker", ["image", "rm", "-f", ref], { stdio: "ignore" });
    }
    await registry?.remove();
    if (planDir) fs.rmSync(planDir, { recursive: true, force: true });
  });

  /** The switch's route table, read with `gpu-switch upstreams` in the switch's network namespace. */
  const table = () =>
    JSON.parse(
      docker([
        "run",
        "--rm",
        "--network",
        `container:${names.network}`,
        `${image.repository}@${image.digest}`,
        "/gpu-switch",
        "upstreams",
      ]),
    ).routes[`tts-${port}`];

  it("answers every request, holding them while the restarted copy loads", async () => {
    docker(["network", "create", names.network]);
    docker(["volume", "create", names.volume]);
    const ref = `${image.repository}@${image.digest}`;
    docker([
      "run", "-d", "--name", names.network, "--network", names.network, "--restart", "unless-stopped",
      "-v", `${names.volume}:/data`, "-p", `127.0.0.1:${port}:${port}`, ref, ...SWITCH_COMMAND,
    ]); // prettier-ignore
    await waitFor(
      "the switch to be healthy",
      async () => docker(["inspect", "--format", "{{.State.Health.Status}}", names.network]) === "healthy",
      60_000,
    );
    docker([
      "run", "-d", "--name", names.service, "--network", names.network, "--restart", "always",
      ...modelServerEnv({ loadSeconds: LOAD_SECONDS, mode: "503", serviceMs: 50, release: "r1" }).flatMap((e) => ["-e", e]),
      modelImage,
    ]); // prettier-ignore
    const plan = {
      version: 2,
      stack: id,
      switch: { streamCloseDelay: "1h", tlsHost: "127.0.0.1" },
      services: [
        {
          name: "tts",
          container: names.service,
          release: modelImage,
          strategy: "stop-then-start",
          waitSeconds: 60,
          drainSeconds: 10,
          scheme: "http",
          ports: [{ listen: port, target: 8000 }],
          readiness: {
            kind: "http", port: 8000, scheme: "http", method: "GET", path: "/health", headers: {}, bodyBase64: "",
            expectStatus: [200], timeoutMs: 2000, intervalMs: 250, passes: 2,
          }, // prettier-ignore
          hold: { seconds: 60, queue: 1024, replay: true, expectedSeconds: LOAD_SECONDS }, // 50 GETs a second over the load
        },
      ],
    };
    fs.mkdirSync(path.join(planDir, "push"));
    fs.writeFileSync(path.join(planDir, "push", "plan.json"), JSON.stringify(plan));
    docker([
      "create", "--name", names.push, "--network", `container:${names.network}`,
      "-v", "/var/run/docker.sock:/var/run/docker.sock", ref, "/gpu-switch", "apply", "/push/plan.json",
    ]); // prettier-ignore
    docker(["cp", path.join(planDir, "push"), `${names.push}:/push`]);
    const push = spawnSync("docker", ["start", "-a", names.push], { encoding: "utf8", timeout: 120_000 });
    expect({ status: push.status, stdout: push.stdout, stderr: push.stderr }).toMatchObject({
      status: 0,
      stdout: '{"switched":["tts"],"failed":[],"kept":[]}\n',
    });

    const load = traffic(port);
    await sleep(1000);
    const pid = Number(docker(["inspect", "--format", "{{.State.Pid}}", names.service]));
    process.kill(pid, "SIGKILL"); // as the OOM killer or a crash would
    const restarted = Date.now();
    await waitFor(
      "the restart policy to bring the copy back",
      async () => (await dockerAsync(["inspect", "--format", "{{.RestartCount}}", names.service])) === "1",
      30_000,
    );
    await sleep(LOAD_SECONDS * 1000 + 2000 - (Date.now() - restarted)); // the load, and 2 s of traffic after it
    const answers = await load.stop();

    const failed = answers.filter((a) => a.status !== 200);
    const longest = Math.max(...answers.map((a) => a.ms));
    const route = table();
    console.log(
      `crash of a copy that answers 503 while it loads (${LOAD_SECONDS} s): ${failed.length} failed of ${answers.length}, ` +
        `longest wait ${longest} ms; the switch: held ${route.held}, replayed ${route.replayed}, shed ${route.shed}`,
    );
    expect(answers.length).toBeGreaterThan(250); // a GET every 20 ms for about 7 s, and the POSTs
    expect(failed.slice(0, 5)).toEqual([]);
    expect(longest).toBeGreaterThan((LOAD_SECONDS - 1) * 1000); // held through the load
    expect(route).toMatchObject({ state: "ready", shed: 0, requests: expect.objectContaining({ "5xx": 0 }) });
    expect(route.held).toBeGreaterThan(10);
    expect(answers.every((a) => a.body.includes('"release":"r1"') || a.body.startsWith("RIFF"))).toBe(true);
  }, 240_000);
});
