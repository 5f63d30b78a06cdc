/**
 * A scratch project for the docs tests: the repository's files (tracked, and new ones git does not ignore)
 * copied into a temporary git repository of their own, with the installed node_modules linked, as a reader's
 * clone is after `npm ci`. Shell blocks run there with bash, as a reader types them.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { copyProject, tempDir } from "./gitRepos";
import { PROJECT_DIR } from "./harness";

export interface ScriptResult {
  readonly code: number;
  /** stdout and stderr together, as a reader sees them. */
  readonly output: string;
  readonly seconds: number;
}

/** The environment a reader's shell has: none of the test runner's npm or stack settings. */
export function readerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|NODE_|VITEST|GPU_SERVICES_STACK$)/i.test(key)) continue;
    env[key] = value;
  }
  // The project's own node_modules/.bin first is what `npm run test` added; a reader's PATH has none of it.
  const bin = path.join(PROJECT_DIR, "node_modules", ".bin");
  env.PATH = (env.PATH ?? "")
    .split(":")
    .filter((p) => p !== bin)
    .join(":");
  return { ...env, NO_COLOR: "1" };
}

export class ScratchProject {
  private constructor(
    readonly root: string,
    readonly dir: string,
  ) {}

  static create(): ScratchProject {
    const root = tempDir("docs");
    const dir = path.join(root, "gpu-services");
    copyProject(dir, "a reader's clone", { untracked: true });
    return new ScratchProject(root, dir);
  }

  /** Run a shell block with bash, stopping at the first command that fails. */
  run(script: string, timeoutMs: number): Promise<ScriptResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn("bash", ["-euo", "pipefail", "-c", script], { cwd: this.dir, env: readerEnv() });
      let output = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.stdout.on("data", (chunk: Buffer) => (output += chunk));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk));
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, output, seconds: (Date.now() - started) / 1000 });
      });
    });
  }

  /** The scratch project, and the entries npx made for it in npm's cache (a link to its `bin`, per path). */
  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
    const npx = path.join(os.homedir(), ".npm", "_npx");
    if (!fs.existsSync(npx)) return;
    for (const entry of fs.readdirSync(npx)) {
      const manifest = path.join(npx, entry, "package.json");
      if (fs.existsSync(manifest) && fs.readFileSync(manifest, "utf8").includes(JSON.stringify(this.dir))) {
        fs.rmSync(path.join(npx, entry), { recursive: true, force: true });
      }
    }
  }
}
