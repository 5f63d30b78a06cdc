/** Builds and pulls: a BuildKit builder for services that build, and registry credentials that are accepted. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { locate, resolveDigest, sourcedCredentialsFrom, type RegistryCredentials } from "../../clients";
import { fail, ok, warn, type CheckContext, type HostCheck } from "./types";

/** Builder instances docker-build can pick from the DOCKER_CONFIG it runs with. */
function buildxInstances(env: NodeJS.ProcessEnv): string[] {
  const dir = path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), ".docker"), "buildx", "instances");
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

export const buildkitCheck: HostCheck = ({ services, snapshot, env }) => {
  const building = services.filter((s) => s.image.kind === "build");
  if (building.length === 0) return ok("no service of this stack builds here");
  const instances = buildxInstances(env);
  const names = building.map((s) => s.name).join(", ");
  if (instances.length > 0)
    return ok(`${names} build with the buildx builder(s) ${instances.join(", ")} (DOCKER_CONFIG)`);
  if (!/^(\d+)\./.test(snapshot.engine.serverVersion) || Number(snapshot.engine.serverVersion.split(".")[0]) < 18) {
    return fail(
      `Docker ${snapshot.engine.serverVersion} has no BuildKit for ${names}`,
      "upgrade Docker Engine to 20.10 or newer",
    );
  }
  return ok(`${names} build with the daemon's own BuildKit (Docker ${snapshot.engine.serverVersion})`);
};

/** The credentials doctor tries a registry with, and where they come from. */
interface TriedCredentials {
  readonly credentials?: RegistryCredentials;
  /** For people: `registryAuth (hosts.h.registryAuth[0], secrets.x)`, `docker login (…)`, `anonymous`. */
  readonly source: string;
  /** Why the stack's own credentials for the registry were not used (its secret could not be read). */
  readonly unread?: string;
}

/**
 * What `pulumi up` would pull with: the host's `registryAuth` for the registry, its password read from the
 * stack's secrets; where there is none, or its secret cannot be read, what this machine has (REGISTRY_USERNAME/
 * REGISTRY_PASSWORD, `docker login`), else anonymous.
 */
async function credentialsToTry(ctx: CheckContext, registry: string): Promise<TriedCredentials> {
  const index = ctx.host.registryAuth.findIndex((a) => a.address === registry);
  const local = sourcedCredentialsFrom(ctx.env, registry)(registry);
  const fallback = local ? { credentials: local.credentials, source: local.source } : { source: "anonymous" };
  if (index < 0) return fallback;
  const auth = ctx.host.registryAuth[index];
  const key = `hosts.${ctx.host.name}.registryAuth[${index}]`;
  const secret = await ctx.readSecret(auth.passwordSecret);
  if ("value" in secret) {
    const source = `registryAuth (${key}, secrets.${auth.passwordSecret})`;
    return { credentials: { username: auth.username, password: secret.value }, source };
  }
  return { ...fallback, unread: `secrets.${auth.passwordSecret} of ${key} could not be read: ${secret.unreadable}` };
}

export const registryCredentialsCheck: HostCheck = async (ctx) => {
  const pulls = ctx.services.flatMap((s) => (s.image.kind === "registry" ? [{ s, image: s.image }] : []));
  if (pulls.length === 0) return ok("no service of this stack pulls here");
  const accepted: string[] = [];
  const unread: string[] = [];
  for (const { s, image } of pulls) {
    const registry = locate(image.repository).registry;
    const tried = await credentialsToTry(ctx, registry);
    if (tried.unread && !unread.includes(tried.unread)) unread.push(tried.unread);
    try {
      await resolveDigest(image.repository, image.digest ?? image.tag ?? "latest", {
        credentialsFor: (host) => (host === registry ? tried.credentials : undefined),
        timeoutMs: 10_000,
      });
      accepted.push(`${registry} (${s.name}, ${tried.source})`);
    } catch (error) {
      const said = `services.${s.name}: ${(error as Error).message} (with ${tried.source})`;
      // The stack's own credentials were not tried: whether they are accepted cannot be told here.
      if (tried.unread) return warn(`${said}; the stack's credentials not tried: ${tried.unread}`, UNREAD_FIX);
      return fail(
        said,
        `check hosts.${ctx.host.name}.registryAuth and its secret (or REGISTRY_USERNAME/REGISTRY_PASSWORD, docker login here), and that the image exists`,
      );
    }
  }
  const answered = `the registry answered for every pulled image: ${accepted.join(", ")}`;
  if (unread.length > 0)
    return warn(`${answered}; the stack's credentials not tried: ${unread.join("; ")}`, UNREAD_FIX);
  return ok(answered);
};

const UNREAD_FIX =
  "run doctor where the stack's secrets can be read: the Pulumi CLI on the PATH, logged in to the stack's backend, PULUMI_CONFIG_PASSPHRASE (or _FILE) set";
