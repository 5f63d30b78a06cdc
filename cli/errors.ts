import type { ErrorKind } from "../errors";

/**
 * Exit codes of every CLI (`gpu-services` and the per-verb scripts), one per kind of error, for scripts.
 * docs/reference/exit-codes.md lists them (checked by test/exitCodes.test.ts).
 */
export const EXIT = {
  ok: 0,
  /** Something unexpected (a bug, a crash). */
  failure: 1,
  /** Bad arguments: unknown stack or service, malformed tag, digest or ref, a missing input file. */
  usage: 2,
  /** The tag, digest or ref does not resolve (not in the registry or the git remote, or unreachable). */
  unresolved: 3,
  /** Refused: the stack file has local edits, the result would not be valid config, an output is not writable. */
  refused: 4,
  /** The stack's config, as its file stands, is invalid or is not a stack file (not YAML, duplicate keys). */
  config: 5,
} as const;

/** The exit code of each kind of error (errors/): what a CLI exits with when it meets one. */
export const EXIT_OF_KIND = {
  invalid: EXIT.usage,
  unresolved: EXIT.unresolved,
  refused: EXIT.refused,
  config: EXIT.config,
} as const satisfies Record<ErrorKind, number>;
