/**
 * Registry credentials for the release CLI, per registry host: from `docker login` (the `auths` of Docker's
 * config.json, where no credential helper is configured) and from REGISTRY_USERNAME/REGISTRY_PASSWORD, which
 * belong to REGISTRY_HOST when it is set and otherwise to the registry of the image being released. Either
 * way they are offered only to that registry's own token service, over https (clients/registry.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RegistryCredentials } from "./registry";

/** Docker's config.json keys auths by host, by URL (`https://ghcr.io`), and Docker Hub by its v1 URL. */
function normalizeHost(key: string): string {
  const host = key.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

function dockerConfigAuths(env: NodeJS.ProcessEnv): Map<string, RegistryCredentials> {
  const file = path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), ".docker"), "config.json");
  const found = new Map<string, RegistryCredentials>();
  let config: { auths?: Record<string, { auth?: string }> };
  try {
    config = JSON.parse(fs.readFileSync(file, "utf8")) as typeof config;
  } catch {
    return found; // no config, or not readable: no credentials from it
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (typeof entry?.auth !== "string") continue;
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0)
      found.set(normalizeHost(key), { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) });
  }
  return found;
}

/** Credentials with where they come from, for people (`REGISTRY_USERNAME/REGISTRY_PASSWORD`, `docker login (…)`). */
export interface SourcedCredentials {
  readonly credentials: RegistryCredentials;
  readonly source: string;
}

/** Credentials per registry host with their source; `imageRegistry` is the registry of the image being released. */
export function sourcedCredentialsFrom(
  env: NodeJS.ProcessEnv,
  imageRegistry: string,
): (registryHost: string) => SourcedCredentials | undefined {
  const fromDocker = dockerConfigAuths(env);
  const dockerSource = `docker login (${path.join(env.DOCKER_CONFIG ?? "~/.docker", "config.json")})`;
  const fromEnv =
    env.REGISTRY_USERNAME && env.REGISTRY_PASSWORD
      ? { username: env.REGISTRY_USERNAME, password: env.REGISTRY_PASSWORD }
      : undefined;
  const envHost = normalizeHost(env.REGISTRY_HOST ?? imageRegistry);
  return (registryHost) => {
    const host = normalizeHost(registryHost);
    if (fromEnv && host === envHost) return { credentials: fromEnv, source: "REGISTRY_USERNAME/REGISTRY_PASSWORD" };
    const docker = fromDocker.get(host);
    return docker ? { credentials: docker, source: dockerSource } : undefined;
  };
}

/** Credentials per registry host; `imageRegistry` is the registry of the image being released. */
export function credentialsFrom(
  env: NodeJS.ProcessEnv,
  imageRegistry: string,
): (registryHost: string) => RegistryCredentials | undefined {
  const sourced = sourcedCredentialsFrom(env, imageRegistry);
  return (registryHost) => sourced(registryHost)?.credentials;
}
