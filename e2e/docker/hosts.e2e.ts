/**
 * The ssh path for real, and `status` and `doctor` on what an operator meets. A real sshd (Debian's
 * openssh-server) on 127.0.0.1 with a throwaway key and known_hosts; the stack's host is
 * `ssh://root@127.0.0.1:<port>`, so `pulumi up` (the real engine and the docker provider, built by
 * scripts/pulumi-toolchain), the release CLI's result and `status` all go through ssh to the local dockerd, as
 * prod goes to its server. The GPU service really is created with its NVIDIA device request: dockerd runs with a
 * stand-in NVIDIA prestart hook, and the image carries a stand-in nvidia-smi that prints a capture of a real machine
 * with eight H200 GPUs. No GPU is used. Names, ports and stacks are this file's own (`hosts-e2e…`), ports free ones.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, freePort, pushAndDigest, Registry, waitFor } from "../../test/labs/docker";
import { buildGpuWebImage } from "../../test/labs/gpuImage";
import { PROJECT_DIR } from "../../test/support/harness";
import { sshWrapperDir } from "../../clients";
import { BuildKit, GitServer, HEALTHCHECK_TEST } from "../../test/labs/e2eFixtures";
import { silentListener, Sshd } from "../../test/labs/sshd";
import { expectExit, toolchainEnv, Workspace, type RunResult } from "../../test/labs/workspace";

const STACK = "hosts-e2e";
const CONTAINER = "hosts-e2e-gpu";
const FOREIGN = "hosts-e2e-foreign";

interface World {
  ws: Workspace;
  sshd: Sshd;
  silent: { port: number; close(): Promise<void> };
  registry: Registry;
  repo: string;
  digests: Record<"v1" | "v2" | "other", string>;
  ports: { gpu: number; extra: number; built: number };
  volume: string;
  gitServer: GitServer;
  buildkit: BuildKit;
  /** An `ssh` first on the PATH of pulumi that adds the host's sshOpts: docker-build takes none of its own. */
  sshPath: string;
}
const world = {} as World;

/** Output pasted into the README comes from here: printed as the run saw it. */
function show(what: string, result: RunResult): void {
  console.log(
    `[hosts-e2e] $ ${what}  (exit ${result.code}, ${result.seconds.toFixed(1)} s)\n${result.stdout}${result.stderr}`,
  );
}

function hostBlock(name: string, dockerHost: string, sshOpts: string[], gpus = 1): string {
  return [
    `    ${name}:`,
    `      dockerHost: ${dockerHost}`,
    "      address: 127.0.0.1",
    `      gpus: ${gpus}`,
    `      sshOpts: [${sshOpts.map((o) => JSON.stringify(o)).join(", ")}]`,
    "",
  ].join("\n");
}

function stackFile(
  opts: { tag?: "v1" | "v2"; gpus?: number; extraHosts?: string; extraService?: string } = {},
): string {
  const tag = opts.tag ?? "v1";
  const test = `[${HEALTHCHECK_TEST.map((t) => JSON.stringify(t)).join(", ")}]`;
  // Quick probes, so an unhealthy container shows within seconds.
  const health = `      healthcheck:\n        test: ${test}\n        interval: 1s\n        timeout: 1s\n        retries: 2\n      stopGraceSeconds: 2\n`;
  return `# The hosts e2e stack: one GPU service on a host reached over ssh (a real sshd on 127.0.0.1).
config:
  gpu-services:requirePinnedImages: true
  gpu-services:hosts:
${hostBlock("remote", world.sshd.dockerHost, world.sshd.opts(), opts.gpus ?? 1)}${opts.extraHosts ?? ""}  gpu-services:services:
    gpu:
      host: remote
      containerName: ${CONTAINER}
      image:
        repository: ${world.repo}
        tag: ${tag}
        digest: ${world.digests[tag]}
      ports:
        - host: ${world.ports.gpu}
          container: 8000
      volumes:
        - name: ${world.volume}
          target: /models
          external: true
      gpus:
        count: 1
${health}    built:
      host: remote
      containerName: hosts-e2e-built
      build:
        context: ${world.gitServer.url}
        ref: ${world.gitServer.head()}
      ports:
        - host: ${world.ports.built}
          container: 8000
${health}${opts.extraService ?? ""}`;
}

