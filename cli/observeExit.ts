/**
 * Exit codes of `status` and `doctor`, for monitors and CI: the project's one table (`EXIT`, ./errors.ts), read for
 * what these two commands find. Bad arguments and invalid stack config exit as in every CLI (`EXIT.usage`,
 * `EXIT.config`). The reports say what was found (`result`); the CLI gives them the exit code it exits with.
 */
import type { DoctorReport, StatusReport, WithExitCode } from "../observe";
import { EXIT } from "./errors";

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

const STATUS_EXIT = {
  ok: OBSERVE_EXIT.ok,
  attention: OBSERVE_EXIT.attention,
  unreachable: OBSERVE_EXIT.unreachable,
} as const satisfies Record<StatusReport["result"], number>;

const DOCTOR_EXIT = {
  ok: OBSERVE_EXIT.ok,
  fail: OBSERVE_EXIT.attention,
  unreachable: OBSERVE_EXIT.unreachable,
} as const satisfies Record<DoctorReport["result"], number>;

/** The report with its exit code after its result, as `--json` prints it. */
function withExitCode(report: StatusReport, exitCode: number): WithExitCode<StatusReport>;
function withExitCode(report: DoctorReport, exitCode: number): WithExitCode<DoctorReport>;
function withExitCode(report: StatusReport | DoctorReport, exitCode: number) {
  const { stack, checkedAt, result, ...rest } = report;
  return { stack, checkedAt, result, exitCode, ...rest };
}

export const statusExit = (report: StatusReport) => withExitCode(report, STATUS_EXIT[report.result]);
export const doctorExit = (report: DoctorReport) => withExitCode(report, DOCTOR_EXIT[report.result]);
