/**
 * A real Docker engine and a real registry (Debian's docker-registry) for tests. `.ci/run` installs and starts
 * them; where they are missing outside CI, the tests that need them are skipped, and in CI they fail.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { tempDir } from "../support/gitRepos";

export const dockerAvailable = spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
export const registryAvailable =
  spawnSync("sh", ["-c", "command -v docker-registry"], { stdio: "ignore" }).status === 0;
/** In CI the Docker tests must run: a missing engine is a failure there, not a skip. */
export const requireDocker = process.env.CI === "true" || process.env.CI === "1";

export function docker(args: string[], input?: Buffer | string): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    input,
    stdio: [input ? "pipe" : "ignore", "pipe", "pipe"],
  }).trim();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Debian's docker-registry on a free loopback port, storing in a temporary folder, without auth or with HTTP
 * Basic (`auth: htpasswd`, one user, a bcrypt hash made by the system's crypt(3)); it can be paused and resumed
 * with its data (the port stays).
 */
export class Registry {
  private child?: ChildProcess;
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(opts: { htpasswd?: { username: string; password: string } } = {}): Promise<Registry> {
    const registry = new Registry(await freePort(), tempDir("registry"));
    const auth: string[] = [];
    if (opts.htpasswd) {
      const file = path.join(registry.dir, "htpasswd");
      const salt = `$2b$05$${"abcdefghijklmnopqrstuv"}`;
      const hash = execFileSync("perl", ["-e", "print crypt($ARGV[0], $ARGV[1])", opts.htpasswd.password, salt], {
        encoding: "utf8",
      });
      if (!hash.startsWith("$2b$05$")) throw new Error(`crypt(3) made no bcrypt hash here: ${hash}`);
      fs.writeFileSync(file, `${opts.htpasswd.username}:${hash}\n`);
      auth.push(`auth: {htpasswd: {realm: test-registry, path: ${file}}}`);
    }
    fs.writeFileSync(
      path.join(registry.dir, "config.yml"),
      [
        "version: 0.1",
        "log: {level: error}",
        `storage: {filesystem: {rootdirectory: ${path.join(registry.dir, "data")}}, delete: {enabled: true}}`,
        `http: {addr: "127.0.0.1:${registry.port}"}`,
        ...auth,
        "",
      ].join("\n"),
    );
    await registry.resume();
    return registry;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    this.child = spawn("docker-registry", ["serve", path.join(this.dir, "config.yml")], { stdio: "ignore" });
    await waitFor("the registry", async () => [200, 401].includes((await fetch(`http://${this.address}/v2/`)).status));
  }

  /** Stop answering (the data stays). */
  async pause(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill();
    await exited;
    this.child = undefined;
  }

  async remove(): Promise<void> {
    await this.pause();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A tiny image made from local files (no registry pull is possible here): `docker import` of a tarball holding
 * one file whose content makes the image unique.
 */
export function importTinyImage(ref: string, content: string): void {
  const dir = tempDir("rootfs");
  fs.writeFileSync(path.join(dir, "release.txt"), content);
  const tar = execFileSync("tar", ["-C", dir, "-c", "."]);
  docker(["import", "-", ref], tar);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Push and return the digest the registry gave the manifest. */
export function pushAndDigest(ref: string): string {
  docker(["push", ref]);
  const digests = JSON.parse(docker(["image", "inspect", "--format", "{{json .RepoDigests}}", ref])) as string[];
  const repo = ref.replace(/:[^:/]+$/, "");
  const match = digests.find((d) => d.startsWith(`${repo}@`));
  if (!match) throw new Error(`no digest for ${ref} in ${digests.join(", ")}`);
  return match.slice(repo.length + 1);
}

/**
 * `docker login` to a registry with htpasswd into a DOCKER_CONFIG of its own, then push `ref` with it: the digest
 * the registry gave the manifest, and that DOCKER_CONFIG (which holds the login).
 */
export function pushWithLogin(
  registry: Registry,
  user: { username: string; password: string },
  ref: string,
): { digest: string; dockerConfig: string } {
  const dockerConfig = tempDir("docker-login");
  const withLogin = (args: string[], input?: string) =>
    execFileSync("docker", ["--config", dockerConfig, ...args], {
      encoding: "utf8",
      input,
      stdio: [input ? "pipe" : "ignore", "pipe", "pipe"],
    }).trim();
  withLogin(["login", "-u", user.username, "--password-stdin", registry.address], user.password);
  withLogin(["push", ref]);
  const repo = ref.replace(/:[^:/]+$/, "");
  const digests = JSON.parse(withLogin(["image", "inspect", "--format", "{{json .RepoDigests}}", ref])) as string[];
  const match = digests.find((d) => d.startsWith(`${repo}@`));
  if (!match) throw new Error(`no digest for ${ref} in ${digests.join(", ")}`);
  return { digest: match.slice(repo.length + 1), dockerConfig };
}
