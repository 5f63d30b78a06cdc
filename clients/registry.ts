/**
 * Resolve an image tag to its immutable digest with the registry's HTTP API (distribution spec), the way
 * `docker pull` does: HEAD the manifest, asking for OCI and Docker manifests and indexes; on a 401, follow the
 * Bearer challenge to the registry's token service (anonymous, or with credentials), then ask again; or, where the
 * registry asks for HTTP Basic itself (a self-hosted registry with htpasswd), ask again with its credentials.
 */
import { createHash } from "node:crypto";
import { DIGEST_RE } from "../formats";
import { ReportedError } from "../errors";
import { noAnswerWithin } from "./remote";

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
  /**
   * Credentials for a registry host (`ghcr.io`, `127.0.0.1:5000`), offered only to that registry's own token
   * service; default none (anonymous).
   */
  readonly credentialsFor?: (registryHost: string) => RegistryCredentials | undefined;
  /** Credentials for this repository's own registry (as `credentialsFor` answering for that host only). */
  readonly credentials?: RegistryCredentials;
  /** How long each request may take; default 30 s. */
  readonly timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface RepositoryLocation {
  /** Registry host as written (ghcr.io, 127.0.0.1:5000, docker.io). */
  readonly registry: string;
  /** Repository path inside the registry (jim0237/tts-v2-api-server, library/nginx). */
  readonly path: string;
  /** Base URL of the registry API. */
  readonly baseUrl: string;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

/** `auth.docker.io` and `registry-1.docker.io` are one site; an IP address or a bare name is its own. */
function siteOf(host: string): string {
  const name = host.replace(/:\d+$/, "").toLowerCase();
  if (/^[\d.]+$/.test(name) || name.startsWith("[") || !name.includes(".")) return name;
  return name.split(".").slice(-2).join(".");
}

/** Whether a token service may be asked at all: over https, or over http from a loopback registry to a loopback realm (as Docker allows). */
function isSecureRealm(registry: string, realm: URL): boolean {
  return (
    realm.protocol === "https:" || (realm.protocol === "http:" && LOOPBACK.test(registry) && LOOPBACK.test(realm.host))
  );
}

/** Whether credentials for `registry` may go to a token service at `realm`: a secure one, on the registry's own site. */
export function mayReceiveCredentials(registry: string, realm: URL): boolean {
  return (
    isSecureRealm(registry, realm) &&
    siteOf(realm.host) === siteOf(registry === "docker.io" ? "registry-1.docker.io" : registry)
  );
}

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

/** A fetch that gives up after `timeoutMs` and says which remote did not answer. */
function bounded(doFetch: typeof fetch, timeoutMs: number, what: string) {
  return async (url: string, init: RequestInit): Promise<Response> => {
    try {
      return await doFetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const error = e as Error;
      if (error.name === "TimeoutError" || error.name === "AbortError") {
        throw new ReportedError("unresolved", noAnswerWithin(what, timeoutMs));
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ReportedError("unresolved", `cannot reach ${what}: ${cause?.code ?? cause?.message ?? error.message}`);
    }
  };
}

/** The Bearer token a registry's challenge points at, asked for with credentials only where they belong. */
async function fetchToken(
  challenge: Record<string, string>,
  where: RepositoryLocation,
  options: ResolveOptions,
  doFetch: typeof fetch,
  timeoutMs: number,
): Promise<string> {
  let realm: URL;
  try {
    realm = new URL(challenge.realm);
  } catch {
    throw new ReportedError("unresolved", `${where.registry} names a token service that is not a URL`);
  }
  if (!isSecureRealm(where.registry, realm)) {
    throw new ReportedError(
      "unresolved",
      `${where.registry} names a token service that is not https (${realm.protocol}//${realm.host}); refusing to use it`,
    );
  }
  if (challenge.service) realm.searchParams.set("service", challenge.service);
  realm.searchParams.set("scope", challenge.scope ?? `repository:${where.path}:pull`);
  const headers: Record<string, string> = {};
  const credentials = options.credentialsFor?.(where.registry) ?? options.credentials;
  if (credentials && mayReceiveCredentials(where.registry, realm)) {
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
    headers.Authorization = `Basic ${basic}`;
  }
  const tokenService = `${where.registry}'s token service (${realm.host})`;
  const tokenRes = await bounded(
    doFetch,
    timeoutMs,
    tokenService,
  )(realm.toString(), {
    method: "GET",
    headers,
  });
  if (!tokenRes.ok) {
    const withheld =
      credentials && !headers.Authorization ? ` (credentials for ${where.registry} are not sent to ${realm.host})` : "";
    throw new ReportedError(
      "unresolved",
      `${where.registry} refused a pull token for ${where.path} (HTTP ${tokenRes.status})${withheld}`,
    );
  }
  let body: { token?: unknown; access_token?: unknown };
  try {
    body = (await tokenRes.json()) as typeof body;
  } catch {
    throw new ReportedError("unresolved", `${where.registry}'s token service answered something that is not JSON`);
  }
  const token = body?.token ?? body?.access_token;
  if (typeof token !== "string" || token === "") {
    throw new ReportedError("unresolved", `${where.registry}'s token service returned no token`);
  }
  return token;
}

/**
 * The `Authorization` of a registry that asks for HTTP Basic itself. Only its own credentials go, and only to it:
 * over https, or over plain HTTP to a loopback registry (as `locate` speaks to it, and as Docker allows).
 */
function basicAuthorization(where: RepositoryLocation, options: ResolveOptions): string {
  const credentials = options.credentialsFor?.(where.registry) ?? options.credentials;
  if (!credentials) {
    throw new ReportedError(
      "unresolved",
      `${where.registry} asks for credentials (HTTP Basic) and none are given for it`,
    );
  }
  if (!where.baseUrl.startsWith("https:") && !LOOPBACK.test(where.registry)) {
    throw new ReportedError(
      "unresolved",
      `${where.registry} asks for credentials over plain HTTP; refusing to send them`,
    );
  }
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

/** The digest `repository:reference` points at now (reference: a tag, or a digest to check that it exists). */
export async function resolveDigest(
  repository: string,
  reference: string,
  options: ResolveOptions = {},
): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  const where = locate(repository);
  const url = `${where.baseUrl}/v2/${where.path}/manifests/${reference}`;
  const headers: Record<string, string> = { Accept: MANIFEST_ACCEPT };
  const ask = (method: "HEAD" | "GET") =>
    bounded(doFetch, timeoutMs, `${where.registry} for ${repository}`)(url, { method, headers });

  let res = await ask("HEAD");
  if (res.status === 401) {
    const header = res.headers.get("www-authenticate");
    const challenge = parseChallenge(header);
    if (challenge) {
      headers.Authorization = `Bearer ${await fetchToken(challenge, where, options, doFetch, timeoutMs)}`;
      res = await ask("HEAD");
    } else if (header && /^Basic(\s|$)/i.test(header)) {
      headers.Authorization = basicAuthorization(where, options);
      res = await ask("HEAD");
      if (res.status === 401) {
        throw new ReportedError("unresolved", `${where.registry} refused the credentials for ${where.path} (HTTP 401)`);
      }
    } else {
      throw new ReportedError("unresolved", `${where.registry} asks for authentication this tool does not speak`);
    }
  }
  if (res.status === 404) {
    throw new ReportedError("unresolved", `${repository}:${reference} does not exist in ${where.registry}`);
  }
  if (!res.ok) {
    throw new ReportedError(
      "unresolved",
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
  if (!DIGEST_RE.test(digest)) {
    throw new ReportedError("unresolved", `${where.registry} returned an unexpected digest "${digest}"`);
  }
  if (reference.startsWith("sha256:") && digest !== reference) {
    throw new ReportedError(
      "unresolved",
      `${where.registry} answered ${digest} when asked for ${reference}; refusing to pin what was not asked for`,
    );
  }
  return digest;
}
