/** Git, run for real: refs of a remote, the history of a stack file, local edits. */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { COMMIT_RE, redactUrl } from "../formats";
import { ReportedError } from "../errors";
import { noAnswerWithin } from "./remote";

function git(args: string[], cwd?: string, timeoutMs?: number): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
    // A remote that never answers is killed rather than waited for; never ask for a password on a terminal.
    ...(timeoutMs ? { timeout: timeoutMs, killSignal: "SIGKILL" as const } : {}),
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
  });
}

/** The commit a branch or tag of a remote points at (a full commit is returned as it is). */
export function resolveRef(url: string, ref: string, timeoutMs = 30_000): string {
  if (COMMIT_RE.test(ref)) return ref;
  let out: string;
  try {
    out = git(["ls-remote", "--", url, ref, `${ref}^{}`], undefined, timeoutMs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ETIMEDOUT" || (e as { signal?: string }).signal === "SIGKILL") {
      throw new ReportedError("unresolved", noAnswerWithin(`git remote ${redactUrl(url)}`, timeoutMs));
    }
    const stderr = String((e as { stderr?: string }).stderr ?? (e as Error).message).trim();
    throw new ReportedError("unresolved", `git ls-remote ${redactUrl(url)} failed: ${stderr}`);
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
    throw new ReportedError("unresolved", `no branch or tag "${ref}" in ${url}${hint}`);
  }
  if (found.length > 1 && found[0].sha !== found[1].sha) {
    throw new ReportedError(
      "invalid",
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
  let top: string;
  try {
    top = git(["rev-parse", "--show-toplevel"], dir).trim();
  } catch (e) {
    const reason = String((e as { stderr?: string }).stderr ?? (e as Error).message)
      .trim()
      .split("\n")[0];
    throw new ReportedError("unresolved", `no history for ${path.basename(file)}: ${reason}`);
  }
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

/**
 * Why a stack file may not be rewritten now, or undefined when it is committed as it is. Fails closed: a file
 * git cannot vouch for (untracked, outside a checkout, git failing) is refused, with git's reason.
 */
export function localEditsRefusal(file: string): string | undefined {
  const dir = path.dirname(file);
  const name = path.basename(file);
  let status: string;
  try {
    git(["ls-files", "--error-unmatch", "--", name], dir);
    status = git(["status", "--porcelain", "--", name], dir).trim();
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? "").trim();
    if (/did not match any file|pathspec/.test(stderr)) {
      return `${name} is not committed to git (untracked): commit it first, so the release can be rolled back`;
    }
    return `git cannot tell whether ${name} has local edits (${stderr.split("\n")[0] || (e as Error).message}); fix that first`;
  }
  if (status !== "") return `${name} has uncommitted changes; commit or discard them first`;
  return undefined;
}
