/**
 * `deploy` and `gpus:`: what of compose's deploy section a Docker host takes (the copies, the NVIDIA device request).
 */
import { ComposeError } from "../errors";
import type { ComposeMap } from "../read";
import { list, map, shapeError } from "../shape";
import type { Mapper, ServiceScope } from "./scope";

/** The GPU request of one nvidia device reservation (`deploy…devices[]` or `gpus:`). */
function gpuRequest(d: ComposeMap, where: string): Record<string, unknown> {
  if (d.count !== undefined && d.device_ids !== undefined)
    throw new ComposeError(`${where}: count and device_ids conflict`);
  if (d.capabilities !== undefined && !Array.isArray(d.capabilities)) {
    throw shapeError(`${where}.capabilities`, "a list such as [gpu]", d.capabilities);
  }
  if (d.device_ids !== undefined && !Array.isArray(d.device_ids)) {
    throw shapeError(`${where}.device_ids`, "a list of device IDs", d.device_ids);
  }
  const count =
    d.count === undefined ? undefined : String(d.count) === "all" || d.count === -1 ? "all" : Number(d.count);
  if (typeof count === "number" && (!Number.isInteger(count) || count < 1)) {
    throw shapeError(`${where}.count`, 'a whole number of at least 1, or "all"', d.count);
  }
  return {
    ...(d.device_ids ? { deviceIds: (d.device_ids as unknown[]).map(String) } : { count: count ?? "all" }),
    ...(d.capabilities ? { capabilities: (d.capabilities as unknown[]).map(String) } : {}),
  };
}

/** `deploy.replicas`: the service's copies; 0 (compose's "do not run it") has no form in a stack. */
function replicasOf(value: unknown, at: string, warnings: string[]): Record<string, unknown> {
  if (value === undefined) return {};
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw shapeError(`${at}.deploy.replicas`, "a whole number of copies", value);
  }
  if (n === 0) {
    warnings.push(`${at}.deploy.replicas: 0 (the service is not run) is not carried over; remove the service instead`);
    return {};
  }
  return { replicas: n };
}

/**
 * `deploy` and `gpus:`: the copies (`deploy.replicas`) and the one NVIDIA device request, from
 * `deploy.resources.reservations.devices` or `gpus:`; every other key of `deploy` is named in a warning.
 */
function deployConfig(svc: ComposeMap, { at, warnings }: ServiceScope): Record<string, unknown> {
  let gpus: Record<string, unknown> | undefined;
  let replicas: Record<string, unknown> = {};
  if (svc.deploy !== undefined) {
    const deploy = map(svc.deploy, `${at}.deploy`);
    replicas = replicasOf(deploy.replicas, at, warnings);
    // restart_policy is the restart mapper's (restart.ts).
    for (const k of Object.keys(deploy))
      if (!["resources", "restart_policy", "replicas"].includes(k))
        warnings.push(`${at}.deploy.${k}: not carried over`);
    const resources = deploy.resources === undefined ? {} : map(deploy.resources, `${at}.deploy.resources`);
    for (const k of Object.keys(resources))
      if (k !== "reservations") warnings.push(`${at}.deploy.resources.${k}: not carried over`);
    const reservations =
      resources.reservations === undefined ? {} : map(resources.reservations, `${at}.deploy.resources.reservations`);
    for (const k of Object.keys(reservations)) {
      if (k !== "devices") warnings.push(`${at}.deploy.resources.reservations.${k}: not carried over`);
    }
    const devicesAt = `${at}.deploy.resources.reservations.devices`;
    const devices =
      reservations.devices === undefined ? [] : list(reservations.devices, devicesAt, "a list of device requests");
    devices.forEach((entry, i) => {
      const where = `${devicesAt}[${i}]`;
      const d = map(entry, where, "a device request such as {driver: nvidia, count: 1, capabilities: [gpu]}");
      if (d.driver !== undefined && d.driver !== "nvidia") {
        warnings.push(`${where}: driver "${String(d.driver)}" is not carried over (only nvidia)`);
        return;
      }
      const request = gpuRequest(d, where);
      if (gpus) warnings.push(`${where}: a second device request is not carried over`);
      else gpus = request;
    });
  }
  if (svc.gpus !== undefined) {
    if (gpus) warnings.push(`${at}.gpus: a second device request is not carried over`);
    else if (svc.gpus === "all") gpus = { count: "all" };
    else {
      const requests = list(svc.gpus, `${at}.gpus`, '"all" or a list of device requests');
      gpus = gpuRequest(map(requests[0], `${at}.gpus[0]`), `${at}.gpus[0]`);
      if (requests.length > 1) warnings.push(`${at}.gpus[1]: a second device request is not carried over`);
    }
  }
  return { ...(gpus ? { gpus } : {}), ...replicas };
}

export const deployMapper: Mapper = { compose: ["deploy", "gpus"], map: deployConfig };
