/**
 * `gpu-services`, the one command: the help of every verb, the stack chosen from -s, GPU_SERVICES_STACK or the
 * only stack file, `plan` of every stack found, each verb running its job on real files and git repositories,
 * and the bash completion generated from the tree, run by a real bash.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { gpuServicesProgram, main } from "./gpu-services";
import { EXIT } from "./errors";
import { configSections } from "./configReference";
import type { Tracker } from "./progress";
import { git, makeProjectRepo, tempDir } from "../test/support/gitRepos";
import { PROJECT_DIR } from "../test/support/harness";

const DIGEST = `sha256:${"a".repeat(64)}`;

/** A stack file with one Docker host and a service pulled from a registry. */
function stackFile(service: string, port: number): string {
  return [
    "config:",
    "  gpu-services:hosts:",
    "    lab:",
    "      dockerHost: unix:///var/run/docker.sock",
    "  gpu-services:services:",
    `    ${service}:`,
    "      host: lab",
    "      image:",
    "        repository: ghcr.io/example/web",
    `        digest: sha256:${"b".repeat(64)}`,
    "      ports:",
    `        - host: ${port}`,
    "          container: 80",
    "",
  ].join("\n");
}

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** A Tracker that keeps every line it is told, as `item: text`, and `item done: text`. */
function recordingProgress(said: string[]): Tracker {
  return (items, work) => {
    said.push(`items: ${items.join(", ")}`);
    return work({
      update: (item, text) => void said.push(`${item}: ${text}`),
      done: (item, text) => void said.push(`${item} done: ${text}`),
    });
  };
}

async function run(dir: string, args: string[], env: NodeJS.ProcessEnv = {}, progress?: Tracker): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    ...(progress ? { progress } : {}),
    projectDir: dir,
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    env,
    resolveDigest: async (_repository, ref) => (ref.startsWith("sha256:") ? ref : DIGEST),
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Every verb of the tree by its path of names: `["plan"]`, `["compose", "import"]`. */
function verbs(cmd: Command, at: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...at, c.name()], ...verbs(c, [...at, c.name()])]);
}

describe("help", () => {
  const { root } = gpuServicesProgram({ out: () => {}, err: () => {} });
  const all = verbs(root);

  it("has the verbs of the issue, with `pins` for what config pins and `status` for what runs", () => {
    expect(all.map((v) => v.join(" "))).toEqual([
      "plan",
      "release",
      "rollback",
      "history",
      "pins",
      "status",
      "doctor",
      "metrics",
      "logs",
      "summary",
      "compose",
      "compose import",
      "compose export",
      "docs",
      "completion",
    ]);
  });

  it.each(all.map((v) => [v.join(" "), v]))("%s --help: its usage, what it does and every option", async (_, verb) => {
    const { code, out } = await run(PROJECT_DIR, [...verb, "--help"]);
    expect(code).toBe(EXIT.ok);
    const cmd = verb.reduce((c: Command, name) => c.commands.find((s) => s.name() === name)!, root);
    expect(out.split("\n")[0]).toBe(`Usage: gpu-services ${verb.join(" ")} ${cmd.usage()}`);
    expect(out.replace(/\s+/g, " ")).toContain(cmd.description());
    for (const option of cmd.options) expect(out).toContain(option.flags);
    // `help <verb>` (`compose help import`) says the same (a group's list of subverbs may be padded otherwise).
    const help = (await run(PROJECT_DIR, [...verb.slice(0, -1), "help", verb[verb.length - 1]])).out;
    expect(help.split("\n").slice(0, 3)).toEqual(out.split("\n").slice(0, 3));
  });

  it("with no verb prints the help on stderr and exits with EXIT.usage", async () => {
    const { code, out, err } = await run(PROJECT_DIR, []);
    expect(code).toBe(EXIT.usage);
    expect(out).toBe("");
    expect(err).toContain("Usage: gpu-services [options] [command]");
  });
});

