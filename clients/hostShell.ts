/**
 * A read-only command on the Docker host itself (`test -w`, `df`), for what Docker's API does not show: over
 * ssh with the host's options for ssh:// hosts, here for the local socket; not possible for tcp:// hosts.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import type { CallResult, DockerCli } from "./dockerCli";

/** `ssh://user@host:port` as ssh's arguments. */
export function sshTarget(dockerHost: string): string[] {
  const url = new URL(dockerHost);
  const user = url.username ? `${decodeURIComponent(url.username)}@` : "";
  return [...(url.port ? ["-p", url.port] : []), `${user}${url.hostname.replace(/^\[|\]$/g, "")}`];
}

/** Run argv on the host; undefined where the host's shell cannot be reached this way (tcp://). */
export function runOnHost(cli: DockerCli, argv: readonly string[]): Promise<CallResult> | undefined {
  const dockerHost = cli.host.dockerHost;
  let command: string;
  let args: string[];
  if (dockerHost.startsWith("ssh://") && cli.wrapperDir) {
    command = path.join(cli.wrapperDir, "ssh");
    // ssh joins the remote words with spaces for the remote shell: quote each one.
    args = [...sshTarget(dockerHost), "--", ...argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`)];
  } else if (dockerHost.startsWith("unix://")) {
    [command, ...args] = argv;
  } else {
    return undefined;
  }
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: cli.timeoutMs, killSignal: "SIGKILL", encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error
          ? typeof (error as NodeJS.ErrnoException).code === "number"
            ? Number((error as NodeJS.ErrnoException).code)
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
