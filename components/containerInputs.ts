/**
 * The inputs of a service's `docker.Container` that are pure functions of its spec: ports, GPU device
 * requests, healthcheck, env and labels, and the endpoint URL. No resources are created here.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  addressForPort,
  isAnyAddress,
  LABEL_PREFIX,
  MIB,
  SECRET_ENV_LABEL,
  type GpuSpec,
  type HealthcheckSpec,
  type PortSpec,
  type ServiceSpec,
} from "../config/specs";

type ContainerArgs = docker.ContainerArgs;

/** Published ports, in the order configured. */
export function portArgs(ports: readonly PortSpec[]): ContainerArgs["ports"] {
  return ports.map((port) => ({
    internal: port.container,
    external: port.host,
    ip: port.hostIp,
    protocol: port.protocol,
  }));
}

/** One NVIDIA device request: by device IDs, or a count (-1 for all, as Docker's API takes it). */
export function deviceRequests(gpus: GpuSpec | undefined): Pick<ContainerArgs, "deviceRequests"> {
  if (!gpus) return {};
  const which = gpus.deviceIds ? { deviceIds: [...gpus.deviceIds] } : { count: gpus.count === "all" ? -1 : gpus.count };
  return { deviceRequests: [{ driver: "nvidia", ...which, capabilities: [...gpus.capabilities] }] };
}

/** The healthcheck, and `pulumi up` waiting for it; without one, no waiting. */
export function healthcheckArgs(
  healthcheck: HealthcheckSpec | undefined,
): Pick<ContainerArgs, "healthcheck" | "wait" | "waitTimeout"> {
  if (!healthcheck) return { wait: false };
  return {
    healthcheck: {
      tests: [...healthcheck.test],
      interval: healthcheck.interval,
      timeout: healthcheck.timeout,
      retries: healthcheck.retries,
      startPeriod: healthcheck.startPeriod,
    },
    wait: true,
    waitTimeout: healthcheck.waitTimeoutSeconds,
  };
}

/** `NAME=value` entries: plain ones as given, secret ones as Pulumi secrets. */
export function envArgs(
  env: Readonly<Record<string, string>>,
  secretEnv: Readonly<Record<string, pulumi.Input<string>>>,
): pulumi.Input<string>[] {
  const entries: pulumi.Input<string>[] = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  for (const [name, value] of Object.entries(secretEnv))
    entries.push(pulumi.secret(pulumi.interpolate`${name}=${value}`));
  return entries;
}

/** What this program records on every container, beside the user's labels. */
export interface OwnLabels {
  readonly service: string;
  readonly stack: string;
  /** The exact release: the ref pulled, or the build's `url#commit`. */
  readonly release: pulumi.Input<string>;
  /** The image's identity: its ID for pulls, its digest for builds. */
  readonly image: pulumi.Input<string>;
  /** Names (never values) of the env variables whose values are secrets. */
  readonly secretEnvNames: readonly string[];
}

/** User labels and this program's own, sorted by key. */
export function labelArgs(
  userLabels: Readonly<Record<string, string>>,
  own: OwnLabels,
): { label: string; value: pulumi.Input<string> }[] {
  const labels: Record<string, pulumi.Input<string>> = {
    ...userLabels,
    [`${LABEL_PREFIX}service`]: own.service,
    [`${LABEL_PREFIX}stack`]: own.stack,
    [`${LABEL_PREFIX}release`]: own.release,
    [`${LABEL_PREFIX}image`]: own.image,
    ...(own.secretEnvNames.length > 0 ? { [SECRET_ENV_LABEL]: [...own.secretEnvNames].sort().join(",") } : {}),
  };
  return Object.keys(labels)
    .sort()
    .map((label) => ({ label, value: labels[label] }));
}

/** `scheme://address:port` of an endpoint: a port bound to one address is reached there, else at the host's. */
export function endpointUrl(scheme: string, endpoint: PortSpec | undefined, hostAddress: string): string | undefined {
  if (!endpoint) return undefined;
  const address = isAnyAddress(endpoint.hostIp) ? hostAddress : endpoint.hostIp;
  return `${scheme}://${addressForPort(address)}:${endpoint.host}`;
}

/** What GPU serving needs of the container's runtime: entrypoint, /dev/shm, IPC namespace, ulimits, CPU limit. */
export function runtimeArgs(
  spec: Pick<ServiceSpec, "entrypoint" | "shmSizeBytes" | "ipc" | "ulimits" | "cpus">,
): Pick<ContainerArgs, "entrypoints" | "shmSize" | "ipcMode" | "ulimits" | "cpus"> {
  return {
    ...(spec.entrypoint ? { entrypoints: [...spec.entrypoint] } : {}),
    // The docker provider takes Docker's --cpus as a decimal string.
    ...(spec.cpus !== undefined ? { cpus: String(spec.cpus) } : {}),
    // The docker provider takes /dev/shm in MiB; the schema allows whole MiB only.
    ...(spec.shmSizeBytes !== undefined ? { shmSize: spec.shmSizeBytes / MIB } : {}),
    ...(spec.ipc ? { ipcMode: spec.ipc } : {}),
    ...(spec.ulimits
      ? {
          ulimits: Object.entries(spec.ulimits).map(([name, limit]) => ({
            name,
            soft: limit.soft,
            hard: limit.hard,
          })),
        }
      : {}),
  };
}
