/** Git, run for real: refs of a remote, the history of a stack file, local edits. */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { COMMIT_RE } from "../config/schema";
import { EXIT, ReleaseError } from "./errors";

function git(args: string[], cwd?: string): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
}

/** The commit a branch or tag of a remote points at (a full commit is returned as it is). */
export function resolveRef(url: string, ref: string): string {
  if (COMMIT_RE.test(ref)) return ref;
  let out: string;
  try {
    out = git(["ls-remote", "--", url, ref, `${ref}^{}`]);
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? (e as Error).message).trim();
    throw new ReleaseError(EXIT.unresolved, `git ls-remote ${url} failed: ${stderr}`);
  }
  const refs = new Map<string, string>();
  for (const line of out.split("\n").filter(Boolean)) {
    const [sha, name] = line.split("\t");
    refs.set(name, sha);
  }
  const candidates = ref.startsWith("refs/") ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
  const found = candidates
    .filter((c) => refs.has(c))
    // An annotated tag: the commit is the peeled entry.
    .map((c) => ({ name: c, sha: refs.get(`${c}^{}`) ?? refs.get(c)! }));
  if (found.length === 0) {
    const hint = /^[0-9a-f]{4,39}$/.test(ref)
      ? " (an abbreviated commit cannot be resolved remotely: give all 40 hex digits)"
      : "";
    throw new ReleaseError(EXIT.unresolved, `no branch or tag "${ref}" in ${url}${hint}`);
  }
  if (found.length > 1 && found[0].sha !== found[1].sha) {
    throw new ReleaseError(
      EXIT.usage,
      `"${ref}" is both a branch and a tag in ${url}: say refs/heads/${ref} or refs/tags/${ref}`,
    );
  }
  return found[0].sha;
}

export interface FileVersion {
  readonly commit: string;
  /** Author date, ISO 8601. */
  readonly date: string;
  readonly author: string;
  readonly text: string;
}

/** Every committed version of a file, newest first. */
export function fileHistory(file: string): FileVersion[] {
  const dir = path.dirname(file);
  const top = git(["rev-parse", "--show-toplevel"], dir).trim();
  const rel = path.relative(top, path.resolve(file)).split(path.sep).join("/");
  const log = git(["log", "--format=%H%x1f%aI%x1f%an", "--", rel], top).split("\n").filter(Boolean);
  return log.map((line) => {
    const [commit, date, author] = line.split("\x1f");
    let text = "";
    try {
      text = git(["show", `${commit}:${rel}`], top);
    } catch {
      text = ""; // the commit deleted the file
    }
    return { commit, date, author, text };
  });
}

/** Whether the file differs from what is committed (or is not committed at all). */
export function hasLocalEdits(file: string): boolean {
  const dir = path.dirname(file);
  try {
    return git(["status", "--porcelain", "--", path.basename(file)], dir).trim() !== "";
  } catch {
    return false; // not a git checkout: nothing to protect
  }
}
