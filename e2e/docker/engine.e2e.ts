/**
 * The product against the real engine: the Pulumi CLI, language host and providers built by
 * scripts/pulumi-toolchain, a real dockerd, a real registry, a real git server and a real BuildKit. Every
 * step asserts what Docker and HTTP show, not only what Pulumi says. `npm run e2e`; `.ci/run` runs it after
 * `npm test`. No GPU here: the NVIDIA device requests stay asserted on rendered inputs (npm test).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, freePort, pushAndDigest, Registry, waitFor } from "../../test/labs/docker";
import { tempDir } from "../../test/support/gitRepos";
import { BuildKit, buildWebImage, GitServer, HEALTHCHECK_TEST } from "../../test/labs/e2eFixtures";
import { startProbe } from "../../test/labs/probe";
import { expectExit, toolchainEnv, Workspace } from "../../test/labs/workspace";

const STACK = "e2e";
const SECRET_VALUE = `e2e-secret-${process.pid}-value`;
/** The healthcheck of both services: quick, so a broken release fails fast. */
const HEALTH = { interval: "1s", timeout: "1s", retries: 2, startPeriod: "1s" };
/** What `pulumi up` waits for a container to turn healthy: the model's worst case plus a minute. */
const WAIT_SECONDS = Math.ceil(1 + 2 * (1 + 1)) + 60;

type Tag = "v1" | "v2" | "v3" | "broken" | "latest";

interface World {
  ws: Workspace;
  registry: Registry;
  gitServer: GitServer;
  buildkit: BuildKit;
  repo: string;
  digests: Record<Tag, string>;
  ports: { web: number; built: number; adopted: number };
  /** A host folder that does not exist before the first up (the fresh server's voice-notes folder). */
  bindSource: string;
  volumes: { managed: string; external: string; adopted: string };
  commits: string[];
}

const world = {} as World;
const dockerHost = "unix:///var/run/docker.sock";

function stackFileText(opts: { webTag: Tag; builtCommit: string; extra?: string }): string {
  const test = `[${HEALTHCHECK_TEST.map((t) => JSON.stringify(t)).join(", ")}]`;
  const health = Object.entries(HEALTH)
    .map(([k, v]) => `        ${k}: ${v}`)
    .join("\n");
  return `# The e2e stack: a registry image pinned by digest and a git build, on the local dockerd.
config:
  gpu-services:requirePinnedImages: true
  gpu-services:hosts:
    local:
      dockerHost: ${dockerHost}
      address: 127.0.0.1
  gpu-services:services:
    web:
      host: local
      image:
        repository: ${world.repo}
        tag: ${opts.webTag}
        digest: ${world.digests[opts.webTag]}
      ports:
        - host: ${world.ports.web}
          container: 8000
      volumes:
        - name: ${world.volumes.managed}
          target: /data
        - name: ${world.volumes.external}
          target: /cache
          external: true
      binds:
        - source: ${world.bindSource}
          target: /vnotes
      env:
        MODE: e2e
      secretEnv:
        API_KEY: apiKey
      healthcheck:
        test: ${test}
${health}
      stopGraceSeconds: 2
    built:
      host: local
      build:
        context: ${world.gitServer.url}
        ref: ${opts.builtCommit}
      ports:
        - host: ${world.ports.built}
          container: 8000
      healthcheck:
        test: ${test}
${health}
      stopGraceSeconds: 2
${opts.extra ?? ""}`;
}

