/**
 * A second dockerd of the test's own, beside the shared one (which no test stops), in a network namespace of
 * its own (`ip netns`): its own --data-root, --exec-root (where dockerd 20.10 starts its own containerd),
 * --pidfile and unix socket (on the shared filesystem, so the Pulumi provider and the docker CLI reach it), its
 * own docker0, iptables rules and address pools, and the stand-in NVIDIA hook (.ci/nvidia-stand-in) first on its
 * PATH, so NVIDIA device requests start containers (no GPU is used). `stop()` and `restart()` stop the daemon
 * itself (SIGTERM, as `systemctl stop docker` does) and keep the data-root; `remove()` deletes all it made.
 *
 * Why a namespace, found by trying it: a daemon in the host's namespace must not touch iptables (dockerd
 * rewrites the DOCKER chains at its start) nor use docker0; and with `--default-address-pool` set (so its
 * networks do not overlap the shared daemon's), dockerd 20.10 deletes the interface named docker0 at every start
 * that finds its default bridge network stored (daemon_unix.go, "Clear stale bridge network"): the restart of
 * such a daemon took the shared daemon's docker0 away. In its own namespace none of that reaches the host.
 *
 * It enters only the network namespace (nsenter --net): `ip netns exec` would mount a /sys of its own, which
 * hides the cgroup mounts dockerd needs.
 *
 * Across the namespace: a veth pair (host 10.<octet>.254.1, namespace .2). Its registry (Debian's
 * docker-registry) runs inside, on the namespace's 127.0.0.1:5000, so its pulls are plain HTTP as for any
 * loopback registry; images go there from the shared daemon with `docker save | load` and a push by this daemon.
 * Published ports (bind them to 0.0.0.0 inside) are reached on the host's 127.0.0.1 through `forward(port)`, a
 * TCP relay to the namespace's address: a refused or reset connection inside is one outside.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { waitFor } from "./docker";
import { PROJECT_DIR } from "../support/harness";

export const STAND_IN_HOOK_DIR = path.join(PROJECT_DIR, ".ci", "nvidia-stand-in");
/** The registry inside the namespace, as image references name it. */
export const LAB_REGISTRY = "127.0.0.1:5000";

export interface DockerdOptions {
  /** A short id (letters and digits, at most 8): names the namespace `gsd<id>` and its veth pair. */
  readonly id: string;
  /** The second octet of the veth pair's addresses, 10.<octet>.254.0/30. Required. */
  readonly octet: number;
}