describe("the stack", () => {
  function twoStacks(): string {
    return makeProjectRepo({ "Pulumi.blue.yaml": stackFile("web", 8080), "Pulumi.green.yaml": stackFile("api", 8081) });
  }

  it("is the only stack file's when there is one", async () => {
    const dir = makeProjectRepo({ "Pulumi.lab.yaml": stackFile("web", 8080) });
    const { code, out } = await run(dir, ["pins", "--json"]);
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(out).map((r: { service: string }) => r.service)).toEqual(["web"]);
  });

  it("is a usage error listing the stacks when there are several and none is named", async () => {
    const { code, err } = await run(twoStacks(), ["pins"]);
    expect(code).toBe(EXIT.usage);
    expect(err).toBe(
      "gpu-services: say which stack with -s <stack> or GPU_SERVICES_STACK=<stack>; stacks: blue, green",
    );
  });

  it("comes from GPU_SERVICES_STACK, and -s wins over it, before or after the verb", async () => {
    const dir = twoStacks();
    const service = async (args: string[], env: NodeJS.ProcessEnv) =>
      JSON.parse((await run(dir, [...args, "--json"], env)).out)[0].service;
    expect(await service(["pins"], { GPU_SERVICES_STACK: "green" })).toBe("api");
    expect(await service(["-s", "blue", "pins"], { GPU_SERVICES_STACK: "green" })).toBe("web");
    expect(await service(["pins", "--stack", "blue"], {})).toBe("web");
  });

  it("that does not exist is a usage error naming the stacks there are", async () => {
    const { code, err } = await run(twoStacks(), ["-s", "staging", "status"]);
    expect(code).toBe(EXIT.usage);
    expect(err).toBe('status: unknown stack "staging": no Pulumi.staging.yaml; stacks: blue, green');
  });

  it("with no stack file at all, says there is none", async () => {
    const { code, err } = await run(tempDir("no-stacks"), ["doctor"]);
    expect(code).toBe(EXIT.usage);
    expect(err).toMatch(
      /say which stack with -s <stack> or GPU_SERVICES_STACK=<stack>; there is no Pulumi\.<stack>\.yaml in /,
    );
  });
});

describe("plan", () => {
  it("prints every stack file of the folder when no stack is named, not a fixed list", async () => {
    const dir = makeProjectRepo({
      "Pulumi.blue.yaml": stackFile("web", 8080),
      "Pulumi.green.yaml": stackFile("api", 8081),
      "Pulumi.red.yaml": stackFile("asr", 8082),
    });
    const { code, out } = await run(dir, ["plan", "--json"]);
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(out).map((p: { stack: string }) => p.stack)).toEqual(["blue", "green", "red"]);
    const one = await run(dir, ["plan", "-s", "red"]);
    expect(one.out.split("\n")[0]).toBe("stack red");
  });
});

describe("the verbs", () => {
  it("release pins a tag's digest, history lists it, rollback writes the one before back", async () => {
    const dir = makeProjectRepo({ "Pulumi.lab.yaml": stackFile("web", 8080) });
    const file = path.join(dir, "Pulumi.lab.yaml");
    const released = await run(dir, ["release", "web", "v2"]);
    expect(released.code).toBe(EXIT.ok);
    expect(released.out).toContain(`lab/web: sha256:${"b".repeat(64)} -> v2@${DIGEST}`);
    expect(parseYaml(fs.readFileSync(file, "utf8")).config["gpu-services:services"].web.image).toMatchObject({
      tag: "v2",
      digest: DIGEST,
    });
    git(dir, ["commit", "-q", "-am", "lab: web v2"]);
    const history = await run(dir, ["history", "web", "--json"]);
    expect(JSON.parse(history.out).map((e: { value: string }) => e.value)).toEqual([
      `v2@${DIGEST}`,
      `sha256:${"b".repeat(64)}`,
    ]);
    expect((await run(dir, ["rollback", "web"])).code).toBe(EXIT.ok);
    expect(parseYaml(fs.readFileSync(file, "utf8")).config["gpu-services:services"].web.image.digest).toBe(
      `sha256:${"b".repeat(64)}`,
    );
  });

  it("compose export writes one file per host into --out", async () => {
    const dir = makeProjectRepo({ "Pulumi.lab.yaml": stackFile("web", 8080) });
    const out = path.join(dir, "exported");
    const { code } = await run(dir, ["compose", "export", "--out", out]);
    expect(code).toBe(EXIT.ok);
    expect(fs.readdirSync(out)).toEqual(["lab-lab.compose.yaml"]);
  });

  it("docs prints one section of the config reference, and refuses one that does not exist", async () => {
    const { out } = await run(PROJECT_DIR, ["docs", "scheduling"]);
    expect(out.split("\n")[0]).toBe("## `services.<name>.scheduling` (clusters only)");
    const bad = await run(PROJECT_DIR, ["docs", "nope"]);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain(`Allowed choices are ${configSections().join(", ")}.`);
  });
});

