/**
 * A real OpenSSH server (Debian's openssh-server) on 127.0.0.1, run as this test's own process with a
 * throwaway host key, user key and known_hosts in a temporary folder (never the system's sshd or ~/.ssh), and
 * a listener that accepts connections and never says a word (a host that does not answer). Loopback only.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { freePort, waitFor } from "./docker";
import { tempDir } from "../support/gitRepos";

export const SSHD = "/usr/sbin/sshd";

function keygen(file: string): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", path.basename(file), "-f", file]);
}

export class Sshd {
  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    readonly port: number,
    /** The key sshd accepts, and one it does not know. */
    readonly userKey: string,
    readonly strangerKey: string,
    readonly knownHosts: string,
  ) {}

  /** sshd -D on 127.0.0.1:<free port>, accepting `userKey` for root (who may use the local dockerd). */
  static async start(): Promise<Sshd> {
    const dir = tempDir("sshd");
    for (const name of ["host_key", "user_key", "stranger_key"]) keygen(path.join(dir, name));
    fs.copyFileSync(path.join(dir, "user_key.pub"), path.join(dir, "authorized_keys"));
    fs.chmodSync(path.join(dir, "authorized_keys"), 0o600);
    const port = await freePort();
    const config = [
      `HostKey ${dir}/host_key`,
      "ListenAddress 127.0.0.1",
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      `PidFile ${dir}/sshd.pid`,
      "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "sshd_config"), config);
    // sshd refuses to start without its privilege separation folder.
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const log = fs.openSync(path.join(dir, "sshd.log"), "w");
    const child = spawn(SSHD, ["-D", "-e", "-f", path.join(dir, "sshd_config"), "-p", String(port)], {
      stdio: ["ignore", log, log],
    });
    const hostKey = fs.readFileSync(path.join(dir, "host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    const knownHosts = path.join(dir, "known_hosts");
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
    const sshd = new Sshd(child, dir, port, path.join(dir, "user_key"), path.join(dir, "stranger_key"), knownHosts);
    await waitFor("sshd", async () => {
      execFileSync("ssh", [...sshd.opts(), "-p", String(port), "root@127.0.0.1", "true"], { stdio: "ignore" });
      return true;
    });
    return sshd;
  }

  /** The host's `sshOpts`: this key, and only these known hosts, checked strictly. */
  opts(key = this.userKey): string[] {
    return [
      "-i",
      key,
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      `UserKnownHostsFile=${this.knownHosts}`,
      "-o",
      "StrictHostKeyChecking=yes",
    ];
  }

  get dockerHost(): string {
    return `ssh://root@127.0.0.1:${this.port}`;
  }

  log(): string {
    return fs.readFileSync(path.join(this.dir, "sshd.log"), "utf8");
  }

  stop(): void {
    this.child.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A TCP listener on 127.0.0.1 that accepts and stays silent: ssh waits for a banner that never comes. */
export async function silentListener(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
