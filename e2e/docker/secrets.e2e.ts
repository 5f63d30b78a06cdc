/**
 * doctor reads a host's `registryAuth` secret the way Pulumi does, with the real Pulumi CLI: a stack inited with
 * the passphrase secrets provider (a file backend), its registry token set with `pulumi config set --secret`,
 * and a real registry asking for it (Debian's docker-registry with htpasswd on 127.0.0.1). With the passphrase,
 * doctor tries the registry with the stack's credentials and says so; without it, or with another one, it warns
 * that it could not decrypt the secret and exits 0. No GPU is involved.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importTinyImage, pushWithLogin, Registry } from "../../test/labs/docker";
import { PROJECT_DIR } from "../../test/support/harness";
import { expectExit, Workspace, type RunResult } from "../../test/labs/workspace";

const STACK = "secrets-e2e";
const USER = { username: "deploy", password: `token-${process.pid}` };

interface World {
  registry: Registry;
  ws: Workspace;
  repo: string;
}
const world = {} as World;

function doctor(env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return world.ws.run(path.join(PROJECT_DIR, "node_modules", ".bin", "tsx"), ["cli/doctor.ts", "--stack", STACK], env);
}

function registryLine(result: RunResult): string {
  return result.stdout.split("\n").find((l) => /registry-credentials/.test(l)) ?? "";
}

describe("doctor and the stack's encrypted registryAuth, through the real Pulumi CLI", () => {
  beforeAll(async () => {
    world.registry = await Registry.start({ htpasswd: USER });
    world.repo = `${world.registry.address}/secrets-e2e/api`;
    importTinyImage(`${world.repo}:v1`, `secrets e2e ${Date.now()}\n`);
    const { digest } = pushWithLogin(world.registry, USER, `${world.repo}:v1`);
    world.ws = Workspace.create();
    world.ws.write(
      `Pulumi.${STACK}.yaml`,
      `config:
  gpu-services:hosts:
    local:
      dockerHost: unix:///var/run/docker.sock
      address: 127.0.0.1
      registryAuth:
        - address: ${world.registry.address}
          username: ${USER.username}
          passwordSecret: regToken
  gpu-services:services:
    api:
      host: local
      image:
        repository: ${world.repo}
        digest: ${digest}
`,
    );
    expectExit(await world.ws.pulumi("stack", "init", STACK, "--secrets-provider", "passphrase"), 0, "stack init");
    expectExit(
      await world.ws.setSecret(STACK, "gpu-services:secrets.regToken", USER.password),
      0,
      "config set --secret",
    );
    expect(world.ws.read(`Pulumi.${STACK}.yaml`)).not.toContain(USER.password);
    expect(world.ws.read(`Pulumi.${STACK}.yaml`)).toMatch(/regToken:\n\s+secure: v1:/);
  }, 300_000);

  afterAll(async () => {
    if (world.repo) spawnSync("docker", ["image", "rm", `${world.repo}:v1`], { stdio: "ignore" });
    world.ws?.remove();
    await world.registry?.remove();
  });

  it("with the passphrase: the registry accepts the stack's own credentials, and the finding names them", async () => {
    const result = await doctor();
    console.log(
      `[secrets-e2e] $ npm run doctor -- --stack ${STACK}  (exit ${result.code})\n${result.stdout}${result.stderr}`,
    );
    expectExit(result, 0, "doctor with the passphrase");
    expect(registryLine(result)).toMatch(
      /^ok\s+registry-credentials\s+the registry answered for every pulled image: .* \(api, registryAuth \(hosts\.local\.registryAuth\[0\], secrets\.regToken\)\)$/,
    );
    expect(result.output).not.toContain(USER.password);
  });

  it("without a passphrase: a warn that the secret could not be decrypted, what was tried instead, exit 0", async () => {
    const result = await doctor({ PULUMI_CONFIG_PASSPHRASE: undefined });
    console.log(
      `[secrets-e2e] $ env -u PULUMI_CONFIG_PASSPHRASE npm run doctor -- --stack ${STACK}  (exit ${result.code})\n${result.stdout}`,
    );
    expectExit(result, 0, "doctor without a passphrase");
    expect(registryLine(result)).toMatch(
      /^WARN\s+registry-credentials\s+services\.api: .* asks for credentials \(HTTP Basic\) and none are given for it \(with anonymous\); the stack's credentials not tried: secrets\.regToken of hosts\.local\.registryAuth\[0\] could not be read: no passphrase: set PULUMI_CONFIG_PASSPHRASE/,
    );
    expect(result.stdout).toMatch(/fix: run doctor where the stack's secrets can be read/);
  });

  it("with another passphrase: a warn saying the passphrase is not the stack's", async () => {
    const result = await doctor({ PULUMI_CONFIG_PASSPHRASE: "not-this-one" });
    expectExit(result, 0, "doctor with a wrong passphrase");
    expect(registryLine(result)).toMatch(/^WARN\s+registry-credentials\s+.*the passphrase is not this stack's/);
  });
});
