/**
 * Resolve an image tag to its immutable digest with the registry's HTTP API (distribution spec), the way
 * `docker pull` does: HEAD the manifest, asking for OCI and Docker manifests and indexes; on a 401, follow the
 * Bearer challenge to the registry's token service (anonymous, or with credentials), then ask again.
 */
import { createHash } from "node:crypto";
import { EXIT, ReleaseError } from "./errors";

/** Manifest media types a pull accepts: multi-platform indexes first, then single manifests. */
export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

export interface ResolveOptions {
  /** Injected for tests; default the global fetch. */
  readonly fetch?: typeof fetch;
  /** Credentials for the token service; default anonymous. */
  readonly credentials?: RegistryCredentials;
}

export interface RepositoryLocation {
  /** Registry host as written (ghcr.io, 127.0.0.1:5000, docker.io). */
  readonly registry: string;
  /** Repository path inside the registry (jim0237/tts-v2-api-server, library/nginx). */
  readonly path: string;
  /** Base URL of the registry API. */
  readonly baseUrl: string;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

/** Where a repository lives: `ghcr.io/owner/name` -> https://ghcr.io, `nginx` -> Docker Hub `library/nginx`. */
export function locate(repository: string): RepositoryLocation {
  const [first, ...rest] = repository.split("/");
  const hasRegistry = rest.length > 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  if (!hasRegistry) {
    const path = rest.length === 0 ? `library/${first}` : repository;
    return { registry: "docker.io", path, baseUrl: "https://registry-1.docker.io" };
  }
  // Like Docker, a registry on the loopback address is spoken to over plain HTTP.
  const scheme = LOOPBACK.test(first) ? "http" : "https";
  return { registry: first, path: rest.join("/"), baseUrl: `${scheme}://${first}` };
}

function parseChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^Bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]] = m[2];
  return params.realm ? params : undefined;
}

/** The digest `repository:reference` points at now (reference: a tag, or a digest to check that it exists). */
export async function resolveDigest(
  repository: string,
  reference: string,
  options: ResolveOptions = {},
): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const where = locate(repository);
  const url = `${where.baseUrl}/v2/${where.path}/manifests/${reference}`;
  const headers: Record<string, string> = { Accept: MANIFEST_ACCEPT };
  const ask = async (method: "HEAD" | "GET") => {
    try {
      return await doFetch(url, { method, headers });
    } catch (e) {
      throw new ReleaseError(
        EXIT.unresolved,
        `cannot reach ${where.registry} for ${repository}: ${(e as Error).message}`,
      );
    }
  };

  let res = await ask("HEAD");
  if (res.status === 401) {
    const challenge = parseChallenge(res.headers.get("www-authenticate"));
    if (!challenge)
      throw new ReleaseError(EXIT.unresolved, `${where.registry} asks for authentication this tool does not speak`);
    const tokenUrl = new URL(challenge.realm);
    if (challenge.service) tokenUrl.searchParams.set("service", challenge.service);
    tokenUrl.searchParams.set("scope", challenge.scope ?? `repository:${where.path}:pull`);
    const tokenHeaders: Record<string, string> = {};
    if (options.credentials) {
      const basic = Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString("base64");
      tokenHeaders.Authorization = `Basic ${basic}`;
    }
    const tokenRes = await doFetch(tokenUrl.toString(), { method: "GET", headers: tokenHeaders });
    if (!tokenRes.ok) {
      throw new ReleaseError(
        EXIT.unresolved,
        `${where.registry} refused a pull token for ${where.path} (HTTP ${tokenRes.status})`,
      );
    }
    const body = (await tokenRes.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new ReleaseError(EXIT.unresolved, `${where.registry}'s token service returned no token`);
    headers.Authorization = `Bearer ${token}`;
    res = await ask("HEAD");
  }
  if (res.status === 404) {
    throw new ReleaseError(EXIT.unresolved, `${repository}:${reference} does not exist in ${where.registry}`);
  }
  if (!res.ok) {
    throw new ReleaseError(
      EXIT.unresolved,
      `${where.registry} answered HTTP ${res.status} for ${repository}:${reference}`,
    );
  }
  let digest = res.headers.get("docker-content-digest");
  if (!digest) {
    // Some registries send the digest only with the body: hash the manifest bytes ourselves.
    const full = await ask("GET");
    digest = `sha256:${createHash("sha256")
      .update(Buffer.from(await full.arrayBuffer()))
      .digest("hex")}`;
  }
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) {
    throw new ReleaseError(EXIT.unresolved, `${where.registry} returned an unexpected digest "${digest}"`);
  }
  return digest;
}
