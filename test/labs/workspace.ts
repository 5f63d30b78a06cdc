/**
 * A temporary copy of the project, a git repository of its own (the release CLI refuses uncommitted stack
 * files), logged in to a local file backend with a passphrase secrets provider, and the real Pulumi CLI built
 * by scripts/pulumi-toolchain to run in it.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { git, tempDir } from "../support/gitRepos";
import { PROJECT_DIR } from "../support/harness";

/** Run a command to its end, collecting stdout, stderr and both together, and timing it. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, options);
    let stdout = "";
    let stderr = "";
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => ((stdout += chunk), (output += chunk)));
    child.stderr.on("data", (chunk: Buffer) => ((stderr += chunk), (output += chunk)));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code: code ?? -1, stdout, stderr, output, seconds: (Date.now() - started) / 1000 }),
    );
  });
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together, as a person reads them. */
  readonly output: string;
  readonly seconds: number;
}

/**
 * The exports `scripts/pulumi-toolchain --env` prints, or an error saying how to get the toolchain when one of
 * `tools` is not in its bin folder.
 */
export function toolchainEnv(tools: readonly string[] = ["pulumi", "pulumi-language-nodejs"]): Record<string, string> {
  const script = path.join(PROJECT_DIR, "scripts", "pulumi-toolchain");
  const text = execFileSync(script, ["--env"], { encoding: "utf8" });
  const env: Record<string, string> = {};
  for (const match of text.matchAll(/^export (\w+)="?(.*?)"?$/gm)) {
    env[match[1]] = match[2].replace("$PATH", process.env.PATH ?? "");
  }
  const bin = env.PATH.split(":")[0];
  for (const tool of tools) {
    if (!fs.existsSync(path.join(bin, tool))) {
      throw new Error(`${tool} is not in ${bin}: build the Pulumi toolchain first with scripts/pulumi-toolchain`);
    }
  }
  return env;
}

/** The toolchain's bin folder, checked to hold `tools`. */
export function toolchainBin(tools: readonly string[]): string {
  return toolchainEnv(tools).PATH.split(":")[0];
}

export class Workspace {
  /** The DOCKER_CONFIG the CLI and providers use (buildx builder instances live there). */
  readonly dockerConfig: string;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(
    readonly dir: string,
    readonly root: string,
    readonly passphrase: string,
  ) {
    this.dockerConfig = path.join(root, "docker-config");
    fs.mkdirSync(this.dockerConfig, { recursive: true });
    const toolchain = toolchainEnv();
    this.env = {
      ...process.env,
      ...toolchain,
      // Node 22 of the project first, as `npm run` does.
      PATH: `${path.join(PROJECT_DIR, "node_modules", ".bin")}:${toolchain.PATH}`,
      PULUMI_BACKEND_URL: `file://${path.join(root, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: passphrase,
      DOCKER_CONFIG: this.dockerConfig,
      NO_COLOR: "1",
      PULUMI_SUPPRESS_COPILOT_LINK: "true",
    };
  }

  /**
   * A copy of the project's tracked files (or of its tree at `commit`, an older program to compare with), with the
   * installed node_modules, committed to a new repository.
   */
  static create(commit?: string): Workspace {
    const root = tempDir("e2e");
    const dir = path.join(root, "project");
    fs.mkdirSync(path.join(root, "state"), { recursive: true });
    if (commit) {
      fs.mkdirSync(dir);
      const archive = execFileSync("git", ["archive", commit], { cwd: PROJECT_DIR, maxBuffer: 1 << 30 });
      execFileSync("tar", ["-x", "-C", dir], { input: archive });
    } else {
      const files = execFileSync("git", ["ls-files", "-z"], { cwd: PROJECT_DIR, encoding: "utf8" })
        .split("\0")
        .filter((f) => f && fs.existsSync(path.join(PROJECT_DIR, f)));
      for (const file of files) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.copyFileSync(path.join(PROJECT_DIR, file), path.join(dir, file));
      }
    }
    fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"));
    git(dir, ["init", "-q", "-b", "main"]);
    git(dir, ["add", "-A"]);
    git(dir, ["commit", "-q", "-m", "e2e workspace"]);
    return new Workspace(dir, root, `e2e-${process.pid}`);
  }

  /** Run a command in the project folder with the toolchain's environment. */
  run(command: string, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return runCommand(command, args, { cwd: this.dir, env: { ...this.env, ...extraEnv } });
  }

  pulumi(...args: string[]): Promise<RunResult> {
    return this.run("pulumi", [...args, "--non-interactive"]);
  }

  /** `pulumi config set --secret --path <key> <value>`: the ordinary way, which encrypts it into the stack file. */
  setSecret(stack: string, key: string, value: string): Promise<RunResult> {
    return this.pulumi("config", "set", "--stack", stack, "--secret", "--path", key, value);
  }

  /** One of the project's CLIs (`release`, `compose`, `plan`), as `npm run <cli> -- …` runs it. */
  cli(name: "release" | "compose" | "plan", ...args: string[]): Promise<RunResult> {
    return this.run(path.join(PROJECT_DIR, "node_modules", ".bin", "tsx"), [`cli/${name}.ts`, ...args]);
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  read(name: string): string {
    return fs.readFileSync(this.file(name), "utf8");
  }

  write(name: string, text: string): void {
    fs.writeFileSync(this.file(name), text);
  }

  commit(message: string): void {
    git(this.dir, ["add", "-A"]);
    git(this.dir, ["commit", "-q", "--allow-empty", "-m", message]);
  }

  /** Put a file back as it is in the last commit. */
  restore(name: string): void {
    git(this.dir, ["checkout", "--", name]);
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Fail with the command's output when it did not exit as expected. */
export function expectExit(result: RunResult, code: number | "non-zero", what: string): RunResult {
  const ok = code === "non-zero" ? result.code !== 0 : result.code === code;
  if (!ok) {
    throw new Error(`${what}: exit ${result.code}, expected ${code}\n--- output ---\n${result.output.slice(-6000)}`);
  }
  return result;
}