function cli(ws: Workspace, name: "status" | "doctor", ...args: string[]): Promise<RunResult> {
  return ws.run(path.join(PROJECT_DIR, "node_modules", ".bin", "tsx"), [`cli/${name}.ts`, ...args]);
}

async function statusJson(stack = STACK) {
  const result = await cli(world.ws, "status", "--stack", stack, "--json");
  return { result, report: JSON.parse(result.stdout) };
}

const gpuService = (report: { services: { name: string; release: unknown }[] }) =>
  report.services.find((s) => s.name === "gpu")!;

function writeStack(text: string, stack = STACK): void {
  world.ws.write(`Pulumi.${stack}.yaml`, text);
}

/** The Pulumi CLI with the ssh wrapper first on its PATH (the docker provider gets sshOpts itself as well). */
function pulumi(...args: string[]): Promise<RunResult> {
  const env = { PATH: `${world.sshPath}:${path.join(PROJECT_DIR, "node_modules", ".bin")}:${toolchainEnv().PATH}` };
  return world.ws.run("pulumi", [...args, "--non-interactive"], env);
}

const up = (...args: string[]) => pulumi("up", "--stack", STACK, "--yes", "--skip-preview", ...args);

describe("hosts over ssh: pulumi up, status and doctor through a real sshd", () => {
  beforeAll(async () => {
    world.sshd = await Sshd.start();
    world.silent = await silentListener();
    world.registry = await Registry.start();
    world.repo = `${world.registry.address}/hosts-e2e/gpu`;
    world.digests = {} as World["digests"];
    for (const tag of ["v1", "v2", "other"] as const) {
      buildGpuWebImage(`${world.repo}:${tag}`, `gpu ${tag}`, true, "h200x8");
      world.digests[tag] = pushAndDigest(`${world.repo}:${tag}`);
    }
    // Only the registry has v1 and v2: the up pulls them, through ssh, on the host.
    docker(["image", "rm", `${world.repo}:v1`, `${world.repo}:v2`]);
    world.ports = { gpu: await freePort(), extra: await freePort(), built: await freePort() };
    world.gitServer = await GitServer.start("built over ssh");
    world.volume = `hosts-e2e-${process.pid}-models`;
    docker(["volume", "create", world.volume]);
    world.ws = Workspace.create();
    const bin = toolchainEnv().PATH.split(":")[0];
    world.buildkit = await BuildKit.start(path.join(bin, "buildkitd"), world.ws.dockerConfig);
    world.sshPath = sshWrapperDir(world.sshd.opts());
    writeStack(stackFile());
    expectExit(await pulumi("stack", "init", STACK, "--secrets-provider", "passphrase"), 0, "stack init");
    world.ws.commit("hosts e2e stack");
  }, 300_000);

  afterAll(async () => {
    for (const name of [CONTAINER, FOREIGN, "hosts-e2e-built"]) docker(["rm", "-f", name]);
    world.buildkit?.stop();
    world.gitServer?.stop();
    if (world.sshPath) fs.rmSync(world.sshPath, { recursive: true, force: true });
    if (world.volume) docker(["volume", "rm", "-f", world.volume]);
    world.ws?.remove();
    await world.registry?.remove();
    await world.silent?.close();
    world.sshd?.stop();
  });

  it("1. doctor before the first up: the new server passes, over ssh, with what it cannot tell yet said", async () => {
    const result = await cli(world.ws, "doctor", "--stack", STACK);
    show(`npm run doctor -- --stack ${STACK}`, result);
    expectExit(result, 0, "doctor before the first up");
    expect(result.stdout).toMatch(/ok\s+ssh\s+ssh to root@127\.0\.0\.1:\d+ with sshOpts -i /);
    expect(result.stdout).toMatch(/ok\s+external-volumes\s+external volume\(s\) exist/);
    expect(result.stdout).toMatch(/ok\s+registry-credentials/);
    expect(world.sshd.log()).toContain("Accepted publickey for root");
  });

  it("2. docker-build takes no ssh options: without the key and known hosts for its ssh, loading the built image fails", async () => {
    const env = { PATH: `${path.join(PROJECT_DIR, "node_modules", ".bin")}:${toolchainEnv().PATH}` };
    const result = await world.ws.run(
      "pulumi",
      ["up", "--stack", STACK, "--yes", "--skip-preview", "--non-interactive"],
      env,
    );
    expectExit(result, "non-zero", "pulumi up with sshOpts only (docker-build without them)");
    expect(result.output).toMatch(/built-image/);
    // It builds, then loads the image into the host's Docker over ssh, whose ssh (no key, host unknown) exits.
    // BuildKit numbers its steps, and the number differs between runs.
    expect(result.output).toMatch(/#\d+ sending tarball/);
    // The error, from the engine's Diagnostics block at the end. Not from the progress row
    // ("built-image **creating failed** error: ..."): the engine may leave that part of its output out, while the
    // Diagnostics block always holds the error.
    expect(result.output).toMatch(
      /docker-build:index:Image \(built-image\):\n\s+error: failed to solve: .*closed pipe/,
    );
    console.log(
      `[hosts-e2e] up without the ssh wrapper: docker-build failed after ${result.seconds.toFixed(1)} s (closed pipe)`,
    );
  });

  it("3. pulumi up over ssh creates the GPU service with its NVIDIA device request; status says in sync", async () => {
    const result = expectExit(await up(), 0, "pulumi up over ssh");
    console.log(`[hosts-e2e] pulumi up over ssh: ${result.seconds.toFixed(1)} s`);
    const requests = JSON.parse(docker(["inspect", "--format", "{{json .HostConfig.DeviceRequests}}", CONTAINER]));
    expect(requests).toEqual([{ Driver: "nvidia", Count: 1, DeviceIDs: [], Capabilities: [["gpu"]], Options: {} }]);
    // Built by docker-build (BuildKit from the git commit) and loaded into the host's Docker over ssh.
    const built = docker([
      "inspect",
      "--format",
      '{{.Config.Image}} {{index .Config.Labels "gpu-services.release"}}',
      "hosts-e2e-built",
    ]);
    expect(built).toMatch(
      new RegExp(`^gpu-services/built:${world.gitServer.head()}\\S* ${world.gitServer.url}#${world.gitServer.head()}$`),
    );
    expect(await (await fetch(`http://127.0.0.1:${world.ports.built}/`)).text()).toBe("built over ssh\n");
    const { result: run, report } = await statusJson();
    expectExit(run, 0, "status after up");
    expect(gpuService(report).release).toMatchObject({
      state: "in-sync",
      running: `${world.repo}@${world.digests.v1}`,
    });
    // Per GPU of the host, as the eight-H200 capture has them; the capture has no GPU names, so none are shown.
    const { gpus } = report.hosts[0].gpus;
    expect(report.hosts[0].gpus.available).toBe(true);
    expect(gpus.map((g: { index: number; memoryUsedMiB: number }) => [g.index, g.memoryUsedMiB])).toEqual([
      [0, 130013],
      [1, 130053],
      [2, 0],
      [3, 129993],
      [4, 244],
      [5, 4],
      [6, 292],
      [7, 58071],
    ]);
    expect(gpus.every((g: { memoryTotalMiB: number; name?: string }) => g.memoryTotalMiB === 143771 && !g.name)).toBe(
      true,
    );
    expect(gpuService(report)).toMatchObject({
      gpuMemoryMiB: 0,
      gpuMemoryNote: "0 of the 4 GPU processes nvidia-smi lists are this service's",
    });
    show(`npm run status -- --stack ${STACK}`, await cli(world.ws, "status", "--stack", STACK));
  });

  it("4. a release and up through ssh: status shows the new release in sync", async () => {
    expectExit(
      await world.ws.run(path.join(PROJECT_DIR, "node_modules", ".bin", "tsx"), [
        "cli/release.ts",
        "release",
        STACK,
        "gpu",
        "v2",
      ]),
      0,
      "release gpu v2",
    );
    world.ws.commit("hosts e2e: gpu v2");
    expectExit(await up(), 0, "pulumi up (v2) over ssh");
    const { result, report } = await statusJson();
    expectExit(result, 0, "status after the release");
    expect(gpuService(report).release).toMatchObject({
      state: "in-sync",
      running: `${world.repo}@${world.digests.v2}`,
    });
  });

  it("5. a container stopped by hand: status exit 1, naming it", async () => {
    docker(["stop", "-t", "1", CONTAINER]);
    const result = await cli(world.ws, "status", "--stack", STACK);
    show(`npm run status -- --stack ${STACK}   # after docker stop ${CONTAINER}`, result);
    expectExit(result, 1, "status of a stopped container");
    expect(result.stdout).toContain(`${CONTAINER} is exited, not running`);
    docker(["start", CONTAINER]);
    await waitFor(
      "healthy again",
      async () => docker(["inspect", "--format", "{{.State.Health.Status}}", CONTAINER]) === "healthy",
    );
  });

  it("6. an unhealthy service: status exit 1 with the last failed probe's output", async () => {
    docker(["exec", CONTAINER, "/bin/busybox", "rm", "/www/health"]);
    await waitFor(
      "unhealthy",
      async () => docker(["inspect", "--format", "{{.State.Health.Status}}", CONTAINER]) === "unhealthy",
    );
    const result = await cli(world.ws, "status", "--stack", STACK);
    show(`npm run status -- --stack ${STACK}   # after the health file went away`, result);
    expectExit(result, 1, "status of an unhealthy service");
    expect(result.stdout).toMatch(new RegExp(`${CONTAINER} is unhealthy: last failed probe \\(exit 1\\): .*404`));
  });

  it("7. a release drifted by hand (docker run of another image under the name): status exit 1, drifted; up repairs it", async () => {
    docker(["rm", "-f", CONTAINER]);
    docker(["run", "-d", "--name", CONTAINER, `${world.repo}:other`]);
    const result = await cli(world.ws, "status", "--stack", STACK);
    show(`npm run status -- --stack ${STACK}   # after docker run of another image as ${CONTAINER}`, result);
    expectExit(result, 1, "status of a drifted release");
    expect(result.stdout).toContain(
      `drifted: ${CONTAINER} has no gpu-services labels: not started by pulumi up (runs ${world.repo}:other)`,
    );
    docker(["rm", "-f", CONTAINER]);
    expectExit(await up("--refresh"), 0, "pulumi up --refresh over ssh");
    expectExit((await statusJson()).result, 0, "status after the repair");
  });

  it("8. doctor: a declared GPU count the host lacks, a port taken by a foreign container, a missing external volume", async () => {
    world.ports.extra = await runForeign();
    const missing = `hosts-e2e-${process.pid}-missing`;
    const extra = `    extra:\n      host: remote\n      containerName: hosts-e2e-extra\n      image:\n        repository: ${world.repo}\n        tag: v1\n        digest: ${world.digests.v1}\n      ports:\n        - host: ${world.ports.extra}\n          container: 8000\n      volumes:\n        - name: ${missing}\n          target: /cache\n          external: true\n`;
    writeStack(stackFile({ tag: "v2", gpus: 9, extraService: extra }));
    try {
      const result = await cli(world.ws, "doctor", "--stack", STACK);
      show(
        `npm run doctor -- --stack ${STACK}   # gpus: 9 declared, a foreign container on :${world.ports.extra}, no ${missing}`,
        result,
      );
      expectExit(result, 1, "doctor with three failures");
      expect(result.stdout).toMatch(/FAIL\s+gpus-declared\s+hosts\.remote\.gpus declares 9 GPUs, nvidia-smi reports 8/);
      // GPUs 0, 1 and 3 of the capture have less than a tenth of their memory free.
      expect(result.stdout).toMatch(
        /WARN\s+gpu-memory\s+GPU 0: 13758 of 143771 MiB free, .*less than 10 % free on 3 GPU/,
      );
      expect(result.stdout).toMatch(
        new RegExp(
          `FAIL\\s+ports\\s+services\\.extra\\.ports\\[0\\] ${world.ports.extra}/tcp is held by container ${FOREIGN}`,
        ),
      );
      expect(result.stdout).toMatch(
        new RegExp(`FAIL\\s+external-volumes\\s+external volume\\(s\\) missing: ${missing}`),
      );
      expect(result.stdout).toMatch(/ok\s+nvidia-runtime\s+NVIDIA device requests work/);
    } finally {
      docker(["rm", "-f", FOREIGN]);
      world.ws.restore(`Pulumi.${STACK}.yaml`);
    }
  });

  /**
   * The foreign container on a port picked just now. A port found free can be taken by another socket (an
   * outgoing connection's ephemeral port) before Docker binds it on every address: then another one is tried.
   */
  async function runForeign(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        docker(["run", "-d", "--name", FOREIGN, "-p", `${port}:8000`, `${world.repo}:other`]);
        return port;
      } catch (error) {
        // The failed run leaves a created container under the name.
        spawnSync("docker", ["rm", "-f", FOREIGN], { stdio: "ignore" });
        if (attempt === 3 || !/address already in use/.test(String(error))) throw error;
      }
    }
  }

  it("9. a host whose ssh refuses the key, and one that never answers: named within the bound, never 'in sync'", async () => {
    const refused = hostBlock("stranger", world.sshd.dockerHost, world.sshd.opts(world.sshd.strangerKey));
    const silent = hostBlock("silent", `ssh://root@127.0.0.1:${world.silent.port}`, world.sshd.opts());
    writeStack(stackFile({ tag: "v2", extraHosts: refused + silent }));
    try {
      for (const name of ["status", "doctor"] as const) {
        const result = await cli(world.ws, name, "--stack", STACK);
        show(`npm run ${name} -- --stack ${STACK}   # with a host refusing the key and a silent one`, result);
        expectExit(result, 3, `${name} with unreachable hosts`);
        expect(result.stdout).toMatch(
          /host "stranger" \(ssh:\/\/root@127\.0\.0\.1:\d+\): ssh refused the key \(.*Permission denied/,
        );
        expect(result.stdout).toMatch(
          /host "silent" \(ssh:\/\/root@127\.0\.0\.1:\d+\): did not answer: ssh gave up after its 5 s connect timeout/,
        );
        expect(result.stdout).not.toMatch(/in sync|no check failed/);
        expect(result.output).not.toMatch(/\n\s+at \S+ \(/);
        // Bounded: ssh's 5 s connect timeout per attempt, the 15 s call bound at worst; the hosts are read in parallel.
        expect(result.seconds).toBeLessThan(30);
        console.log(`[hosts-e2e] ${name} with a refused key and a silent host: ${result.seconds.toFixed(1)} s`);
      }
      const { report } = await statusJson();
      const seconds = Object.fromEntries(
        report.hosts.map((h: { name: string; seconds: number }) => [h.name, h.seconds]),
      );
      console.log(`[hosts-e2e] per host: ${JSON.stringify(seconds)}`);
      expect(report.hosts.find((h: { name: string }) => h.name === "remote").reachable).toBe(true);
    } finally {
      world.ws.restore(`Pulumi.${STACK}.yaml`);
    }
  });

  it("10. destroy over ssh: the container goes, the external volume stays", async () => {
    expectExit(await pulumi("destroy", "--stack", STACK, "--yes", "--skip-preview"), 0, "destroy over ssh");
    expect(docker(["ps", "-a", "--filter", `name=^/${CONTAINER}$`, "--format", "{{.Names}}"])).toBe("");
    expect(docker(["volume", "ls", "-q", "--filter", `name=^${world.volume}$`])).toBe(world.volume);
    expect(fs.existsSync(world.ws.file(`Pulumi.${STACK}.yaml`))).toBe(true);
  });
});
