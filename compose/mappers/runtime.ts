/**
 * How the container runs: `command`, `entrypoint`, `user`, `stop_grace_period`, `shm_size`, `cpus`, `ipc`, `ulimits`.
 */
import { IPC_MODES, isPlainObject } from "../../formats";
import type { ComposeMap } from "../read";
import { isScalar, map, shapeError } from "../shape";
import { argv, composeDuration } from "../syntax";
import type { Mapper, ServiceScope } from "./scope";

/** Compose's default grace: Docker's 10 s (compose sets none), not the stack's 30 s. */
const COMPOSE_STOP_GRACE_SECONDS = 10;

/** `stop_grace_period` in the whole seconds Docker takes, cut as compose cuts it; compose's default without it. */
function stopGraceSeconds(svc: ComposeMap, at: string, warnings: string[]): number {
  if (svc.stop_grace_period === undefined) return COMPOSE_STOP_GRACE_SECONDS;
  const seconds = composeDuration(svc.stop_grace_period, `${at}.stop_grace_period`);
  const whole = Math.trunc(seconds);
  if (whole !== seconds) {
    warnings.push(
      `${at}.stop_grace_period: ${String(svc.stop_grace_period)} is taken as ${whole} s (Docker takes whole seconds)`,
    );
  }
  return whole;
}

/** Compose's `cpus` (a number, or a numeric string as compose-go reads it): the CPU limit, above 0. */
function cpus(value: unknown, at: string): number {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw shapeError(at, "a number of CPUs above 0, such as 1.5", value);
  return n;
}

/** How the container runs: command, entrypoint, user, stop grace period, /dev/shm, IPC namespace, ulimits. */
function runtimeConfig(svc: ComposeMap, { at, warnings }: ServiceScope): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (svc.command !== undefined && svc.command !== null) config.command = argv(svc.command, `${at}.command`);
  if (svc.entrypoint !== undefined && svc.entrypoint !== null) {
    const entrypoint = argv(svc.entrypoint, `${at}.entrypoint`);
    if (entrypoint.length > 0) config.entrypoint = entrypoint;
    else warnings.push(`${at}.entrypoint: an empty entrypoint (clearing the image's) is not carried over`);
  }
  if (svc.user !== undefined) config.user = String(svc.user);
  config.stopGraceSeconds = stopGraceSeconds(svc, at, warnings);
  if (svc.shm_size !== undefined) {
    if (!isScalar(svc.shm_size)) throw shapeError(`${at}.shm_size`, "a size such as 16g", svc.shm_size);
    config.shmSize = typeof svc.shm_size === "number" ? svc.shm_size : String(svc.shm_size);
  }
  if (svc.cpus !== undefined) config.cpus = cpus(svc.cpus, `${at}.cpus`);
  if (svc.ipc !== undefined) {
    const ipc = String(svc.ipc);
    if ((IPC_MODES as readonly string[]).includes(ipc)) config.ipc = ipc;
    else warnings.push(`${at}.ipc: "${ipc}" (another container's IPC namespace) is not carried over`);
  }
  if (svc.ulimits !== undefined) {
    const ulimits: Record<string, unknown> = {};
    for (const [limit, value] of Object.entries(map(svc.ulimits, `${at}.ulimits`, "a map such as {memlock: -1}"))) {
      const where = `${at}.ulimits.${limit}`;
      if (typeof value === "number" || (typeof value === "string" && /^-?\d+$/.test(value)))
        ulimits[limit] = Number(value);
      else if (isPlainObject(value) && value.soft !== undefined && value.hard !== undefined) {
        ulimits[limit] = { soft: Number(value.soft), hard: Number(value.hard) };
      } else throw shapeError(where, "a number or {soft, hard}", value);
    }
    if (Object.keys(ulimits).length > 0) config.ulimits = ulimits;
  }
  return config;
}

export const runtimeMapper: Mapper = {
  compose: ["command", "entrypoint", "user", "stop_grace_period", "shm_size", "cpus", "ipc", "ulimits"],
  map: runtimeConfig,
};
