/** Real git repositories in temporary folders, for the release tests. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "./harness";

export function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  // No `git maintenance run --auto` after each commit: a process per commit, for repositories that live seconds.
  return execFileSync("git", ["-c", "maintenance.auto=false", ...args], {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "Agnes",
      GIT_AUTHOR_EMAIL: "agnes@example.com",
      GIT_COMMITTER_NAME: "Agnes",
      GIT_COMMITTER_EMAIL: "agnes@example.com",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gpu-services-${prefix}-`));
}

export interface SourceRepo {
  /** Path of the bare repository (what a git URL would serve). */
  readonly bare: string;
  /** Commits on main, oldest first. */
  readonly main: string[];
  /** Commit of branch `feature`. */
  readonly feature: string;
}

/**
 * A service's source repository: three commits on main, an annotated tag v1 on the first, a lightweight tag
 * v2 on the second, and a branch `feature` with one more commit.
 */
export function makeSourceRepo(): SourceRepo {
  const work = tempDir("src");
  git(work, ["init", "-q", "-b", "main"]);
  const main: string[] = [];
  for (let i = 1; i <= 3; i++) {
    fs.writeFileSync(path.join(work, "Dockerfile"), `FROM scratch\nLABEL version=${i}\n`);
    git(work, ["add", "Dockerfile"]);
    git(work, ["commit", "-q", "-m", `version ${i}`]);
    main.push(git(work, ["rev-parse", "HEAD"]));
  }
  git(work, ["tag", "-a", "v1", "-m", "first release", main[0]]);
  git(work, ["tag", "v2", main[1]]);
  git(work, ["checkout", "-q", "-b", "feature"]);
  fs.writeFileSync(path.join(work, "feature.txt"), "x\n");
  git(work, ["add", "feature.txt"]);
  git(work, ["commit", "-q", "-m", "feature"]);
  const feature = git(work, ["rev-parse", "HEAD"]);
  const bare = tempDir("bare");
  git(bare, ["clone", "-q", "--bare", work, "."]);
  return { bare, main, feature };
}

/**
 * Make git fetch `url` from a local bare repository instead (git's own url.<base>.insteadOf, through
 * GIT_CONFIG_* variables): the real `git ls-remote` runs, without a network.
 */
export function redirectGitUrl(url: string, bare: string): () => void {
  const saved = {
    count: process.env.GIT_CONFIG_COUNT,
    key: process.env.GIT_CONFIG_KEY_0,
    value: process.env.GIT_CONFIG_VALUE_0,
  };
  process.env.GIT_CONFIG_COUNT = "1";
  process.env.GIT_CONFIG_KEY_0 = `url.file://${bare}.insteadOf`;
  process.env.GIT_CONFIG_VALUE_0 = url;
  return () => {
    for (const [k, v] of [
      ["GIT_CONFIG_COUNT", saved.count],
      ["GIT_CONFIG_KEY_0", saved.key],
      ["GIT_CONFIG_VALUE_0", saved.value],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** A project folder under git holding copies of the given stack files, committed. */
export function makeProjectRepo(files: Record<string, string>): string {
  const dir = tempDir("project");
  git(dir, ["init", "-q", "-b", "main"]);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  git(dir, ["add", "."]);
  git(dir, ["commit", "-q", "-m", "initial stacks"], { GIT_AUTHOR_DATE: "2026-11-01T09:00:00+00:00" });
  return dir;
}

/**
 * A copy of the project's files in `dir`: the tracked ones (with `untracked`, also those git does not ignore, as a
 * reader's clone with local edits has them; with `commit`, its tree instead, an older program to compare with), with
 * the installed node_modules linked, committed to a new repository.
 */
export function copyProject(
  dir: string,
  message: string,
  options: { readonly untracked?: boolean; readonly commit?: string } = {},
): void {
  if (options.commit) {
    fs.mkdirSync(dir, { recursive: true });
    const archive = execFileSync("git", ["archive", options.commit], { cwd: PROJECT_DIR, maxBuffer: 1 << 30 });
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
  } else {
    copyFiles(dir, options.untracked ?? false);
  }
  fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"));
  git(dir, ["init", "-q", "-b", "main"]);
  git(dir, ["add", "-A"]);
  git(dir, ["commit", "-q", "-m", message]);
}

/** The project's tracked files (and untracked ones not ignored, where asked), copied into `dir`. */
function copyFiles(dir: string, untracked: boolean): void {
  const listed = untracked ? ["--cached", "--others", "--exclude-standard"] : [];
  const files = execFileSync("git", ["ls-files", "-z", ...listed], { cwd: PROJECT_DIR, encoding: "utf8" })
    .split("\0")
    .filter(
      (f) => f && fs.existsSync(path.join(PROJECT_DIR, f)) && !fs.statSync(path.join(PROJECT_DIR, f)).isDirectory(),
    );
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(PROJECT_DIR, file), path.join(dir, file));
  }
}
