/**
 * Exit codes of `status` and `doctor`, for monitors and CI. 1 is also what any CLI of the project exits with on
 * a crash: either way a person has to look.
 */
export const OBSERVE_EXIT = {
  /** status: every service in sync, running, healthy and answering. doctor: no check failed (warnings allowed). */
  ok: 0,
  /** status: something to look at (drifted, not deployed, stopped, unhealthy, not answering). doctor: a check failed. */
  attention: 1,
  /** Bad input: unknown stack, invalid stack config. */
  usage: 2,
  /** A host could not be reached (ssh refused, no answer within the bound, no Docker daemon). */
  unreachable: 3,
} as const;
