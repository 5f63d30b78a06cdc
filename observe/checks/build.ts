/** Builds and pulls: a BuildKit builder for services that build, and registry credentials that are accepted. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { credentialsFrom, locate, resolveDigest } from "../../release";
import { fail, ok, type HostCheck } from "./types";

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

export const registryCredentialsCheck: HostCheck = async ({ services, host, env }) => {
  const pulls = services.flatMap((s) => (s.image.kind === "registry" ? [{ s, image: s.image }] : []));
  if (pulls.length === 0) return ok("no service of this stack pulls here");
  const accepted: string[] = [];
  for (const { s, image } of pulls) {
    const registry = locate(image.repository).registry;
    const credentialsFor = credentialsFrom(env, registry);
    const configured = host.registryAuth.some((a) => a.address === registry);
    try {
      await resolveDigest(image.repository, image.digest ?? image.tag ?? "latest", {
        credentialsFor,
        timeoutMs: 10_000,
      });
      accepted.push(
        `${registry} (${s.name}${configured ? ", registryAuth" : ""}${credentialsFor(registry) ? ", with credentials" : ", anonymous"})`,
      );
    } catch (error) {
      return fail(
        `services.${s.name}: ${(error as Error).message}`,
        `check hosts.${host.name}.registryAuth and its secret (REGISTRY_USERNAME/REGISTRY_PASSWORD here), and that the image exists`,
      );
    }
  }
  return ok(`the registry answered for every pulled image: ${accepted.join(", ")}`);
};
