/**
 * export-compose for real: a stack with a port, a named volume, a bind, env and a healthcheck, exported by the
 * CLI and run by real compose on a real dockerd. Its image is built from local files (a static busybox in a
 * FROM scratch image): no registry can be pulled from here.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../cli/compose";
import { findContainerId } from "../../compose/adopt";
import { EXIT } from "../../cli/errors";
import { docker, dockerAvailable, freePort, requireDocker, waitFor } from "../labs/docker";
import { tempDir } from "../support/gitRepos";

/** `docker compose` (v2) where the plugin exists, else Debian's docker-compose. */
function composeCommand(): string[] | undefined {
  if (spawnSync("docker", ["compose", "version"], { stdio: "ignore" }).status === 0) return ["docker", "compose"];
  if (spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0) return ["docker-compose"];
  return undefined;
}
const compose = composeCommand();
const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((p) => fs.existsSync(p));
const run = (dockerAvailable && compose !== undefined && busybox !== undefined) || requireDocker;

describe.runIf(run)("an exported stack under real compose", () => {
  const suffix = `${process.pid}-${Date.now()}`;
  const image = `gpu-services-test/web:${suffix}`;
  const volume = `gpu-services-test-data-${suffix}`;
  const project = "gpu-services-dev";
  let dir: string;
  let file: string;
  let port: number;

  const up = () =>
    execFileSync(compose![0], [...compose!.slice(1), "-p", project, "-f", file, "up", "-d"], { stdio: "pipe" });
  const down = (...extra: string[]) =>
    execFileSync(compose![0], [...compose!.slice(1), "-p", project, "-f", file, "down", ...extra], { stdio: "pipe" });
  const health = () => docker(["inspect", "--format", "{{.State.Health.Status}}", "web-dev"]);

  beforeAll(async () => {
    const context = tempDir("image");
    fs.copyFileSync(busybox!, path.join(context, "busybox"));
    fs.writeFileSync(
      path.join(context, "Dockerfile"),
      'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\n',
    );
    docker(["build", "-q", "-t", image, context]);

    const www = tempDir("www");
    fs.writeFileSync(path.join(www, "index.html"), "served from the bind mount\n");
    port = await freePort();
    dir = tempDir("compose-project");
    fs.writeFileSync(
      path.join(dir, "Pulumi.dev.yaml"),
      [
        "# A local stack for the compose test.",
        "config:",
        "  gpu-services:hosts:",
        "    local:",
        "      dockerHost: unix:///var/run/docker.sock",
        "  gpu-services:services:",
        "    web:",
        "      host: local",
        `      image: {repository: gpu-services-test/web, tag: "${suffix}"}`,
        "      command: [httpd, -f, -p, '8000', -h, /www]",
        `      ports: [{host: ${port}, container: 8000, hostIp: 127.0.0.1}]`,
        `      volumes: [{name: ${volume}, target: /data}]`,
        `      binds: [{source: ${www}, target: /www, readOnly: true}]`,
        "      env: {GREETING: hello-from-env}",
        "      healthcheck:",
        "        test: [CMD, /bin/busybox, wget, -q, -O, /dev/null, 'http://127.0.0.1:8000/']",
        "        interval: 1s",
        "        timeout: 2s",
        "        retries: 5",
        "        startPeriod: 1s",
        "      stopGraceSeconds: 2",
        "",
      ].join("\n"),
    );
    const out: string[] = [];
    const code = await main(["export-compose", "--stack", "dev", "--out", path.join(dir, "out")], {
      projectDir: dir,
      out: (s) => out.push(s),
      err: (s) => out.push(s),
    });
    expect(code).toBe(EXIT.ok);
    file = path.join(dir, "out", "dev-local.compose.yaml");
    expect(out).toEqual([file]);
  }, 120_000);

  afterAll(() => {
    try {
      down("-v");
    } catch {
      // already down
    }
    spawnSync("docker", ["image", "rm", "-f", image], { stdio: "ignore" });
  });

  it("comes up healthy, serves over HTTP on the published port, and keeps volume data across down and up", async () => {
    up();
    await waitFor("web-dev to be healthy", async () => health() === "healthy", 60_000);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("served from the bind mount\n");

    // env reaches the container; the named volume is the one the stack names.
    docker(["exec", "web-dev", "/bin/busybox", "sh", "-c", 'echo "$GREETING" > /data/greeting']);
    const mounts = JSON.parse(docker(["inspect", "--format", "{{json .Mounts}}", "web-dev"])) as {
      Type: string;
      Name?: string;
      Destination: string;
      RW: boolean;
    }[];
    expect(mounts.map((m) => [m.Type, m.Destination, m.RW]).sort()).toEqual([
      ["bind", "/www", false],
      ["volume", "/data", true],
    ]);
    expect(mounts.find((m) => m.Type === "volume")!.Name).toBe(volume);

    // Adoption finds the running container by name on the host, as import-compose --import-file does.
    expect(findContainerId("unix:///var/run/docker.sock", ["not-there", "web-dev"])).toBe(
      docker(["inspect", "--format", "{{.Id}}", "web-dev"]),
    );

    down();
    expect(spawnSync("docker", ["inspect", "web-dev"], { stdio: "ignore" }).status).not.toBe(0);
    expect(docker(["volume", "inspect", "--format", "{{.Name}}", volume])).toBe(volume);

    up();
    await waitFor("web-dev to be healthy again", async () => health() === "healthy", 60_000);
    expect(docker(["exec", "web-dev", "/bin/busybox", "cat", "/data/greeting"])).toBe("hello-from-env");
  }, 180_000);
});