describe("progress of the long steps", () => {
  it("release says which tag it resolves where, then what it resolved to", async () => {
    const dir = makeProjectRepo({ "Pulumi.lab.yaml": stackFile("web", 8080) });
    const said: string[] = [];
    expect((await run(dir, ["release", "web", "v2"], {}, recordingProgress(said))).code).toBe(EXIT.ok);
    expect(said).toEqual([
      "items: lab/web",
      "lab/web: resolving v2 at ghcr.io/example/web",
      `lab/web done: v2 is v2@${DIGEST}`,
    ]);
  });

  it("compose import says which service of how many it is at, then how many it imported", async () => {
    const dir = makeProjectRepo({
      "Pulumi.lab.yaml": "config:\n  gpu-services:hosts:\n    lab:\n      dockerHost: unix:///var/run/docker.sock\n",
    });
    const file = path.join(PROJECT_DIR, "test", "fixtures", "compose-corpus", "fastchat", "docker-compose.yml");
    const said: string[] = [];
    const { code, err } = await run(dir, ["compose", "import", file], {}, recordingProgress(said));
    expect(code, err).toBe(EXIT.ok);
    expect(said).toEqual([
      `items: ${file}`,
      `${file}: reading`,
      `${file}: service 1 of 3: fastchat-controller`,
      `${file}: service 2 of 3: fastchat-model-worker`,
      `${file}: service 3 of 3: fastchat-api-server`,
      `${file}: checking stack "lab" with the imported services`,
      `${file} done: 3 services imported`,
    ]);
  });
});

describe("scripts/gpu-services, the bin", () => {
  it("runs from a link on PATH, anywhere, with the clone's own Node and tsx", () => {
    const bin = tempDir("bin");
    fs.symlinkSync(path.join(PROJECT_DIR, "scripts", "gpu-services"), path.join(bin, "gpu-services"));
    const result = spawnSync("gpu-services", ["-s", "test", "pins", "--json"], {
      cwd: tempDir("elsewhere"),
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: process.env.HOME },
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual([expect.objectContaining({ service: "tts", kind: "build" })]);
  });
});

describe("completion", () => {
  /** What bash completes for `line` with the generated script, in `dir`. */
  function complete(script: string, line: string, dir: string): string[] {
    const words = line.split(" ");
    const program = [
      script,
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})`,
      `COMP_CWORD=${words.length - 1}`,
      "_gpu_services",
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join("\n");
    const result = spawnSync("bash", ["-c", program], { cwd: dir, encoding: "utf8" });
    expect(result.stderr).toBe("");
    return result.stdout.split("\n").filter(Boolean);
  }

  it("bash: verbs, a verb's options, the folder's stacks after -s, subverbs and choices", async () => {
    const script = (await run(PROJECT_DIR, ["completion", "bash"])).out;
    const dir = makeProjectRepo({
      "Pulumi.blue.yaml": stackFile("web", 8080),
      "Pulumi.green.yaml": stackFile("api", 81),
    });
    expect(complete(script, "gpu-services ro", dir)).toEqual(["rollback"]);
    expect(complete(script, "gpu-services -s ", dir)).toEqual(["blue", "green"]);
    expect(complete(script, "gpu-services -s blue status --", dir)).toEqual([
      "--stack",
      "--json",
      "--timeout",
      "--wait",
      "--help",
    ]);
    expect(complete(script, "gpu-services compose ", dir).slice(0, 2)).toEqual(["import", "export"]);
    expect(complete(script, "gpu-services docs sch", dir)).toEqual(["scheduling"]);
    expect(complete(script, "gpu-services completion ", dir).slice(0, 2)).toEqual(["bash", "zsh"]);
  });

  it("zsh: a script zsh reads without error, registering the same verbs", async () => {
    const script = (await run(PROJECT_DIR, ["completion", "zsh"])).out;
    expect(script.split("\n")[0]).toBe("#compdef gpu-services");
    expect(script).toContain(
      '    "") candidates=(plan release rollback history pins status doctor metrics logs summary compose docs',
    );
    const zsh = spawnSync("zsh", ["-n", "-c", script], { encoding: "utf8" });
    if (zsh.error) return; // zsh not installed: the tmux test in test/docker/terminal.test.ts completes with it
    expect(zsh.stderr).toBe("");
    expect(zsh.status).toBe(0);
  });
});
