/**
 * doctor's registry-credentials check against a real registry that asks for credentials (Debian's
 * docker-registry with `auth: htpasswd`, HTTP Basic on 127.0.0.1), fed by the real dockerd: it tries the
 * registry with what `pulumi up` pulls with (the host's `registryAuth`, its password from the stack's
 * secrets), says which credentials it used, and warns, rather than guesses, where the secret cannot be read.
 * The stack's secrets are read here by a stand-in reader that answers as `pulumi config get` would; the real
 * Pulumi CLI reading them is in e2e/docker/secrets.e2e.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelFromRaw, type DeploymentModel } from "../../model";
import { parseStackText } from "../../stackConfig";
import { runDoctor } from "../../observe";
import { registryCredentialsCheck } from "../../observe/checks/build";
import type { CheckContext } from "../../observe/checks/types";
import type { SecretReader } from "../../observe/stackSecrets";
import {
  dockerAvailable,
  importTinyImage,
  pushWithLogin,
  registryAvailable,
  Registry,
  requireDocker,
} from "../labs/docker";
import { tempDir } from "../support/gitRepos";

const run = (dockerAvailable && registryAvailable) || requireDocker;
const USER = { username: "deploy", password: `token-${process.pid}` };

interface World {
  registry: Registry;
  repo: string;
  digest: string;
  /** The DOCKER_CONFIG `docker login` wrote to (it pushed the image). */
  loggedIn: string;
  /** A DOCKER_CONFIG with no credentials. */
  empty: string;
}
const world = {} as World;

function model(registryAuth: boolean): DeploymentModel {
  const auth = registryAuth
    ? `      registryAuth:\n        - address: ${world.registry.address}\n          username: ${USER.username}\n          passwordSecret: regToken\n`
    : "";
  const text = `config:
  gpu-services:secrets:
    regToken:
      secure: v1:c3RhbmQtaW4=:bm90IGEgcmVhbCBjaXBoZXJ0ZXh0
  gpu-services:hosts:
    local:
      dockerHost: unix:///var/run/docker.sock
      address: 127.0.0.1
${auth}  gpu-services:services:
    api:
      host: local
      image:
        repository: ${world.repo}
        digest: ${world.digest}
`;
  return modelFromRaw(parseStackText(text), "auth", tempDir("auth-project"));
}

/** A reader that answers as `pulumi config get` does: the value, or why it cannot be read. */
const reader =
  (answer: { value: string } | { unreadable: string }): SecretReader =>
  async (name) => {
    expect(name).toBe("regToken");
    return answer;
  };

/** The check alone, on the host and service of `model` (it reads nothing else of the context). */
function check(m: DeploymentModel, env: NodeJS.ProcessEnv, readSecret: SecretReader) {
  const ctx = { model: m, host: m.hosts[0], services: m.services, env, readSecret } as unknown as CheckContext;
  return registryCredentialsCheck(ctx);
}

const NO_PASSPHRASE = {
  unreadable: "no passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE where doctor runs",
};

describe.runIf(run)("doctor's registry credentials against a registry with htpasswd", () => {
  beforeAll(async () => {
    world.registry = await Registry.start({ htpasswd: USER });
    world.repo = `${world.registry.address}/auth/api`;
    world.empty = tempDir("docker-none");
    importTinyImage(`${world.repo}:v1`, `auth ${Date.now()}\n`);
    const pushed = pushWithLogin(world.registry, USER, `${world.repo}:v1`);
    world.digest = pushed.digest;
    world.loggedIn = pushed.dockerConfig;
    // Without credentials the registry refuses: the checks below are the credentials' doing.
    expect((await fetch(`http://${world.registry.address}/v2/`)).status).toBe(401);
  }, 120_000);

  afterAll(async () => {
    if (world.repo) spawnSync("docker", ["image", "rm", `${world.repo}:v1`], { stdio: "ignore" });
    await world.registry?.remove();
  });

  it("the stack's registryAuth, its secret read: accepted, and the finding says so (doctor, every check run)", async () => {
    const report = await runDoctor(model(true), {
      env: { DOCKER_CONFIG: world.empty },
      readSecret: reader({ value: USER.password }),
    });
    const found = report.hosts[0].checks.find((c) => c.id === "registry-credentials");
    expect(found).toEqual({
      id: "registry-credentials",
      level: "ok",
      summary: `the registry answered for every pulled image: ${world.registry.address} (api, registryAuth (hosts.local.registryAuth[0], secrets.regToken))`,
    });
  });

  it("a secret the registry refuses: fail, naming the credentials it tried", async () => {
    const result = await check(model(true), { DOCKER_CONFIG: world.empty }, reader({ value: "stale-token" }));
    expect(result.level).toBe("fail");
    expect(result.summary).toBe(
      `services.api: ${world.registry.address} refused the credentials for auth/api (HTTP 401) (with registryAuth (hosts.local.registryAuth[0], secrets.regToken))`,
    );
  });

  it("a secret that cannot be decrypted (no passphrase): warn saying why, never fail, and what was tried instead", async () => {
    const anonymous = await check(model(true), { DOCKER_CONFIG: world.empty }, reader(NO_PASSPHRASE));
    expect(anonymous.level).toBe("warn");
    expect(anonymous.summary).toBe(
      `services.api: ${world.registry.address} asks for credentials (HTTP Basic) and none are given for it (with anonymous); ` +
        `the stack's credentials not tried: secrets.regToken of hosts.local.registryAuth[0] could not be read: ${NO_PASSPHRASE.unreadable}`,
    );
    expect(anonymous.fix).toContain("PULUMI_CONFIG_PASSPHRASE");
    const env = { DOCKER_CONFIG: world.empty, REGISTRY_USERNAME: USER.username, REGISTRY_PASSWORD: USER.password };
    const fromEnv = await check(model(true), env, reader(NO_PASSPHRASE));
    expect(fromEnv.level).toBe("warn");
    expect(fromEnv.summary).toMatch(
      new RegExp(
        `^the registry answered for every pulled image: ${world.registry.address} \\(api, REGISTRY_USERNAME/REGISTRY_PASSWORD\\); the stack's credentials not tried: .*no passphrase`,
      ),
    );
  });

  it("no registryAuth: this machine's docker login, or REGISTRY_USERNAME/REGISTRY_PASSWORD, named; none: fail", async () => {
    const unused = reader({ unreadable: "not asked" });
    const login = await check(model(false), { DOCKER_CONFIG: world.loggedIn }, unused);
    expect(login).toEqual({
      level: "ok",
      summary: `the registry answered for every pulled image: ${world.registry.address} (api, docker login (${path.join(world.loggedIn, "config.json")}))`,
    });
    expect(fs.readFileSync(path.join(world.loggedIn, "config.json"), "utf8")).toContain(world.registry.address);
    const none = await check(model(false), { DOCKER_CONFIG: world.empty }, unused);
    expect(none.level).toBe("fail");
    expect(none.summary).toContain("asks for credentials (HTTP Basic) and none are given for it (with anonymous)");
  });
});
