/**
 * The docker CLI pointed at one host of the stack (`docker -H <dockerHost>`), every call bounded in time. For
 * `ssh://` hosts the CLI's own connection helper runs `ssh … docker system dial-stdio`, as the providers do; the
 * CLI takes no ssh options of its own (it ignores DOCKER_SSH_OPTS), so the host's `sshOpts` reach ssh through a
 * wrapper first on the PATH that adds them, with BatchMode (never a password prompt) and a connect timeout.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { HostSpec } from "../model";
import { ReportedError } from "../errors";

/** How long one docker call may take before the host counts as not answering. */
export const DEFAULT_CALL_TIMEOUT_MS = 15_000;
/** ssh's own bound on connecting and on the banner exchange, per attempt. */
export const SSH_CONNECT_TIMEOUT_S = 5;

export interface CallResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A host that could not be reached: the message names it and says why, without a stack trace. */
export class HostUnreachable extends Error {
  constructor(
    readonly host: string,
    readonly dockerHost: string,
    readonly reason: string,
  ) {
    super(`host "${host}" (${dockerHost}): ${reason}`);
    this.name = "HostUnreachable";
  }
}

/**
 * This machine's docker CLI is missing or cannot be executed: no host can be read (exit as for an unreachable host),
 * said in one line naming what is missing.
 */
export class DockerCliUnusable extends ReportedError {
  constructor(readonly reason: string) {
    super("unresolved", `the docker CLI, which reads every host, cannot be run here: ${reason}`);
    this.name = "DockerCliUnusable";
  }
}

const INSTALL = "install Docker's CLI (Debian: docker.io, or docker-ce-cli) or put it on the PATH";

/** What a spawn of `docker` that never ran it means, with the fix; undefined for any other failure. */
function unusableReason(error: NodeJS.ErrnoException, pathEnv: string): string | undefined {
  const onPath = pathEnv
    .split(":")
    .map((dir) => path.join(dir || ".", "docker"))
    .find((file) => fs.existsSync(file));
  switch (error.code) {
    case "ENOENT":
      return onPath
        ? `"${onPath}" could not be started, its interpreter or loader is missing (${error.message}): ${INSTALL}`
        : `no "docker" on the PATH (${error.message}): ${INSTALL}`;
    case "EACCES":
    case "ENOEXEC":
    case "EISDIR":
      return `"${onPath ?? "docker"}" cannot be executed (${error.message}): make it executable, or put a working docker first on the PATH`;
    default:
      return undefined;
  }
}

/** What a failed connection's stderr means, in words an operator can act on. */
export function connectionReason(stderr: string, timedOut: boolean, timeoutMs: number): string {
  const text = stderr.trim();
  if (timedOut) return `did not answer within ${Math.round(timeoutMs / 1000)} s (the call was stopped there)`;
  if (/timed out/i.test(text)) {
    return `did not answer: ssh gave up after its ${SSH_CONNECT_TIMEOUT_S} s connect timeout (${lastLine(text)})`;
  }
  if (/Permission denied/i.test(text)) {
    return `ssh refused the key (${lastLine(text)}): check the key in sshOpts (-i) or the agent, and the user's authorized_keys`;
  }
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(text)) {
    return "ssh could not verify the host key: add the host's key to known_hosts (ssh-keyscan), never skip the check";
  }
  if (/Connection refused/i.test(text)) return `refused the connection (${lastLine(text)})`;
  if (/Could not resolve hostname|Name or service not known/i.test(text))
    return `unknown host name (${lastLine(text)})`;
  if (/Cannot connect to the Docker daemon|docker daemon running|dial-stdio/i.test(text)) {
    return `no Docker daemon answers there (${lastLine(text)})`;
  }
  return lastLine(text) || "the docker CLI failed without saying why";
}

function lastLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines.at(-1) ?? "";
  const stderrPart = /stderr=(.*)$/.exec(last);
  return (stderrPart ? stderrPart[1] : last).slice(0, 300);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The real ssh on the PATH (before any wrapper of ours). */
