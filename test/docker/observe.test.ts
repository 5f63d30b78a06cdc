/**
 * `status` and `doctor` against the real local dockerd (started with the stand-in NVIDIA hook, so GPU containers
 * start without a GPU) and a real registry: containers labelled as `pulumi up` labels them, then changed by hand
 * the ways an operator meets them. nvidia-smi is the stand-in printing a real H100 capture; no GPU is used.
 * `pulumi up` itself, and the ssh path, are in e2e/docker/hosts.e2e.ts.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main as doctorMain } from "../../cli/doctor";
import { main as statusMain } from "../../cli/status";
import type { DoctorReport } from "../../observe/doctor";
import type { StatusReport } from "../../observe/status";
import {
  docker,
  dockerAvailable,
  freePort,
  pushAndDigest,
  registryAvailable,
  Registry,
  requireDocker,
  waitFor,
} from "../labs/docker";
import { tempDir } from "../support/gitRepos";
import { buildGpuWebImage } from "../labs/gpuImage";

const run = (dockerAvailable && registryAvailable) || requireDocker;
const RUN = `obs${process.pid}`;
const STACK = "obs";
const names = { gpu: `gpu-${STACK}`, foreign: `${RUN}-foreign`, missing: `${RUN}-missing-volume` };

interface World {
  registry: Registry;
  repo: string;
  digest: string;
  other: string;
  port: number;
  projectDir: string;
}
const world = {} as World;

function stackText(extraHost = ""): string {
  return `config:
  gpu-services:hosts:
    local:
      dockerHost: unix:///var/run/docker.sock
      address: 127.0.0.1
      gpus: 2
${extraHost}  gpu-services:services:
    gpu:
      host: local
      image:
        repository: ${world.repo}
        digest: ${world.digest}
      ports:
        - host: ${world.port}
          container: 8000
      volumes:
        - name: ${names.missing}
          target: /models
          external: true
      gpus:
        count: 1
`;
}

/** The container as GpuService creates it: same name, labels, device request, port and healthcheck. */
function runAsPulumiWould(opts: { healthCmd?: string } = {}): void {
  const image = `${world.repo}@${world.digest}`;
  const id = docker(["image", "inspect", "--format", "{{.Id}}", image]);
  docker([
    "run",
    "-d",
    "--name",
    names.gpu,
    "--gpus",
    "1",
    "-p",
    `${world.port}:8000`,
    "--label",
    "gpu-services.service=gpu",
    "--label",
    `gpu-services.stack=${STACK}`,
    "--label",
    `gpu-services.release=${image}`,
    "--label",
    `gpu-services.image=${id}`,
    "--health-cmd",
    opts.healthCmd ?? "/bin/busybox wget -q -O /dev/null http://127.0.0.1:8000/health",
    "--health-interval",
    "1s",
    "--health-retries",
    "1",
    image,
  ]);
}

function remove(...containers: string[]): void {
  for (const c of containers) docker(["rm", "-f", c]);
}

