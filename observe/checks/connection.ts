/** Reaching the host: ssh with the configured options and known hosts, and a Docker engine the providers take. */
import { ok, fail, warn, type HostCheck } from "./types";

/** The oldest Engine API the docker and docker-build providers are used with here (Docker 20.10). */
export const MIN_API_VERSION = "1.41";

function apiAtLeast(version: string, min: string): boolean {
  const [a, b] = version.split(".").map(Number);
  const [c, d] = min.split(".").map(Number);
  return a > c || (a === c && b >= d);
}

export const sshCheck: HostCheck = ({ host }) => {
  if (!host.dockerHost.startsWith("ssh://")) return ok(`not an ssh host (${host.dockerHost})`);
  const opts =
    host.sshOpts.length > 0 ? ` with sshOpts ${host.sshOpts.join(" ")}` : " with the default key and known_hosts";
  return ok(
    `ssh to ${host.dockerHost.slice(6)}${opts}: connected, host key verified, docker system dial-stdio answered`,
  );
};

export const dockerVersionCheck: HostCheck = ({ snapshot }) => {
  const { serverVersion, apiVersion } = snapshot.engine;
  if (apiVersion === "unknown")
    return warn(`Docker ${serverVersion}: API version not reported`, "upgrade to Docker 20.10 or newer");
  if (!apiAtLeast(apiVersion, MIN_API_VERSION)) {
    return fail(
      `Docker ${serverVersion} (API ${apiVersion}) is older than API ${MIN_API_VERSION}`,
      "upgrade Docker Engine to 20.10 or newer",
    );
  }
  return ok(`Docker ${serverVersion} (API ${apiVersion}, at least ${MIN_API_VERSION})`);
};
