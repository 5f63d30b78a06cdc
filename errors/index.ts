/**
 * The errors of the whole project, one vocabulary below everything else (as compose-go's errdefs): an error whose
 * message is all a person needs to read, and its kind, what sort of failure it is. A module says which kind it
 * met; it never picks an exit code. The CLIs map each kind to their exit code (`EXIT_OF_KIND`, cli/errors.ts), and
 * the Pulumi program prints the message alone.
 */

/** What sort of failure an error is; each kind is one exit code of every CLI. */
export type ErrorKind =
  /** Bad input: an unknown stack or service, a malformed tag, digest or ref, a missing input file. */
  | "invalid"
  /** What was asked for does not resolve: not in the registry or the git remote, or they cannot be reached. */
  | "unresolved"
  /** Refused: the stack file has local edits, the result would not be valid config, an output is not writable. */
  | "refused"
  /** The stack's config, as its file stands, is invalid or is not a stack file (not YAML, duplicate keys). */
  | "config";

/** An error reported as its message alone (never with a stack trace), of one kind. */
export class ReportedError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "ReportedError";
  }
}
