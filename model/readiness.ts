/**
 * A service's readiness check and hold, resolved: the declared check (its body read from the project), else the
 * GET of an HTTP healthcheck, else a TCP connect to its first tcp port; the hold's budget from the expected load
 * time (the healthcheck's start period) and the switch's least hold.
 */
import { durationSeconds } from "../formats";
import { HOLD_SLACK_SECONDS, READINESS_DEFAULTS, TCP_READINESS_PASSES, type ServiceConfig } from "../stackConfig";
import type { ModelContext } from "./context";
import { healthcheckGet } from "./healthcheckUrl";
import { definedOnly } from "./perKey";
import { MULTIPART_CONTENT_TYPE, readinessBody } from "./readinessBody";
import { sortedRecord } from "./sorted";
import type { HealthcheckSpec, HoldSpec, HttpReadinessSpec, ReadinessSpec } from "./types";

const ms = (duration: string) => Math.round(durationSeconds(duration) * 1000);

const firstTcpPort = (ports: ServiceConfig["ports"]) => ports.find((p) => p.protocol === "tcp")?.container;

/** The declared check, its body read; the schema has made sure it has a tcp port to probe. */
function declaredReadiness(ctx: ModelContext, name: string, service: ServiceConfig): HttpReadinessSpec {
  const declared = service.readiness!;
  // A cluster refuses every body (cluster/clusterChecks.ts): its file is not read for a second problem.
  const onCluster = ctx.hostKinds.get(service.host) === "kubernetes";
  const body =
    declared.body && !onCluster
      ? readinessBody(ctx, ["services", name, "readiness", "body"], declared.body)
      : undefined;
  const headers =
    body?.kind === "multipart" ? { ...declared.headers, "Content-Type": MULTIPART_CONTENT_TYPE } : declared.headers;
  const expected = declared.expectStatus === undefined ? [] : [declared.expectStatus].flat();
  return definedOnly<HttpReadinessSpec>({
    kind: "http",
    source: "declared",
    port: declared.port ?? firstTcpPort(service.ports)!,
    scheme: declared.scheme ?? service.scheme,
    method: declared.method,
    path: declared.path,
    headers: sortedRecord(headers),
    body,
    expectStatus: [...new Set(expected)].sort((a, b) => a - b),
    timeoutMs: ms(declared.timeout),
    intervalMs: ms(declared.interval),
    passes: declared.passes,
  });
}

/**
 * The check a copy must pass before it gets requests: declared, else the GET of an HTTP healthcheck (any 2xx,
 * passed twice), else a TCP connect to the first tcp port (once: today's "the port accepts connections", made
 * explicit); none for a service without a tcp port.
 */
export function readinessSpec(
  ctx: ModelContext,
  name: string,
  service: ServiceConfig,
  healthcheck: HealthcheckSpec | undefined,
): ReadinessSpec | undefined {
  if (service.readiness) return declaredReadiness(ctx, name, service);
  const timing = { timeoutMs: ms(READINESS_DEFAULTS.timeout), intervalMs: ms(READINESS_DEFAULTS.interval) };
  const get = healthcheck && healthcheckGet(healthcheck.test);
  if (get) {
    return {
      kind: "http",
      source: "healthcheck",
      port: get.port,
      scheme: get.scheme,
      method: "GET",
      path: get.path,
      headers: {},
      expectStatus: [],
      ...timing,
      passes: READINESS_DEFAULTS.passes,
    };
  }
  const port = firstTcpPort(service.ports);
  return port === undefined ? undefined : { kind: "tcp", port, ...timing, passes: TCP_READINESS_PASSES };
}

/**
 * The hold: `hold.seconds`, else the expected load time (the healthcheck's start period, else 0) plus a slack, and
 * at least `floorSeconds` (`gpu-services:switch.holdSeconds`, its default without a switch).
 */
export function holdSpec(
  hold: ServiceConfig["hold"],
  healthcheck: HealthcheckSpec | undefined,
  floorSeconds: number,
): HoldSpec {
  const expectedSeconds = healthcheck ? Math.ceil(durationSeconds(healthcheck.startPeriod)) : 0;
  return {
    seconds: hold.seconds ?? Math.max(expectedSeconds + HOLD_SLACK_SECONDS, floorSeconds),
    queue: hold.queue,
    replay: hold.replay,
    expectedSeconds,
  };
}
