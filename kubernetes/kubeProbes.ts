/**
 * A service's healthcheck as the kubelet runs it: a startup probe (the start period) and a readiness probe, both
 * `httpGet` where the check is a plain GET of a published port on localhost by curl or wget, `exec` otherwise.
 *
 * Timing, from the Docker healthcheck's fields (whole seconds, at least 1, as the kubelet takes them):
 * - both probes: `periodSeconds` = interval, `timeoutSeconds` = timeout, `successThreshold` 1;
 * - readiness: `failureThreshold` = retries (Docker's unhealthy after `retries` failures in a row);
 * - startup: `failureThreshold` = ⌈startPeriod / interval⌉ + retries, so a container gets its start period and then
 *   `retries` more checks before the kubelet restarts it (Docker ignores failures during the start period).
 * No liveness probe: Docker never restarts an unhealthy container either.
 *
 * A declared readiness check (`services.<s>.readiness`, a GET without a body: buildModel refuses the rest on a
 * cluster) replaces both: its `httpGet` (with its headers) for each, `periodSeconds` = interval, `timeoutSeconds` =
 * timeout; readiness `successThreshold` = passes and `failureThreshold` = the healthcheck's retries (else the
 * kubelet's 3); startup `failureThreshold` = ⌈bound / interval⌉, the bound being the rollout's progress deadline,
 * past which `pulumi up` fails anyway.
 */
import type * as k8s from "@pulumi/kubernetes";
import { durationSeconds } from "../formats";
import {
  healthcheckGet,
  type HealthcheckSpec,
  type HttpReadinessSpec,
  type PortSpec,
  type ClusterServiceSpec,
} from "../model";

type Probe = k8s.types.input.core.v1.Probe;
type Action = Pick<Probe, "httpGet" | "exec">;

export interface ServiceProbes {
  readonly startupProbe: Probe;
  readonly readinessProbe: Probe;
}

/**
 * The GET a check makes, when it is a plain GET by curl (with `-f`) or wget of `http(s)://localhost:<port>/…`
 * (or 127.0.0.1, [::1]) on a port the service publishes. Only a published port: the kubelet probes the pod's
 * address, not its loopback, and a published port is one the server listens on beyond loopback.
 */
export function plainGet(
  test: readonly string[],
  ports: readonly PortSpec[],
): { scheme: "HTTP" | "HTTPS"; port: number; path: string } | undefined {
  const get = healthcheckGet(test);
  if (!get || !get.failsOnError) return undefined;
  if (!ports.some((p) => p.protocol === "tcp" && p.container === get.port)) return undefined;
  return { scheme: get.scheme === "https" ? "HTTPS" : "HTTP", port: get.port, path: get.path };
}

/** What the probes run: the GET, or the check's command (`CMD-SHELL` through `/bin/sh -c`, as Docker does). */
export function probeAction(test: readonly string[], ports: readonly PortSpec[]): Action {
  const get = plainGet(test, ports);
  if (get) return { httpGet: { scheme: get.scheme, port: get.port, path: get.path } };
  const command = test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", test.slice(1).join(" ")] : test.slice(1);
  return { exec: { command: [...command] } };
}

/** Whole seconds, at least 1: what the kubelet takes for a period or a timeout. */
const wholeSeconds = (duration: string) => Math.max(1, Math.ceil(durationSeconds(duration)));

/** The startup and readiness probes of a healthcheck; none for no healthcheck or `NONE`. */
export function serviceProbes(
  healthcheck: HealthcheckSpec | undefined,
  ports: readonly PortSpec[],
): ServiceProbes | undefined {
  if (!healthcheck || healthcheck.test[0] === "NONE") return undefined;
  const action = probeAction(healthcheck.test, ports);
  const periodSeconds = wholeSeconds(healthcheck.interval);
  const timing = { periodSeconds, timeoutSeconds: wholeSeconds(healthcheck.timeout), successThreshold: 1 };
  const startPeriodChecks = Math.ceil(durationSeconds(healthcheck.startPeriod) / periodSeconds);
  return {
    startupProbe: { ...action, ...timing, failureThreshold: Math.max(1, startPeriodChecks + healthcheck.retries) },
    readinessProbe: { ...action, ...timing, failureThreshold: Math.max(1, healthcheck.retries) },
  };
}

/** Whole seconds of a number of milliseconds, at least 1. */
const wholeSecondsOf = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** The readiness and startup probes of a declared readiness check (a GET), the load bounded by `boundSeconds`. */
export function readinessProbes(
  readiness: HttpReadinessSpec,
  failureThreshold: number,
  boundSeconds: number,
): ServiceProbes {
  const headers = Object.entries(readiness.headers).map(([name, value]) => ({ name, value }));
  const httpGet = {
    scheme: readiness.scheme === "https" ? "HTTPS" : "HTTP",
    port: readiness.port,
    path: readiness.path,
    ...(headers.length > 0 ? { httpHeaders: headers } : {}),
  };
  const periodSeconds = wholeSecondsOf(readiness.intervalMs);
  const timing = { periodSeconds, timeoutSeconds: wholeSecondsOf(readiness.timeoutMs) };
  return {
    startupProbe: {
      httpGet,
      ...timing,
      successThreshold: 1,
      failureThreshold: Math.max(1, Math.ceil(boundSeconds / periodSeconds)),
    },
    readinessProbe: { httpGet, ...timing, successThreshold: readiness.passes, failureThreshold },
  };
}

/** The kubelet's default failureThreshold. */
const KUBELET_FAILURES = 3;

/** A pod's probes: from a declared readiness check, else from the healthcheck (derived checks leave it as it was). */
export function podProbes(
  service: Pick<ClusterServiceSpec, "healthcheck" | "ports" | "readiness">,
  boundSeconds: number,
): ServiceProbes | undefined {
  const { readiness, healthcheck } = service;
  if (readiness?.kind === "http" && readiness.source === "declared") {
    return readinessProbes(readiness, healthcheck?.retries ?? KUBELET_FAILURES, boundSeconds);
  }
  return serviceProbes(healthcheck, service.ports);
}
