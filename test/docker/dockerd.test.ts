/**
 * The e2e's own dockerd (test/labs/dockerd.ts) beside the shared one: it starts in its own network namespace,
 * starts containers with an NVIDIA device request (the stand-in hook), brings a container with a restart policy
 * back after its own restart, and leaves the host's docker0 alone. A daemon with `--default-address-pool` in the
 * host's namespace deleted the shared daemon's docker0 at its restart (dockerd 20.10, seen here once).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable, requireDocker, waitFor } from "../labs/docker";
import { Dockerd } from "../labs/dockerd";
import { tempDir } from "../support/gitRepos";

const canNetns = spawnSync("ip", ["netns", "list"], { stdio: "ignore" }).status === 0;
const run = (dockerAvailable && canNetns && process.getuid?.() === 0) || requireDocker;
const hostLinks = () => execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
const IMAGE = "lab/busybox:1";

describe.runIf(run)("the e2e's own dockerd", () => {
  let d: Dockerd;

  beforeAll(async () => {
    d = await Dockerd.start({ id: `t${process.pid % 100000}`, octet: 217 });
    // A busybox image made here (no registry is reachable): `docker import` of a one-file root.
    const root = tempDir("lab-busybox");
    fs.mkdirSync(path.join(root, "bin"));
    fs.copyFileSync("/bin/busybox", path.join(root, "bin", "busybox"));
    fs.chmodSync(path.join(root, "bin", "busybox"), 0o755);
    const tar = execFileSync("tar", ["-C", root, "-c", "."], { maxBuffer: 1 << 26 });
    execFileSync("docker", ["-H", d.host, "import", "-", IMAGE], { input: tar, stdio: ["pipe", "ignore", "pipe"] });
    fs.rmSync(root, { recursive: true, force: true });
  }, 120_000);

  afterAll(async () => {
    await d?.remove();
  });

  it("runs in its own namespace with the stand-in hook, restarts with its containers, and leaves docker0 alone", async () => {
    const linksBefore = hostLinks();
    // Its own docker0, in its own namespace, not the host's.
    const inside = execFileSync("ip", ["-n", d.netns, "-o", "link", "show"], { encoding: "utf8" });
    expect(inside).toMatch(/: docker0:/);
    // NVIDIA device requests start a container (the stand-in hook; no GPU is used).
    expect(d.docker(["run", "--rm", "--gpus", "device=0", IMAGE, "/bin/busybox", "echo", "started"])).toBe("started");
    d.docker(["run", "-d", "--name", "kept", "--restart", "unless-stopped", IMAGE, "/bin/busybox", "sleep", "600"]);

    const { stopMs, readyMs } = await d.restart();
    expect(stopMs).toBeGreaterThan(0);
    expect(readyMs).toBeGreaterThan(0);
    await waitFor("the container back after the daemon's restart", async () => {
      return d.docker(["inspect", "--format", "{{.State.Running}}", "kept"]) === "true";
    });
    // The shared daemon's docker0 is where it was (other interfaces come and go with other tests' containers).
    const hasDocker0 = (text: string) => /^\d+: docker0:/m.test(text);
    expect(hasDocker0(hostLinks())).toBe(hasDocker0(linksBefore));
  }, 180_000);
});