async function http(port: number, file = "index.html"): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/${file}`, { signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw new Error(`GET :${port}/${file}: ${response.status}`);
  return (await response.text()).trim();
}

function inspect(container: string): {
  Id: string;
  State: { Running: boolean; StartedAt: string; Health?: { Status: string } };
  Config: { Env: string[]; Labels: Record<string, string>; Image: string };
  Image: string;
  Mounts: { Type: string; Name?: string; Source: string; Destination: string }[];
} {
  return JSON.parse(docker(["inspect", "--type", "container", container]))[0];
}

function containerExists(name: string): boolean {
  return docker(["ps", "-a", "--filter", `name=^/${name}$`, "--format", "{{.Names}}"]) === name;
}

/** The preview's planned operation per resource name (`pulumi preview --json`). */
async function plannedOps(ws: Workspace, stack = STACK): Promise<Record<string, string[]>> {
  const result = expectExit(await ws.pulumi("preview", "--stack", stack, "--json"), 0, "pulumi preview --json");
  const preview = JSON.parse(result.stdout) as { steps: { op: string; urn: string }[] };
  const ops: Record<string, string[]> = {};
  for (const step of preview.steps) {
    const name = step.urn.split("::").pop()!;
    (ops[name] ??= []).push(step.op);
  }
  return ops;
}

const changed = (ops: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(ops).filter(([, list]) => list.some((op) => op !== "same")));

async function up(ws: Workspace, ...args: string[]) {
  return ws.pulumi("up", "--stack", STACK, "--yes", "--skip-preview", ...args);
}

describe("the real engine", () => {
  beforeAll(async () => {
    world.ws = Workspace.create();
    world.registry = await Registry.start();
    world.repo = `${world.registry.address}/e2e/web`;
    world.digests = {} as World["digests"];
    for (const [tag, healthy] of [
      ["v1", true],
      ["v2", true],
      ["v3", true],
      ["broken", false],
      ["latest", true],
    ] as const) {
      buildWebImage(`${world.repo}:${tag}`, `web ${tag}`, healthy);
      world.digests[tag] = pushAndDigest(`${world.repo}:${tag}`);
    }
    // Only the registry has them now: every pull of the stack really goes to it.
    const local = docker(["image", "ls", "--format", "{{.ID}}", world.repo]).split("\n").filter(Boolean);
    docker(["image", "rm", "-f", ...new Set(local)]);
    world.gitServer = await GitServer.start("built 1");
    world.commits = [world.gitServer.head()];
    world.buildkit = await BuildKit.start(path.join(toolchainBin(), "buildkitd"), world.ws.dockerConfig);
    world.ports = { web: await freePort(), built: await freePort(), adopted: await freePort() };
    world.bindSource = path.join(tempDir("bind"), "voice-notes", "fresh");
    const run = `e2e${process.pid}`;
    world.volumes = { managed: `${run}-models`, external: `${run}-shared`, adopted: `${run}-adopted` };
    docker(["volume", "create", world.volumes.external]);
    world.ws.write(`Pulumi.${STACK}.yaml`, stackFileText({ webTag: "v1", builtCommit: world.commits[0] }));
    expectExit(await world.ws.pulumi("stack", "init", STACK, "--secrets-provider", "passphrase"), 0, "stack init");
    // The ordinary Pulumi way to set a secret: the CLI encrypts it into the stack file (and rewrites the file).
    expectExit(await world.ws.setSecret(STACK, "gpu-services:secrets.apiKey", SECRET_VALUE), 0, "config set --secret");
    world.ws.commit("e2e stack");
  }, 300_000);

  afterAll(async () => {
    for (const name of ["web-e2e", "built-e2e", "legacy-e2e"]) if (containerExists(name)) docker(["rm", "-f", name]);
    for (const volume of Object.values(world.volumes ?? {})) docker(["volume", "rm", "-f", volume]);
    world.buildkit?.stop();
    world.gitServer?.stop();
    await world.registry?.remove();
    world.ws?.remove();
  });

  it("1. preview shows the creates; up creates them; they serve, are healthy and labelled; outputs as documented", async () => {
    const ops = await plannedOps(world.ws);
    expect(changed(ops)).toEqual({
      "gpu-services-e2e": ["create"],
      local: ["create"],
      "local-docker": ["create"],
      "local-build": ["create"],
      web: ["create"],
      [`web-volume-${world.volumes.managed}`]: ["create"],
      "web-image": ["create"],
      "web-container": ["create"],
      built: ["create"],
      "built-image": ["create"],
      "built-container": ["create"],
    });
    expect(fs.existsSync(world.bindSource)).toBe(false);
    const result = expectExit(await up(world.ws), 0, "pulumi up");
    console.log(`[e2e] first pulumi up: ${result.seconds.toFixed(1)} s`);

    expect(await http(world.ports.web, "health")).toBe("ok");
    expect(await http(world.ports.web)).toBe("web v1");
    expect(await http(world.ports.built)).toBe("built 1");
    const web = inspect("web-e2e");
    expect(web.State.Health?.Status).toBe("healthy");
    expect(inspect("built-e2e").State.Health?.Status).toBe("healthy");
    const imageId = docker(["image", "inspect", "--format", "{{.Id}}", `${world.repo}@${world.digests.v1}`]);
    expect(web.Image).toBe(imageId);
    expect(web.Config.Labels).toMatchObject({
      "gpu-services.service": "web",
      "gpu-services.stack": STACK,
      "gpu-services.release": `${world.repo}@${world.digests.v1}`,
      "gpu-services.image": imageId,
    });
    expect(web.Config.Env).toEqual(expect.arrayContaining(["MODE=e2e", `API_KEY=${SECRET_VALUE}`]));
    const mounts = web.Mounts.map((m) => [m.Type, m.Name ?? m.Source, m.Destination]).sort();
    expect(mounts).toEqual(
      [
        ["bind", world.bindSource, "/vnotes"],
        ["volume", world.volumes.external, "/cache"],
        ["volume", world.volumes.managed, "/data"],
      ].sort(),
    );
    // A bind whose host folder did not exist: Docker created it, as compose does.
    expect(fs.statSync(world.bindSource).isDirectory()).toBe(true);

    const outputs = JSON.parse(
      expectExit(await world.ws.pulumi("stack", "output", "--stack", STACK, "--json"), 0, "stack output").stdout,
    );
    expect(outputs.services.web).toEqual({
      endpoint: `http://127.0.0.1:${world.ports.web}`,
      image: `${world.repo}@${world.digests.v1}`,
      containerName: "web-e2e",
      host: "local",
    });
    expect(outputs.services.built.image).toMatch(
      new RegExp(`^gpu-services/built:${world.commits[0]}@sha256:[0-9a-f]{64}$`),
    );
    // The secret is encrypted in the state, never plain.
    const state = execIn(world.ws.root, "grep", ["-rl", SECRET_VALUE, "state"]);
    expect(state).toBe("");
  });

  it("2. a second preview expects no changes: no perpetual diff for the pulled image nor the build", async () => {
    const result = await world.ws.pulumi("preview", "--stack", STACK, "--expect-no-changes");
    expectExit(result, 0, "pulumi preview --expect-no-changes");
    expect(changed(await plannedOps(world.ws))).toEqual({});
  });

  it("3. an up at the same commit neither rebuilds nor restarts the built service", async () => {
    const before = inspect("built-e2e");
    const result = expectExit(await up(world.ws), 0, "pulumi up (nothing changed)");
    expect(result.output).not.toMatch(/built-image\s+(updat|creat|replac)/);
    const after = inspect("built-e2e");
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    expect(after.Image).toBe(before.Image);
  });

  it("4. a release resolves the digest from the registry; up replaces only that container, delete-first, keeping the volume's data", async () => {
    docker(["exec", "web-e2e", "/bin/busybox", "sh", "-c", "echo kept > /data/marker"]);
    const release = expectExit(await world.ws.cli("release", "release", STACK, "web", "v2"), 0, "release web v2");
    expect(release.output).toContain(world.digests.v2);
    expect(world.ws.read(`Pulumi.${STACK}.yaml`)).toContain(`digest: ${world.digests.v2}`);
    world.ws.commit("e2e: web v2");
    const ops = changed(await plannedOps(world.ws));
    expect(ops).toEqual({ "web-image": ["replace"], "web-container": ["replace"] });
    const webBefore = inspect("web-e2e").Id;
    const builtBefore = inspect("built-e2e").Id;
    const probe = startProbe(`http://127.0.0.1:${world.ports.web}/health`);
    const result = await up(world.ws);
    const downtime = await probe.stop();
    expectExit(result, 0, "pulumi up (release v2)");
    // Delete-first: the old container goes before its replacement is created (fixed name and host port).
    const deleted = result.output.indexOf("web-container deleted original");
    const created = result.output.indexOf("web-container created replacement");
    expect(deleted).toBeGreaterThan(-1);
    expect(created).toBeGreaterThan(deleted);
    console.log(
      `[e2e] release downtime: longest gap ${downtime.longestGapMs} ms between good answers ` +
        `(${downtime.failures} of ${downtime.requests} probes failed, one every 50 ms; up took ${result.seconds.toFixed(1)} s)`,
    );
    expect(await http(world.ports.web)).toBe("web v2");
    const web = inspect("web-e2e");
    expect(web.Id).not.toBe(webBefore);
    expect(web.Config.Labels["gpu-services.release"]).toBe(`${world.repo}@${world.digests.v2}`);
    expect(docker(["exec", "web-e2e", "/bin/busybox", "cat", "/data/marker"])).toBe("kept");
    expect(inspect("built-e2e").Id).toBe(builtBefore);
  });

  it("5. rollback and up: back on the first digest", async () => {
    const rollback = expectExit(await world.ws.cli("release", "rollback", STACK, "web"), 0, "rollback web");
    expect(rollback.output).toContain(world.digests.v1);
    world.ws.commit("e2e: web back to v1");
    expectExit(await up(world.ws), 0, "pulumi up (rollback)");
    expect(await http(world.ports.web)).toBe("web v1");
    expect(inspect("web-e2e").Config.Labels["gpu-services.release"]).toBe(`${world.repo}@${world.digests.v1}`);
    expect(docker(["exec", "web-e2e", "/bin/busybox", "cat", "/data/marker"])).toBe("kept");
  });

  it("6. a release whose healthcheck never passes fails the up within the documented bound, with the hint; rollback restores it", async () => {
    expectExit(await world.ws.cli("release", "release", STACK, "web", "broken"), 0, "release web broken");
    world.ws.commit("e2e: web broken");
    const result = await up(world.ws);
    expectExit(result, "non-zero", "pulumi up (a release that never turns healthy)");
    console.log(
      `[e2e] up of an unhealthy release failed after ${result.seconds.toFixed(1)} s (bound ${WAIT_SECONDS} s + pull and start)`,
    );
    expect(result.seconds).toBeLessThan(WAIT_SECONDS + 30);
    expect(result.output).toContain(`gpu-services -s ${STACK} logs web --tail 200`);
    expect(result.output).toContain(`npm run release -- rollback ${STACK} web`);
    expectExit(await world.ws.cli("release", "rollback", STACK, "web"), 0, "rollback after the broken release");
    world.ws.commit("e2e: web back from broken");
    expectExit(await up(world.ws), 0, "pulumi up (after the broken release)");
    expect(await http(world.ports.web)).toBe("web v1");
    expect(inspect("web-e2e").State.Health?.Status).toBe("healthy");
    expect(docker(["exec", "web-e2e", "/bin/busybox", "cat", "/data/marker"])).toBe("kept");
  });

  it("7. a release whose pull fails (registry down) leaves the running container untouched and answering", async () => {
    // v3 was pushed but never pulled here: the up has to reach the registry.
    expectExit(await world.ws.cli("release", "release", STACK, "web", "v3"), 0, "release web v3");
    const before = inspect("web-e2e").Id;
    await world.registry.pause();
    try {
      const probe = startProbe(`http://127.0.0.1:${world.ports.web}/health`);
      const result = await up(world.ws);
      const report = await probe.stop();
      expectExit(result, "non-zero", "pulumi up with the registry down");
      expect(result.output).toMatch(/web-image/);
      expect(report.failures).toBe(0);
      expect(inspect("web-e2e").Id).toBe(before);
      expect(await http(world.ports.web)).toBe("web v1");
    } finally {
      await world.registry.resume();
      world.ws.restore(`Pulumi.${STACK}.yaml`);
    }
    expect(changed(await plannedOps(world.ws))).toEqual({});
  });

  it("8. the policy pack passes the good stack and fails a preview that breaks a rule, with the policy's message", async () => {
    const policyConfig = world.ws.file("policy/e2e.json");
    fs.writeFileSync(policyConfig, JSON.stringify({ "no-floating-image-tag": { requirePinnedImages: true } }));
    const previewWithPolicies = () =>
      world.ws.pulumi("preview", "--stack", STACK, "--policy-pack", "policy", "--policy-pack-config", policyConfig);
    const good = await previewWithPolicies();
    expectExit(good, 0, "preview with the policy pack");
    expect(good.output).toContain("gpu-services");

    const pinned = world.ws.read(`Pulumi.${STACK}.yaml`);
    // A floating tag where the policy requires pins (the stack itself no longer refuses it)...
    let text = pinned
      .replace(/gpu-services:requirePinnedImages: "?true"?/, "gpu-services:requirePinnedImages: false")
      .replace(/tag: v1\n\s+digest: sha256:[0-9a-f]{64}/, "tag: latest");
    // ...and a GPU service without a healthcheck (previewed only: no GPU here).
    text = text.replace(/(    built:\n      host: local\n)/, "$1      gpus:\n        count: 1\n");
    const builtHealth = /(    built:[\s\S]*?)      healthcheck:\n        test: .*\n(        \w+: .*\n){4}/;
    text = text.replace(builtHealth, "$1");
    world.ws.write(`Pulumi.${STACK}.yaml`, text);
    try {
      const bad = await previewWithPolicies();
      expectExit(bad, "non-zero", "preview that breaks the policies");
      expect(bad.output).toContain("no-floating-image-tag");
      expect(bad.output).toContain(`uses the floating tag "latest"`);
      expect(bad.output).toContain("gpu-container-restart-and-healthcheck");
      expect(bad.output).toContain("GPU container built-e2e has no healthcheck");
    } finally {
      world.ws.restore(`Pulumi.${STACK}.yaml`);
    }
  });

  it("9. drift: a container removed by hand fails preview --refresh --expect-no-changes, naming it; up --refresh repairs it", async () => {
    docker(["rm", "-f", "web-e2e"]);
    const drift = await world.ws.pulumi("preview", "--stack", STACK, "--refresh", "--expect-no-changes");
    expectExit(drift, "non-zero", "drift check");
    expect(drift.output).toContain("web-container");
    expectExit(await up(world.ws, "--refresh"), 0, "pulumi up --refresh");
    expect(await http(world.ports.web)).toBe("web v1");
    expect(inspect("web-e2e").State.Health?.Status).toBe("healthy");
    expect(docker(["exec", "web-e2e", "/bin/busybox", "cat", "/data/marker"])).toBe("kept");
  });

  it("10. a new commit rebuilds and replaces the built service", async () => {
    const before = inspect("built-e2e");
    world.commits.push(world.gitServer.commit("built 2"));
    const release = expectExit(
      await world.ws.cli("release", "release", STACK, "built", "main"),
      0,
      "release built main",
    );
    expect(release.output).toContain(world.commits[1]);
    world.ws.commit("e2e: built at the new commit");
    // The image is rebuilt in place (docker-build updates it), the container is replaced.
    expect(changed(await plannedOps(world.ws))).toEqual({ "built-image": ["update"], "built-container": ["replace"] });
    expectExit(await up(world.ws), 0, "pulumi up (new commit)");
    expect(await http(world.ports.built)).toBe("built 2");
    const after = inspect("built-e2e");
    expect(after.Id).not.toBe(before.Id);
    expect(after.Image).not.toBe(before.Image);
  });

  it("11. adoption: containers docker-compose started from export-compose are taken over by import-compose, pulumi import and up", async () => {
    const { ws } = world;
    const host = `  gpu-services:hosts:\n    local:\n      dockerHost: ${dockerHost}\n      address: 127.0.0.1\n`;
    const test = `[${HEALTHCHECK_TEST.map((t) => JSON.stringify(t)).join(", ")}]`;
    ws.write(
      "Pulumi.dockge.yaml",
      `config:\n${host}  gpu-services:services:\n    legacy:\n      host: local\n      containerName: legacy-e2e\n` +
        `      image:\n        repository: ${world.repo}\n        digest: ${world.digests.v1}\n` +
        `      ports:\n        - host: ${world.ports.adopted}\n          container: 8000\n` +
        `      volumes:\n        - name: ${world.volumes.adopted}\n          target: /data\n` +
        `      healthcheck:\n        test: ${test}\n        interval: 1s\n        timeout: 1s\n        retries: 2\n`,
    );
    // The Dockge stack as it runs today: a compose file in stacks/legacy, started by real docker-compose.
    const stackDir = ws.file("stacks/legacy");
    expectExit(await ws.cli("compose", "export-compose", "--stack", "dockge", "--out", stackDir), 0, "export-compose");
    fs.renameSync(path.join(stackDir, "dockge-local.compose.yaml"), path.join(stackDir, "compose.yaml"));
    const composeFile = path.join(stackDir, "compose.yaml");
    expectExit(await ws.run("docker-compose", ["-p", "legacy", "-f", composeFile, "up", "-d"]), 0, "docker-compose up");
    await waitFor(
      "the compose container",
      async () => inspect("legacy-e2e").State.Health?.Status === "healthy",
      60_000,
    );
    const composeId = inspect("legacy-e2e").Id;
    docker(["exec", "legacy-e2e", "/bin/busybox", "sh", "-c", "echo adopted > /data/marker"]);

    ws.write("Pulumi.adopt.yaml", `config:\n${host}`);
    ws.commit("adopt stack");
    expectExit(await ws.pulumi("stack", "init", "adopt", "--secrets-provider", "passphrase"), 0, "stack init adopt");
    const imported = await ws.cli(
      "compose",
      "import-compose",
      composeFile,
      "--stack",
      "adopt",
      "--import-file",
      "import-adopt.json",
    );
    expectExit(imported, 0, "import-compose --import-file");
    const commands = imported.stdout
      .split("\n")
      .filter((line) => line.startsWith("  pulumi "))
      .map((line) => line.trim());
    expect(commands).toHaveLength(3);
    // Exactly the commands import-compose printed (the README's), answered yes.
    for (const command of commands) {
      expectExit(await ws.run("sh", ["-c", `${command} --yes --non-interactive`]), 0, command);
    }
    const adopted = inspect("legacy-e2e");
    expect(adopted.Id).not.toBe(composeId);
    expect(adopted.State.Health?.Status).toBe("healthy");
    expect(adopted.Config.Labels["gpu-services.stack"]).toBe("adopt");
    expect(await http(world.ports.adopted)).toBe("web v1");
    expect(docker(["exec", "legacy-e2e", "/bin/busybox", "cat", "/data/marker"])).toBe("adopted");
    expect(changed(await plannedOps(ws, "adopt"))).toEqual({});
    expectExit(await ws.pulumi("destroy", "--stack", "adopt", "--yes", "--skip-preview"), 0, "destroy adopt");
    expect(containerExists("legacy-e2e")).toBe(false);
  });

  it("12. bad config: the real CLI prints the project's message and exits non-zero, without object dump or stack trace", async () => {
    const text = world.ws
      .read(`Pulumi.${STACK}.yaml`)
      .replace("      stopGraceSeconds: 2\n", "      restart: sometimes\n      stopGraceSeconds: 2\n");
    world.ws.write(`Pulumi.${STACK}.yaml`, text);
    try {
      const result = await world.ws.pulumi("preview", "--stack", STACK);
      expectExit(result, "non-zero", "preview of a bad config");
      expect(result.output).toContain(
        `Stack "${STACK}" has 1 config problem (keys under "gpu-services:" in Pulumi.${STACK}.yaml)`,
      );
      expect(result.output).toContain(
        '- services.web.restart: must be one of no, on-failure, always, unless-stopped (got "sometimes")',
      );
      expect(result.output).not.toMatch(/problems:|StackConfigError|\n\s+at \S+ \(/);
      expect(result.output).not.toContain("unhandled exception");
    } finally {
      world.ws.restore(`Pulumi.${STACK}.yaml`);
    }
  });

  it("13. a secret set the ordinary Pulumi way outside secrets is refused by the real CLI, naming its path, never shown", async () => {
    const value = `e2e-misplaced-${process.pid}`;
    const set = await world.ws.setSecret(STACK, "gpu-services:services.web.env.API_TOKEN", value);
    expectExit(set, 0, "config set --secret --path services.web.env.API_TOKEN");
    try {
      const result = await world.ws.pulumi("preview", "--stack", STACK);
      expectExit(result, "non-zero", "preview with a secret outside secrets");
      expect(result.output).toContain(
        `- services.web.env.API_TOKEN: is set with --secret, but only the "secrets" key holds secret values`,
      );
      expect(result.output).toContain("pulumi config set --secret --path 'gpu-services:secrets.apiToken' <value>");
      expect(result.output).not.toContain(value);
    } finally {
      world.ws.restore(`Pulumi.${STACK}.yaml`);
    }
  });

  it("14. destroy: containers gone; managed (retained) and external volumes still there with their data", async () => {
    docker([
      "run",
      "--rm",
      "-v",
      `${world.volumes.external}:/cache`,
      `${world.repo}@${world.digests.v1}`,
      "/bin/busybox",
      "sh",
      "-c",
      "echo shared > /cache/marker",
    ]);
    const refused = await world.ws.pulumi("destroy", "--stack", STACK, "--yes", "--skip-preview");
    expectExit(refused, "non-zero", "destroy of a stack with protected volumes");
    expect(refused.output).toContain("protected");
    // The documented way: unprotect in state (config keeps protect: true for the next deployment), then destroy.
    expectExit(
      await world.ws.pulumi("state", "unprotect", "--stack", STACK, "--all", "--yes"),
      0,
      "state unprotect --all",
    );
    expectExit(await world.ws.pulumi("destroy", "--stack", STACK, "--yes", "--skip-preview"), 0, "pulumi destroy");
    expect(containerExists("web-e2e")).toBe(false);
    expect(containerExists("built-e2e")).toBe(false);
    const read = (volume: string, file: string) =>
      docker([
        "run",
        "--rm",
        "-v",
        `${volume}:/v`,
        `${world.repo}@${world.digests.v1}`,
        "/bin/busybox",
        "cat",
        `/v/${file}`,
      ]);
    expect(read(world.volumes.managed, "marker")).toBe("kept");
    expect(read(world.volumes.external, "marker")).toBe("shared");
  });
});

function toolchainBin(): string {
  return toolchainEnv().PATH.split(":")[0];
}

/** A command's stdout (whatever its exit code: grep exits 1 when it finds nothing). */
function execIn(cwd: string, command: string, args: string[]): string {
  return spawnSync(command, args, { cwd, encoding: "utf8" }).stdout.trim();
}
