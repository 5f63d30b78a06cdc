/**
 * What the e2e deploys from and to, all local: tiny images built here (a static busybox serving HTTP), Debian's
 * docker-registry on loopback standing in for GHCR, a git daemon serving the source of a buildable service, and
 * a BuildKit daemon that docker-build reaches through buildx's remote driver.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort, waitFor } from "./docker";
import { git, tempDir } from "../support/gitRepos";

/** The health endpoint the images serve, and the healthcheck that probes it from inside the container. */
export const HEALTH_PATH = "/health";
export const HEALTHCHECK_TEST = [
  "CMD",
  "/bin/busybox",
  "wget",
  "-q",
  "-O",
  "/dev/null",
  "http://127.0.0.1:8000/health",
];

const BUSYBOX = "/bin/busybox";

/** The release name the image answers with at `/cgi-bin/release` (GET, and POST after reading the body). */
export const RELEASE_PATH = "/cgi-bin/release";
/** Env of the web image: `/health` answers 404 until this many seconds after the start (a start period). */
export const HEALTHY_AFTER_ENV = "HEALTHY_AFTER_SECONDS";

/**
 * The CGI behind RELEASE_PATH: the release name (env `RELEASE`, baked into the image, a stack's `env` can
 * override it), and for a POST a second line with the number of body bytes it read.
 */
const RELEASE_CGI = `#!/bin/busybox sh
body="$RELEASE"
if [ "$REQUEST_METHOD" = POST ]; then
  body="$body
received $(/bin/busybox head -c "\${CONTENT_LENGTH:-0}" | /bin/busybox wc -c) bytes"
fi
# httpd closes after each answer. Say so (a proxy must not reuse the connection), and give the length (the answer
# is complete before the close, which can come as a reset after a POST).
printf 'Content-Type: text/plain\\r\\nConnection: close\\r\\nContent-Length: %d\\r\\n\\r\\n%s\\n' "$((\${#body} + 1))" "$body"
`;

/**
 * The entrypoint: with HEALTHY_AFTER_SECONDS set, the health file is held back that long after each start, so
 * the container answers on its port (index.html, the CGI) before Docker calls it healthy.
 */
const START_SCRIPT = `#!/bin/busybox sh
if [ "\${${HEALTHY_AFTER_ENV}:-0}" != 0 ]; then
  [ -f /www/health ] && /bin/busybox mv /www/health /health.later
  [ -f /health.later ] && (/bin/busybox sleep "\$${HEALTHY_AFTER_ENV}"; /bin/busybox mv /health.later /www/health) &
fi
exec /bin/busybox httpd -f -p 8000 -h /www
`;

/**
 * The files of a tiny web image: busybox httpd on port 8000 serving `index.html` (the release marker), the
 * release CGI (RELEASE_PATH, answering `release`, by default the marker) and, when healthy, `health`.
 */
export function writeWebSource(dir: string, marker: string, healthy = true, release = marker): void {
  const info = execFileSync("file", ["-L", BUSYBOX], { encoding: "utf8" });
  if (!info.includes("statically linked")) {
    throw new Error(`${BUSYBOX} is not statically linked (install busybox-static): ${info.trim()}`);
  }
  fs.mkdirSync(path.join(dir, "www", "cgi-bin"), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(dir, "busybox"));
  fs.chmodSync(path.join(dir, "busybox"), 0o755);
  fs.writeFileSync(path.join(dir, "www", "index.html"), `${marker}\n`);
  fs.writeFileSync(path.join(dir, "www", "cgi-bin", "release"), RELEASE_CGI, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "start"), START_SCRIPT, { mode: 0o755 });
  if (healthy) fs.writeFileSync(path.join(dir, "www", "health"), "ok\n");
  fs.writeFileSync(
    path.join(dir, "Dockerfile"),
    [
      "FROM scratch",
      "COPY busybox /bin/busybox",
      "COPY start /start",
      "COPY www /www",
      `ENV RELEASE=${JSON.stringify(release)}`,
      "EXPOSE 8000",
      'CMD ["/bin/busybox", "sh", "/start"]',
      "",
    ].join("\n"),
  );
}

/** Build a tiny web image with the daemon's classic builder (FROM scratch: nothing to pull). */
export function buildWebImage(ref: string, marker: string, healthy = true, release = marker): void {
  const dir = tempDir("web-image");
  writeWebSource(dir, marker, healthy, release);
  execFileSync("docker", ["build", "-q", "-t", ref, dir], {
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A git daemon on loopback serving one bare repository (`git://127.0.0.1:<port>/web.git`). */
export class GitServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly work: string,
    private readonly dir: string,
  ) {}

  static async start(marker: string): Promise<GitServer> {
    const dir = tempDir("git-server");
    const work = path.join(dir, "work");
    fs.mkdirSync(work);
    git(work, ["init", "-q", "-b", "main"]);
    writeWebSource(work, marker);
    git(work, ["add", "-A"]);
    git(work, ["commit", "-q", "-m", marker]);
    git(dir, ["clone", "-q", "--bare", work, "web.git"]);
    // BuildKit fetches a pinned commit by its hash.
    git(path.join(dir, "web.git"), ["config", "uploadpack.allowAnySHA1InWant", "true"]);
    git(work, ["remote", "add", "origin", path.join(dir, "web.git")]);
    const port = await freePort();
    const child = spawn(
      "git",
      ["daemon", "--reuseaddr", `--base-path=${dir}`, "--export-all", "--listen=127.0.0.1", `--port=${port}`, dir],
      { stdio: "ignore" },
    );
    const url = `git://127.0.0.1:${port}/web.git`;
    await waitFor("the git daemon", async () => {
      execFileSync("git", ["ls-remote", url], { stdio: "ignore" });
      return true;
    });
    return new GitServer(child, url, work, dir);
  }

  head(): string {
    return git(this.work, ["rev-parse", "HEAD"]);
  }

  /** A new commit on main with another release marker, pushed; returns its hash. */
  commit(marker: string): string {
    fs.writeFileSync(path.join(this.work, "www", "index.html"), `${marker}\n`);
    git(this.work, ["commit", "-q", "-am", marker]);
    git(this.work, ["push", "-q", "origin", "main"]);
    return this.head();
  }

  stop(): void {
    this.child.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A BuildKit daemon (built by scripts/pulumi-toolchain) and a buildx builder instance of the remote driver
 * pointing at it, in `dockerConfig` (the DOCKER_CONFIG the providers run with). docker-build picks it as the
 * first builder it can reach.
 */
export class BuildKit {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(buildkitd: string, dockerConfig: string): Promise<BuildKit> {
    const dir = tempDir("buildkit");
    const socket = path.join(dir, "buildkitd.sock");
    const log = fs.openSync(path.join(dir, "buildkitd.log"), "w");
    const child = spawn(
      buildkitd,
      [`--addr=unix://${socket}`, `--root=${path.join(dir, "root")}`, "--oci-worker=true", "--containerd-worker=false"],
      { stdio: ["ignore", log, log] },
    );
    await waitFor("buildkitd", async () => fs.existsSync(socket), 60_000);
    const instances = path.join(dockerConfig, "buildx", "instances");
    fs.mkdirSync(instances, { recursive: true });
    const builder = {
      Name: "e2e-buildkit",
      Driver: "remote",
      Nodes: [{ Name: "e2e-buildkit0", Endpoint: `unix://${socket}`, Platforms: null, Flags: null, Files: null }],
      Dynamic: false,
    };
    fs.writeFileSync(path.join(instances, builder.Name), JSON.stringify(builder));
    return new BuildKit(child, dir);
  }

  stop(): void {
    this.child.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
