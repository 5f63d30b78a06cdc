/**
 * One service of the stack: the checks that need the rest of the stack (its host, the stack's secrets and
 * pins), and the plain spec components deploy.
 */
import type { ModelContext } from "./context";
import { buildImageSpec, checkImagePins } from "./buildImage";
import { ServiceSchema, type ServiceConfig } from "../stackConfig";
import { durationSeconds, sizeBytes } from "../formats";
import { definedOnly, type Complete, type EveryKey } from "./perKey";
import { sortedRecord } from "./sorted";
import { checkPlacement } from "./cluster/clusterChecks";
import { holdSpec, readinessSpec } from "./readiness";
import type { ReleaseRequest, ServiceDraft } from "./serviceDraft";
import type {
  ClusterOnlyKey,
  ClusterServiceSpec,
  CopySpec,
  DockerOnlyKey,
  DockerServiceSpec,
  GpuSpec,
  HealthcheckSpec,
  PortSpec,
  SchedulingSpec,
  ServiceBase,
  ServiceKey,
  UlimitSpec,
} from "./types";

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
    ...(gpus.memoryGiB !== undefined ? { memoryGiB: gpus.memoryGiB } : {}),
  };
}

/**
 * The copies by index, naming no GPU: a single copy uses the service's `gpus` as given, pods on a cluster get the
 * GPUs the scheduler picks, and copies on a Docker host get theirs from the placement (docker/placement.ts).
 */
