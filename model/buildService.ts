/**
 * One service of the stack: the checks that need the rest of the stack (its host, the stack's secrets and
 * pins), and the plain spec components deploy.
 */
import type { ModelContext } from "./context";
import { buildImageSpec, checkImagePins } from "./buildImage";
import { ServiceSchema, type ServiceConfig } from "../stackConfig";
import { durationSeconds, sizeBytes } from "../formats";
import { sortedRecord } from "./sorted";
import type { GpuSpec, HealthcheckSpec, PortSpec, ServiceSpec, UlimitSpec } from "./types";

/** The published port that is the service's endpoint: the given container port over tcp, or the first tcp port. */
export function endpointOf(ports: readonly PortSpec[], endpointPort: number | undefined): PortSpec | undefined {
  return ports.find((p) => p.protocol === "tcp" && (endpointPort === undefined || p.container === endpointPort));
}

/** The healthcheck as Docker takes it, and how long `pulumi up` waits for it: the worst case plus a minute. */
export function healthcheckSpec(healthcheck: NonNullable<ServiceConfig["healthcheck"]>): HealthcheckSpec {
  const test = typeof healthcheck.test === "string" ? ["CMD-SHELL", healthcheck.test] : healthcheck.test;
  const worstCase =
    durationSeconds(healthcheck.startPeriod) +
    healthcheck.retries * (durationSeconds(healthcheck.interval) + durationSeconds(healthcheck.timeout));
  return {
    test,
    interval: healthcheck.interval,
    timeout: healthcheck.timeout,
    retries: healthcheck.retries,
    startPeriod: healthcheck.startPeriod,
    waitTimeoutSeconds: Math.ceil(worstCase) + 60,
  };
}

/** The GPU request: device IDs, or a count (one when neither is given). */
export function gpuSpec(gpus: NonNullable<ServiceConfig["gpus"]>): GpuSpec {
  return {
    ...(gpus.deviceIds ? { deviceIds: gpus.deviceIds } : { count: gpus.count ?? 1 }),
    capabilities: gpus.capabilities,
  };
}

/** Limits as {soft, hard}, by name. */
export function ulimitSpecs(ulimits: NonNullable<ServiceConfig["ulimits"]>): Record<string, UlimitSpec> {
  return sortedRecord(
    Object.fromEntries(
      Object.entries(ulimits).map(([name, limit]) => [
        name,
        typeof limit === "number" ? { soft: limit, hard: limit } : { soft: limit.soft, hard: limit.hard },
      ]),
    ),
  );
}

/** Its host exists and the secrets its env names are set: read from the raw value, as pins are. */
export function checkServiceInStack(ctx: ModelContext, name: string, raw: Record<string, unknown>): void {
  const at = (...rest: PropertyKey[]) => ["services", name, ...rest];
  if (typeof raw.host === "string" && raw.host !== "" && !ctx.hostNames.includes(raw.host)) {
    ctx.add(at("host"), `unknown host "${raw.host}"; hosts in this stack: ${ctx.hostNames.join(", ") || "(none)"}`);
  }
  checkImagePins(ctx, name, raw);
  const secretEnv = ServiceSchema.shape.secretEnv.safeParse(raw.secretEnv);
  if (!secretEnv.success) return;
  for (const [env, secretName] of Object.entries(secretEnv.data)) {
    if (!ctx.secretNames.includes(secretName)) {
      ctx.add(
        at("secretEnv", env),
        `no secret "${secretName}" in secrets; set it with: pulumi config set --secret --path ` +
          `'secrets.${secretName}' <value>`,
      );
    }
  }
}

/** The spec of a service whose config parsed. */
export function buildServiceSpec(ctx: ModelContext, name: string, service: ServiceConfig): ServiceSpec {
  const endpoint = endpointOf(service.ports, service.endpointPort);
  return {
    name,
    host: service.host,
    containerName: service.containerName ?? `${name}-${ctx.stack}`,
    image: buildImageSpec(ctx, name, service),
    ports: service.ports,
    volumes: service.volumes,
    binds: service.binds,
    env: sortedRecord(service.env),
    secretEnv: sortedRecord(service.secretEnv),
    ...(service.gpus ? { gpus: gpuSpec(service.gpus) } : {}),
    shareGpu: service.shareGpu,
    restart: service.restart,
    ...(service.healthcheck ? { healthcheck: healthcheckSpec(service.healthcheck) } : {}),
    ...(service.command ? { command: service.command } : {}),
    ...(service.user ? { user: service.user } : {}),
    ...(service.entrypoint ? { entrypoint: service.entrypoint } : {}),
    ...(service.shmSize !== undefined ? { shmSizeBytes: sizeBytes(service.shmSize)! } : {}),
    ...(service.cpus !== undefined ? { cpus: service.cpus } : {}),
    ...(service.ipc ? { ipc: service.ipc } : {}),
    ...(service.ulimits && Object.keys(service.ulimits).length > 0 ? { ulimits: ulimitSpecs(service.ulimits) } : {}),
    labels: sortedRecord(service.labels),
    scheme: service.scheme,
    ...(endpoint ? { endpoint } : {}),
    stopGraceSeconds: service.stopGraceSeconds,
  };
}
