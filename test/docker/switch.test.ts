/**
 * The switch image on the real dockerd: the switch container (the contract's command, a volume at /data, its
 * port published on 127.0.0.1), a busybox-httpd service container on the switch's user network, and a push
 * container that runs `gpu-switch apply` with a real plan in the switch's network namespace and the Docker
 * socket. Traffic through the switch is answered by the service; `docker restart` of the switch keeps the
 * routing (autosave.json and the route table gpu-switch-upstreams.json in the volume, `caddy run --resume`). No
 * GPU is involved.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerAvailable, freePort, registryAvailable, requireDocker, Registry, waitFor } from "../labs/docker";
import { HEALTHCHECK_TEST } from "../labs/e2eFixtures";
import { tempDir } from "../support/gitRepos";
import { buildGpuWebImage } from "../labs/gpuImage";
import { SWITCH_HEALTHCHECK } from "../../switch/gpuSwitch";
import { buildSwitchImage, SWITCH_BINARIES, SWITCH_COMMAND, switchBin, type SwitchImage } from "../labs/switchImage";

const haveBinaries = (() => {
  try {
    switchBin();
    return true;
  } catch {
    return false;
  }
})();
const run = (dockerAvailable && registryAvailable && haveBinaries) || requireDocker;

describe.runIf(run)("the switch image on a real dockerd", () => {
  const id = `t${process.pid}`;
  const names = {
    network: `gpu-switch-${id}`,
    volume: `gpu-switch-${id}-data`,
    service: `web-${id}-1a2b3c`,
    push: `web-${id}-switch-push`,
  };
  const webImage = `gpu-services-switch-test/web:${id}`;
  let registry: Registry;
  let image: SwitchImage;
  let port: number;
  let planDir: string;

  beforeAll(async () => {
    registry = await Registry.start();
    image = await buildSwitchImage(registry.address);
    buildGpuWebImage(webImage, `release ${id}`); // with a /bin/sh for --health-cmd
    port = await freePort();
    planDir = tempDir("switch-plan");
  }, 300_000);

  afterAll(async () => {
    for (const name of [names.push, names.network, names.service]) {
      spawnSync("docker", ["rm", "-f", "-v", name], { stdio: "ignore" });
    }
    spawnSync("docker", ["network", "rm", names.network], { stdio: "ignore" });
    spawnSync("docker", ["volume", "rm", names.volume], { stdio: "ignore" });
    for (const ref of [webImage, `${image?.repository}:${image?.tag}`]) {
      spawnSync("docker", ["image", "rm", "-f", ref], { stdio: "ignore" });
    }
    await registry?.remove();
    if (planDir) fs.rmSync(planDir, { recursive: true, force: true });
  });

  const health = (name: string) => docker(["inspect", "--format", "{{.State.Health.Status}}", name]);
  const answer = async () => (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })).text();

  it("is FROM scratch with the two static binaries, pinned by the digest the registry gave", () => {
    expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const [inspect] = JSON.parse(docker(["image", "inspect", `${image.repository}@${image.digest}`]));
    expect(inspect.RootFS.Layers).toHaveLength(3); // FROM scratch: caddy, gpu-switch, bootstrap.json
    const config = inspect.Config;
    expect(config.Cmd).toEqual(SWITCH_COMMAND);
    expect(config.Healthcheck.Test).toEqual(SWITCH_HEALTHCHECK.tests);
    expect(config.Env).toEqual(expect.arrayContaining(["XDG_CONFIG_HOME=/data/config", "XDG_DATA_HOME=/data/data"]));
    const bin = switchBin();
    for (const name of SWITCH_BINARIES) {
      const info = spawnSync("file", ["-L", path.join(bin, name)], { encoding: "utf8" }).stdout;
      expect(info).toMatch(/statically linked/);
    }
  });

  it("routes through a push container to a healthy service, and keeps the routing over a restart", async () => {
    docker(["network", "create", names.network]);
    docker(["volume", "create", names.volume]);
    const ref = `${image.repository}@${image.digest}`;
    docker([
      "run", "-d", "--name", names.network, "--network", names.network, "--restart", "unless-stopped",
      "-v", `${names.volume}:/data`, "-p", `127.0.0.1:${port}:${port}`, ref, ...SWITCH_COMMAND,
    ]); // prettier-ignore
    await waitFor("the switch to be healthy", async () => health(names.network) === "healthy", 60_000);
    // Before any push, the switch holds the port but routes nothing.
    await expect(answer()).rejects.toThrow();

    // The service starts with a start period; the push waits for its health, as it does in `pulumi up`.
    docker([
      "run", "-d", "--name", names.service, "--network", names.network, "--network-alias", `web-${id}`,
      "--health-cmd", HEALTHCHECK_TEST.slice(1).join(" "), "--health-interval", "1s", "--health-start-period", "2s",
      webImage,
    ]); // prettier-ignore
    const plan = {
      version: 1,
      stack: id,
      switch: { holdSeconds: 10, streamCloseDelay: "1h", tlsHost: "127.0.0.1" },
      services: [
        {
          name: "web",
          container: names.service,
          strategy: "blue-green",
          waitSeconds: 60,
          drainSeconds: 0,
          scheme: "http",
          ports: [{ listen: port, target: 8000 }],
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
    const exitCode = docker(["inspect", "--format", "{{.State.ExitCode}}", names.push]);
    expect({ exitCode, stdout: push.stdout, stderr: push.stderr }).toMatchObject({
      exitCode: "0",
      stdout: '{"switched":["web"],"failed":[],"kept":[]}\n',
    });
    expect(push.stderr).toContain(`web: ${names.service} is ready (running, health healthy)`);
    expect(health(names.service)).toBe("healthy");
    expect(await answer()).toBe(`release ${id}\n`);

    docker(["restart", names.network]);
    await waitFor("the restarted switch to be healthy", async () => health(names.network) === "healthy", 60_000);
    expect(await answer()).toBe(`release ${id}\n`);
    // What --resume read: the last config the push loaded, and the route table beside it, in the volume.
    docker(["cp", `${names.network}:/data/config/caddy/autosave.json`, planDir]);
    const autosave = fs.readFileSync(path.join(planDir, "autosave.json"), "utf8");
    expect(autosave).toContain(`"dynamic_upstreams":{"route":"web-${port}","source":"gpu_switch"}`); // as Caddy saves it: keys sorted
    docker(["cp", `${names.network}:/data/config/caddy/gpu-switch-upstreams.json`, planDir]);
    const table = JSON.parse(fs.readFileSync(path.join(planDir, "gpu-switch-upstreams.json"), "utf8"));
    // A version 1 plan's entry: the dial, a TCP check of its port, the plan's holdSeconds and no replay.
    expect(table).toEqual({
      version: 2,
      routes: {
        [`web-${port}`]: expect.objectContaining({
          dial: `${names.service}:8000`,
          readiness: expect.objectContaining({ kind: "tcp", port: 0, passes: 1 }), // port 0: the dial's
          hold: { seconds: 10, queue: 256, replay: false, expectedSeconds: 0 },
        }),
      },
    });
  }, 240_000);
});