function realSsh(): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const candidate = path.join(dir, "ssh");
    if (dir && fs.existsSync(candidate) && !fs.readFileSync(candidate, "latin1").includes("gpu-services ssh wrapper")) {
      return candidate;
    }
  }
  return "/usr/bin/ssh";
}

/** A folder holding an `ssh` that runs the real one with the host's options (theirs first: ssh keeps the first). */
export function sshWrapperDir(sshOpts: readonly string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpu-services-ssh-"));
  const opts = [...sshOpts, "-o", "BatchMode=yes", "-o", `ConnectTimeout=${SSH_CONNECT_TIMEOUT_S}`];
  const script = [
    "#!/bin/sh",
    "# gpu-services ssh wrapper: the host's sshOpts for the docker CLI's ssh connection helper",
    `exec ${shellQuote(realSsh())} ${opts.map(shellQuote).join(" ")} "$@"`,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "ssh"), script, { mode: 0o755 });
  return dir;
}

/** The docker CLI for one host. `close()` removes the ssh wrapper. */
export class DockerCli {
  /** The folder of the ssh wrapper, for ssh:// hosts. */
  readonly wrapperDir?: string;

  constructor(
    readonly host: Pick<HostSpec, "name" | "dockerHost" | "sshOpts">,
    readonly timeoutMs = DEFAULT_CALL_TIMEOUT_MS,
  ) {
    if (host.dockerHost.startsWith("ssh://")) this.wrapperDir = sshWrapperDir(host.sshOpts);
  }

  /**
   * One docker command; never throws for a non-zero exit (the result says it). Rejects with DockerCliUnusable
   * when the docker CLI itself cannot be started.
   */
  call(args: readonly string[], timeoutMs = this.timeoutMs): Promise<CallResult & { timedOut: boolean }> {
    const env = this.env();
    return new Promise((resolve, reject) => {
      execFile(
        "docker",
        [...args],
        { env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 2 ** 20, encoding: "utf8" },
        (error, stdout, stderr) => {
          const err = error as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
          const unusable = err && typeof err.code === "string" ? unusableReason(err, env.PATH ?? "") : undefined;
          if (unusable) return reject(new DockerCliUnusable(unusable));
          const timedOut = Boolean(err?.killed);
          const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
          resolve({ code, stdout, stderr: err && !stderr ? err.message : stderr, timedOut });
        },
      );
    });
  }

  /** A docker command that must succeed; a connection failure is a HostUnreachable, another failure an Error. */
  async run(args: readonly string[], timeoutMs = this.timeoutMs): Promise<string> {
    const result = await this.call(args, timeoutMs);
    if (result.code === 0) return result.stdout;
    if (result.timedOut || isConnectionFailure(result.stderr)) {
      throw new HostUnreachable(
        this.host.name,
        this.host.dockerHost,
        connectionReason(result.stderr, result.timedOut, timeoutMs),
      );
    }
    throw new Error(`docker ${args[0]} on host "${this.host.name}": ${lastLine(result.stderr)}`);
  }

  /**
   * A docker command that runs until it ends or the caller kills it (`logs --follow`), its output read as it
   * comes. An `error` event with ENOENT or EACCES means the CLI cannot be run.
   */
  stream(args: readonly string[]): ChildProcess {
    return spawn("docker", [...args], { env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
  }

  /** The docker CLI's environment for this host: its DOCKER_HOST, and the ssh wrapper first on the PATH. */
  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: this.host.dockerHost };
    delete env.DOCKER_CONTEXT;
    if (this.wrapperDir) env.PATH = `${this.wrapperDir}:${process.env.PATH ?? ""}`;
    return env;
  }

  close(): void {
    if (this.wrapperDir) fs.rmSync(this.wrapperDir, { recursive: true, force: true });
  }
}

/** Whether stderr says the CLI never reached the daemon (as opposed to the daemon refusing a request). */
export function isConnectionFailure(stderr: string): boolean {
  return /error during connect|Cannot connect to the Docker daemon|dial-stdio|ssh:|Permission denied|Connection (refused|timed out|closed)|Host key verification failed|Could not resolve hostname/i.test(
    stderr,
  );
}