export class Dockerd {
  private pid?: number;
  private registry?: ChildProcess;
  private readonly relays: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly id: string,
    /** The folder holding its data-root, exec-root, socket, pidfile, logs and registry. */
    readonly dir: string,
    /** The network namespace it runs in. */
    readonly netns: string,
    /** The namespace's address on the veth pair: where `forward` dials. */
    readonly address: string,
  ) {}

  /** The Docker socket, as `hosts.<h>.dockerHost` takes it: `unix:///…/docker.sock`. */
  get host(): string {
    return `unix://${this.socket}`;
  }

  get socket(): string {
    return path.join(this.dir, "docker.sock");
  }

  get log(): string {
    return path.join(this.dir, "dockerd.log");
  }

  /** Start a new daemon and its registry. Paths stay short: containerd's socket must fit a sun_path. */
  static async start(options: DockerdOptions): Promise<Dockerd> {
    if (!/^[a-z0-9]{1,8}$/.test(options.id)) throw new Error(`dockerd id ${options.id}: 1-8 letters or digits`);
    const netns = `gsd${options.id}`;
    const [hostIf, nsIf] = [`${netns}h`, `${netns}n`];
    const net24 = `10.${options.octet}.254`;
    // Left by an earlier run that was killed: its namespace (and the veth pair with it).
    spawnSync("ip", ["netns", "del", netns], { stdio: "ignore" });
    const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
    ip("netns", "add", netns);
    ip("-n", netns, "link", "set", "lo", "up");
    ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
    ip("link", "set", nsIf, "netns", netns);
    ip("addr", "add", `${net24}.1/30`, "dev", hostIf);
    ip("link", "set", hostIf, "up");
    ip("-n", netns, "addr", "add", `${net24}.2/30`, "dev", nsIf);
    ip("-n", netns, "link", "set", nsIf, "up");
    const d = new Dockerd(options.id, fs.mkdtempSync(`/tmp/gsd${options.id}-`), netns, `${net24}.2`);
    await d.launch();
    await d.startRegistry();
    return d;
  }

  private async launch(): Promise<{ readyMs: number }> {
    const started = Date.now();
    const log = fs.openSync(this.log, "a");
    const child = spawn(
      "nsenter",
      [
        `--net=/var/run/netns/${this.netns}`,
        "dockerd",
        `--data-root=${path.join(this.dir, "data")}`,
        `--exec-root=${path.join(this.dir, "x")}`,
        `--pidfile=${path.join(this.dir, "dockerd.pid")}`,
        `--host=${this.host}`,
      ],
      {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...process.env, PATH: `${STAND_IN_HOOK_DIR}:${process.env.PATH}` },
      },
    );
    fs.closeSync(log);
    child.unref();
    this.pid = child.pid; // nsenter execs dockerd: the same process
    await waitFor(
      `the lab dockerd (${this.socket}; its log: ${this.log})`,
      async () => spawnSync("docker", ["-H", this.host, "info"], { stdio: "ignore" }).status === 0,
      60_000,
    );
    return { readyMs: Date.now() - started };
  }

  private async startRegistry(): Promise<void> {
    const config = path.join(this.dir, "registry.yml");
    fs.writeFileSync(
      config,
      [
        "version: 0.1",
        "log: {level: error}",
        `storage: {filesystem: {rootdirectory: ${path.join(this.dir, "registry")}}, delete: {enabled: true}}`,
        `http: {addr: "${LAB_REGISTRY}"}`,
        "",
      ].join("\n"),
    );
    this.registry = spawn("nsenter", [`--net=/var/run/netns/${this.netns}`, "docker-registry", "serve", config], {
      stdio: "ignore",
    });
    const probe = `exec 3<>/dev/tcp/127.0.0.1/5000 && printf 'GET /v2/ HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3`;
    await waitFor("the lab registry", async () => {
      const r = spawnSync("nsenter", [`--net=/var/run/netns/${this.netns}`, "bash", "-c", probe], { encoding: "utf8" });
      return / 200 /.test(r.stdout);
    });
  }

  /** `docker -H <its socket> …`, the output trimmed. */
  docker(args: string[], input?: string): string {
    return execFileSync("docker", ["-H", this.host, ...args], {
      encoding: "utf8",
      input,
      stdio: [input ? "pipe" : "ignore", "pipe", "pipe"],
    }).trim();
  }

  /**
   * Move `ref`, an image of the shared daemon, into the lab registry as `LAB_REGISTRY/<name>:<tag>`: save, load
   * here, push, and remove it here again, so that the stack really pulls it. Returns the digest the registry gave.
   */
  pushFromShared(ref: string, name: string, tag: string): string {
    const target = `${LAB_REGISTRY}/${name}:${tag}`;
    execFileSync("bash", ["-o", "pipefail", "-c", 'docker save "$1" | docker -H "$2" load -q', "-", ref, this.host], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.docker(["tag", ref, target]);
    this.docker(["push", target]);
    const digests = JSON.parse(this.docker(["image", "inspect", "--format", "{{json .RepoDigests}}", target]));
    const match = (digests as string[]).find((d) => d.startsWith(`${LAB_REGISTRY}/${name}@`));
    if (!match) throw new Error(`no digest for ${target} in ${digests.join(", ")}`);
    this.docker(["image", "rm", target, ref]);
    return match.slice(match.indexOf("@") + 1);
  }

  /** Relay the host's 127.0.0.1:`port` to the namespace's `port` (where the daemon published it on 0.0.0.0). */
  async forward(port: number): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(port, this.address);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
      }
      client.pipe(upstream);
      upstream.pipe(client);
      // A reset on one side is a reset on the other; an end, an end (pipe does that).
      upstream.on("error", () => client.resetAndDestroy());
      client.on("error", () => upstream.resetAndDestroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.relays.push(server);
  }

  /** Stop the daemon (SIGTERM; it stops its containers first) and wait for it to exit; ms taken. */
  async stop(): Promise<number> {
    const pid = this.pid;
    if (pid === undefined) return 0;
    const started = Date.now();
    process.kill(pid, "SIGTERM");
    await waitFor("the lab dockerd to exit", async () => !alive(pid), 120_000);
    this.pid = undefined;
    return Date.now() - started;
  }

  /** Stop the daemon and start it again on the same data-root: ms to stop, and from its start to its API. */
  async restart(): Promise<{ stopMs: number; readyMs: number }> {
    const stopMs = await this.stop();
    const { readyMs } = await this.launch();
    return { stopMs, readyMs };
  }

  /** Remove every container, stop the daemon and the registry, and delete the namespace and the folder. */
  async remove(): Promise<void> {
    for (const server of this.relays) server.close();
    for (const socket of this.sockets) socket.destroy();
    if (this.pid !== undefined) {
      const list = spawnSync("docker", ["-H", this.host, "ps", "-aq"], { encoding: "utf8" });
      const ids = (list.stdout ?? "").split("\n").filter(Boolean);
      if (ids.length) spawnSync("docker", ["-H", this.host, "rm", "-f", ...ids], { stdio: "ignore" });
      await this.stop();
    }
    this.registry?.kill();
    spawnSync("ip", ["netns", "del", this.netns], { stdio: "ignore" });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
