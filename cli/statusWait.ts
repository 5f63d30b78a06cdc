/**
 * `status --wait <seconds>`: after a `pulumi up`, read the stack's status again and again until every service is
 * ready (running, healthy where it has a healthcheck, in sync and answering: status's exit 0) or the time is up,
 * showing per service what it still waits for.
 */
import type { DeploymentModel } from "../model";
import type { collectStatus } from "../observe";
import type { ProgressLines } from "./progress";

type StatusReport = Awaited<ReturnType<typeof collectStatus>>;

export interface WaitOptions {
  /** Milliseconds to wait at most. */
  readonly waitMs: number;
  /** Bound on each call to a host, as in one `status`. */
  readonly timeoutMs: number;
  /** Milliseconds between two reads (default 2000). */
  readonly intervalMs?: number;
}

/** Each service's line after a read: ready, or the first thing it still waits for. */
function showServices(report: StatusReport, lines: ProgressLines): void {
  for (const service of report.services) {
    if (service.attention.length === 0) lines.done(service.name, "ready");
    else lines.update(service.name, service.attention[0]);
  }
}

/** The last report: the first that is all ready, or the one read when the time was up. */
export async function waitForReady(
  model: DeploymentModel,
  collect: typeof collectStatus,
  lines: ProgressLines,
  opts: WaitOptions,
): Promise<StatusReport> {
  const deadline = Date.now() + opts.waitMs;
  for (;;) {
    const report = await collect(model, { timeoutMs: opts.timeoutMs });
    showServices(report, lines);
    const left = deadline - Date.now();
    if (report.result === "ok" || left <= 0) return report;
    await new Promise((resolve) => setTimeout(resolve, Math.min(opts.intervalMs ?? 2000, left)));
  }
}