export function copyIndexes(replicas: number): CopySpec[] {
  return Array.from({ length: replicas }, (_, index) => ({ index }));
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

/** Node placement as the model keeps it: absent when nothing is asked. */
export function schedulingSpec(scheduling: NonNullable<ServiceConfig["scheduling"]>): SchedulingSpec | undefined {
  const { nodeSelector, tolerations, runtimeClassName } = scheduling;
  if (Object.keys(nodeSelector).length === 0 && tolerations.length === 0 && runtimeClassName === undefined) {
    return undefined;
  }
  return {
    nodeSelector: sortedRecord(nodeSelector),
    tolerations: tolerations.map((t) =>
      definedOnly({ key: t.key, operator: t.operator, value: t.value, effect: t.effect }),
    ),
    ...(runtimeClassName !== undefined ? { runtimeClassName } : {}),
  };
}

/**
 * Its host exists, the secrets its env names are set, and it uses only what its kind of host has: read from the
 * raw value, as pins are.
 */
export function checkServiceInStack(ctx: ModelContext, name: string, raw: Record<string, unknown>): void {
  const at = (...rest: PropertyKey[]) => ["services", name, ...rest];
  if (typeof raw.host === "string" && raw.host !== "" && !ctx.hostNames.includes(raw.host)) {
    ctx.add(at("host"), `unknown host "${raw.host}"; hosts in this stack: ${ctx.hostNames.join(", ") || "(none)"}`);
  }
  checkPlacement(ctx, name, raw);
  // A build on a cluster is refused whole (checkPlacement): its pins would only repeat the problem.
  const onCluster = typeof raw.host === "string" && ctx.hostKinds.get(raw.host) === "kubernetes";
  checkImagePins(ctx, at(), onCluster ? { ...raw, build: undefined } : raw);
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

/**
 * Which key of the spec each key of a service's config becomes: a key added to the schema is a type error here
 * until it says which (or that it is not carried, and why).
 */
export const SPEC_KEY_OF = {
  host: "host",
  containerName: "containerName",
  image: "image",
  build: "image",
  ports: "ports",
  volumes: "volumes",
  binds: "binds",
  env: "env",
  secretEnv: "secretEnv",
  gpus: "gpus",
  shareGpu: "shareGpu",
  restart: "restart",
  healthcheck: "healthcheck",
  command: "command",
  user: "user",
  entrypoint: "entrypoint",
  shmSize: "shmSizeBytes",
  cpus: "cpus",
  ipc: "ipc",
  ulimits: "ulimits",
  labels: "labels",
  scheme: "scheme",
  endpointPort: "endpoint",
  stopGraceSeconds: "stopGraceSeconds",
  release: "release",
  readiness: "readiness",
  hold: "hold",
  replicas: "replicas",
  scheduling: "scheduling",
} as const satisfies EveryKey<ServiceConfig, ServiceKey>;

/** What both kinds of service are built from, before the release is resolved. */
type BaseDraft = Omit<ServiceBase, "release"> & { readonly release: ReleaseRequest };

/**
 * The spec of a service whose config parsed, its release not yet resolved; `holdFloorSeconds` is the least hold
 * (`gpu-services:switch.holdSeconds`). Every key of the spec is given (`undefined` where an optional one is unset,
 * then left out), so a key added to a ServiceSpec is a type error here until it is built: the keys of both kinds
 * here, each kind's own in dockerPart and clusterPart.
 */
export function buildServiceSpec(
  ctx: ModelContext,
  name: string,
  service: ServiceConfig,
  holdFloorSeconds: number,
): ServiceDraft {
  const healthcheck = service.healthcheck ? healthcheckSpec(service.healthcheck) : undefined;
  const spec: Complete<BaseDraft> = {
    name,
    host: service.host,
    containerName: service.containerName ?? `${name}-${ctx.stack}`,
    image: buildImageSpec(ctx, name, service),
    ports: service.ports,
    volumes: service.volumes,
    env: sortedRecord(service.env),
    secretEnv: sortedRecord(service.secretEnv),
    gpus: service.gpus ? gpuSpec(service.gpus) : undefined,
    healthcheck,
    command: service.command || undefined,
    user: service.user || undefined,
    entrypoint: service.entrypoint || undefined,
    shmSizeBytes: service.shmSize !== undefined ? sizeBytes(service.shmSize)! : undefined,
    cpus: service.cpus,
    ipc: service.ipc || undefined,
    labels: sortedRecord(service.labels),
    scheme: service.scheme,
    endpoint: endpointOf(service.ports, service.endpointPort),
    stopGraceSeconds: service.stopGraceSeconds,
    release: { requested: service.release.strategy, drainSeconds: service.release.drainSeconds },
    readiness: readinessSpec(ctx, name, service, healthcheck),
    replicas: service.replicas ?? 1,
    copies: copyIndexes(service.replicas ?? 1),
  };
  const base = definedOnly<BaseDraft>(spec);
  return ctx.hostKinds.get(service.host) === "kubernetes"
    ? { ...base, ...clusterPart(service) }
    : { ...base, ...dockerPart(service, healthcheck, holdFloorSeconds) };
}

/** The keys only a service on a Docker host has. */
function dockerPart(
  service: ServiceConfig,
  healthcheck: HealthcheckSpec | undefined,
  holdFloorSeconds: number,
): Pick<DockerServiceSpec, "runsOn" | DockerOnlyKey> {
  const part: Complete<Pick<DockerServiceSpec, "runsOn" | DockerOnlyKey>> = {
    runsOn: "docker",
    binds: service.binds,
    shareGpu: service.shareGpu,
    restart: service.restart,
    ulimits: service.ulimits && Object.keys(service.ulimits).length > 0 ? ulimitSpecs(service.ulimits) : undefined,
    hold: holdSpec(service.hold, healthcheck, holdFloorSeconds),
  };
  return definedOnly<Pick<DockerServiceSpec, "runsOn" | DockerOnlyKey>>(part);
}

/** The keys only a service on a cluster has. */
function clusterPart(service: ServiceConfig): Pick<ClusterServiceSpec, "runsOn" | ClusterOnlyKey> {
  const part: Complete<Pick<ClusterServiceSpec, "runsOn" | ClusterOnlyKey>> = {
    runsOn: "kubernetes",
    scheduling: service.scheduling ? schedulingSpec(service.scheduling) : undefined,
  };
  return definedOnly<Pick<ClusterServiceSpec, "runsOn" | ClusterOnlyKey>>(part);
}