async function cli(which: typeof statusMain, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await which(args, { projectDir: world.projectDir, out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function status(): Promise<StatusReport & { code: number }> {
  const result = await cli(statusMain, "--stack", STACK, "--json");
  return { ...(JSON.parse(result.out) as StatusReport), code: result.code };
}

async function doctor(): Promise<DoctorReport & { code: number }> {
  const result = await cli(doctorMain, "--stack", STACK, "--json");
  return { ...(JSON.parse(result.out) as DoctorReport), code: result.code };
}

/** The report as the CLI printed it (without the exit code these helpers add). */
function withoutCode<T extends { code: number }>(report: T): Omit<T, "code"> {
  const { code: _code, ...json } = report;
  return json;
}

const health = async () => docker(["inspect", "--format", "{{.State.Health.Status}}", names.gpu]);

/** The shape of a JSON value: objects as their keys (sorted) with the shapes of their values, lists by their first. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, shape((value as Record<string, unknown>)[k])]),
    );
  }
  return value === null ? "null" : typeof value;
}

describe.runIf(run)("status and doctor against the real dockerd", () => {
  beforeAll(async () => {
    world.registry = await Registry.start();
    world.repo = `${world.registry.address}/obs/gpu`;
    buildGpuWebImage(`${world.repo}:v1`, "gpu v1");
    world.digest = pushAndDigest(`${world.repo}:v1`);
    buildGpuWebImage(`${world.repo}:other`, "other");
    world.other = `${world.repo}:other`;
    world.port = await freePort();
    world.projectDir = tempDir("observe-project");
    fs.writeFileSync(path.join(world.projectDir, `Pulumi.${STACK}.yaml`), stackText());
  }, 120_000);

  afterAll(async () => {
    for (const c of Object.values(names)) docker(["rm", "-f", c]);
    await world.registry?.remove();
  });

  it("a healthy stack: exit 0, in sync, healthy, answering, GPU figures from the stand-in; the JSON shape is pinned", async () => {
    runAsPulumiWould();
    await waitFor("healthy", async () => (await health()) === "healthy");
    const report = await status();
    expect(report.code).toBe(0);
    expect(report.result).toBe("ok");
    const [service] = report.services;
    expect(service.release).toEqual({
      state: "in-sync",
      expected: `${world.repo}@${world.digest}`,
      running: `${world.repo}@${world.digest}`,
      differences: [],
    });
    expect(service.containers.map((c) => [c.name, c.state, c.health])).toEqual([[names.gpu, "running", "healthy"]]);
    expect(service.endpoint).toEqual({ url: `http://127.0.0.1:${world.port}/`, answers: true, detail: "HTTP 200" });
    // The capture's processes are not this container's: 0 MiB, said as a count, not invented.
    expect(service.gpuMemoryMiB).toBe(0);
    expect(service.gpuMemoryNote).toBe("0 of the 3 GPU processes nvidia-smi lists are this service's");
    const [host] = report.hosts;
    expect(host.gpus).toMatchObject({
      available: true,
      gpus: [{ name: "NVIDIA H100 80GB HBM3", memoryUsedMiB: 19818, memoryTotalMiB: 81559, utilizationPercent: 100 }],
    });
    expect(docker(["ps", "-a", "--filter", "label=gpu-services.probe", "--format", "{{.Names}}"])).toBe("");
    expect(shape(withoutCode(report))).toEqual({
      checkedAt: "string",
      exitCode: "number",
      result: "string",
      stack: "string",
      hosts: [
        {
          dockerHost: "string",
          name: "string",
          reachable: "boolean",
          seconds: "number",
          engine: { apiVersion: "string", version: "string" },
          gpus: {
            available: "boolean",
            source: "string",
            gpus: [
              {
                index: "number",
                memoryTotalMiB: "number",
                memoryUsedMiB: "number",
                name: "string",
                utilizationPercent: "number",
                uuid: "string",
              },
            ],
            processes: [{ gpuUuid: "string", pid: "number", processName: "string", usedMemoryMiB: "number" }],
          },
        },
      ],
      services: [
        {
          attention: [],
          containerName: "string",
          gpuMemoryMiB: "number",
          gpuMemoryNote: "string",
          host: "string",
          name: "string",
          containers: [
            {
              copy: "number",
              gpus: [],
              health: "string",
              id: "string",
              imageId: "string",
              name: "string",
              release: "string",
              restartCount: "number",
              startedAt: "string",
              state: "string",
            },
          ],
          endpoint: { answers: "boolean", detail: "string", url: "string" },
          release: { differences: [], expected: "string", running: "string", state: "string" },
        },
      ],
    });
  });

  it("a container stopped by hand: exit 1, named, and its endpoint does not answer", async () => {
    docker(["stop", "-t", "1", names.gpu]);
    const report = await status();
    expect(report.code).toBe(1);
    const [service] = report.services;
    expect(service.attention).toEqual([
      `${names.gpu} is exited, not running`,
      expect.stringMatching(/^endpoint does not answer \(ECONNREFUSED\)$/),
    ]);
    docker(["start", names.gpu]);
  });

  it("an unhealthy service: exit 1, with the last failed probe's output", async () => {
    remove(names.gpu);
    runAsPulumiWould({ healthCmd: "/bin/busybox sh -c 'echo model not loaded; exit 1'" });
    await waitFor("unhealthy", async () => (await health()) === "unhealthy");
    const report = await status();
    expect(report.code).toBe(1);
    expect(report.services[0].containers[0].lastFailedProbe).toMatchObject({ exitCode: 1, output: "model not loaded" });
    expect(report.services[0].attention).toContain(
      `${names.gpu} is unhealthy: last failed probe (exit 1): model not loaded`,
    );
  });

  it("a release drifted by hand (docker run of another image under the name): exit 1, drifted, naming it", async () => {
    remove(names.gpu);
    docker(["run", "-d", "--name", names.gpu, world.other]);
    const report = await status();
    expect(report.code).toBe(1);
    expect(report.services[0].release).toMatchObject({
      state: "drifted",
      differences: [`${names.gpu} has no gpu-services labels: not started by pulumi up (runs ${world.other})`],
    });
    remove(names.gpu);
    const gone = await status();
    expect(gone.services[0].release.state).toBe("not-deployed");
    expect(gone.code).toBe(1);
  });

  it("doctor: declared GPUs the host lacks, a port taken by a foreign container, a missing external volume; exit 1", async () => {
    docker(["run", "-d", "--name", names.foreign, "-p", `${world.port}:8000`, world.other]);
    const report = await doctor();
    expect(report.code).toBe(1);
    const checks = Object.fromEntries(report.hosts[0].checks.map((c) => [c.id, c]));
    expect(Object.keys(checks)).toEqual([
      "ssh",
      "docker-version",
      "nvidia-runtime",
      "gpus-declared",
      "gpu-memory",
      "gpu-memory-held",
      "ports",
      "external-volumes",
      "bind-sources",
      "disk-space",
      "buildkit",
      "registry-credentials",
    ]);
    expect(checks["gpus-declared"]).toMatchObject({
      level: "fail",
      summary: "hosts.local.gpus declares 2 GPUs, nvidia-smi reports 1",
    });
    expect(checks.ports).toMatchObject({
      level: "fail",
      summary: `services.gpu.ports[0] ${world.port}/tcp is held by container ${names.foreign} (not a gpu-services container)`,
    });
    expect(checks["external-volumes"]).toMatchObject({
      level: "fail",
      summary: `external volume(s) missing: ${names.missing} (services.gpu)`,
    });
    expect(checks["external-volumes"].fix).toContain("volume create");
    expect(checks["nvidia-runtime"].level).toBe("ok");
    expect(checks["registry-credentials"]).toMatchObject({ level: "ok" });
    expect(checks["docker-version"].level).toBe("ok");
    expect(shape(withoutCode(report))).toEqual({
      checkedAt: "string",
      exitCode: "number",
      result: "string",
      stack: "string",
      hosts: [
        {
          checks: [{ id: "string", level: "string", summary: "string" }],
          dockerHost: "string",
          name: "string",
          notRun: [],
          reachable: "boolean",
          seconds: "number",
        },
      ],
    });
    remove(names.foreign);
    docker(["volume", "create", names.missing]);
    fs.writeFileSync(path.join(world.projectDir, `Pulumi.${STACK}.yaml`), stackText().replace("gpus: 2", "gpus: 1"));
    const fixed = await doctor();
    expect(fixed.hosts[0].checks.filter((c) => c.level === "fail")).toEqual([]);
    expect(fixed.code).toBe(0);
    docker(["volume", "rm", names.missing]);
  });

  it("doctor: a port held by a process outside Docker (this test's listener on the host): fail, saying so", async () => {
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(world.port, "0.0.0.0", resolve));
    try {
      const report = await doctor();
      const ports = report.hosts[0].checks.find((c) => c.id === "ports");
      expect(ports).toMatchObject({
        level: "fail",
        summary: `services.gpu.ports[0] ${world.port}/tcp is held by a process outside Docker (listen tcp4 0.0.0.0:${world.port}: bind: address already in use)`,
      });
      expect(ports?.fix).toContain("ss -ltnp");
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
    // Free again: Docker binds it for the probe, which ran nothing and is gone.
    const again = (await doctor()).hosts[0].checks.find((c) => c.id === "ports");
    expect(again).toMatchObject({
      level: "ok",
      summary: expect.stringContaining("Docker could bind the 1 no container holds"),
    });
    expect(docker(["ps", "-a", "--filter", "label=gpu-services.probe", "--format", "{{.Names}}"])).toBe("");
  });

  it("a host that cannot be reached is named within the bound, the other still shown; neither says in sync", async () => {
    const dead = path.join(tempDir("no-daemon"), "docker.sock");
    const extra = `    gone:\n      dockerHost: unix://${dead}\n      address: 127.0.0.1\n`;
    fs.writeFileSync(path.join(world.projectDir, `Pulumi.${STACK}.yaml`), stackText(extra));
    runAsPulumiWould();
    const started = Date.now();
    const result = await cli(statusMain, "--stack", STACK, "--timeout", "5");
    const seconds = (Date.now() - started) / 1000;
    expect(result.code).toBe(3);
    expect(result.out).toContain(`host gone (unix://${dead}): NOT REACHABLE`);
    expect(result.out).toContain("host local (unix:///var/run/docker.sock): Docker");
    expect(result.out).not.toContain("all in sync");
    expect(result.out).not.toMatch(/\n\s+at /);
    expect(seconds).toBeLessThan(10);
    const checked = await cli(doctorMain, "--stack", STACK, "--timeout", "5");
    expect(checked.code).toBe(3);
    expect(checked.out).toContain(`host gone (unix://${dead}): NOT REACHABLE`);
    expect(checked.out).toMatch(/FAIL\s+docker-version\s+host "gone"/);
    remove(names.gpu);
  });

  it("bad input is a usage error naming the stacks there are (exit 2)", async () => {
    const result = await cli(statusMain, "--stack", "nope");
    expect(result.code).toBe(2);
    expect(result.err).toContain('unknown stack "nope"');
  });
});
