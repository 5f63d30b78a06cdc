/** Exit codes of the release CLI, for scripts. */
export const EXIT = {
  ok: 0,
  /** Something unexpected (a bug, a crash). */
  failure: 1,
  /** Bad input: unknown stack or service, malformed tag, digest or ref. */
  usage: 2,
  /** The tag, digest or ref does not resolve (not in the registry or the git remote, or unreachable). */
  unresolved: 3,
  /** Refused: the stack file has local edits, or the result would not be valid config. */
  refused: 4,
} as const;

export class ReleaseError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = "ReleaseError";
  }
}

/** What a remote that did not answer in time is reported with, and how to wait longer. */
export function noAnswerWithin(remote: string, timeoutMs: number): string {
  return `${remote} did not answer within ${Math.round(timeoutMs / 1000)} s (--timeout <seconds> to wait longer)`;
}
