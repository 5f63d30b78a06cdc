/**
 * Exit codes of `status` and `doctor`, for monitors and CI: the project's one table (`EXIT`, cli/errors.ts), read
 * for what these two commands find. Bad arguments and invalid stack config exit as in every CLI (`EXIT.usage`,
 * `EXIT.config`).
 */
import { EXIT } from "../cli/errors";

export const OBSERVE_EXIT = {
  /** status: every service in sync, running, healthy and answering. doctor: no check failed (warnings allowed). */
  ok: EXIT.ok,
  /**
   * status: something to look at (drifted, not deployed, stopped, unhealthy, not answering). doctor: a check
   * failed. The code of a crash too: either way a person has to look.
   */
  attention: EXIT.failure,
  /**
   * A host could not be reached (ssh refused, no answer within the bound, no Docker daemon); or none can be, as
   * this machine's docker CLI is missing or cannot be executed.
   */
  unreachable: EXIT.unresolved,
} as const;
