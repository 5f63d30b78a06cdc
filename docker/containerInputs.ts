/**
 * Everything that turns a service into the inputs of its `docker.Container` (ports, GPU device requests,
 * healthcheck, env, labels, runtime options, ...), one entry per key of its spec, and its endpoint URL. No
 * resources are created here: the image and the volumes come in made.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { addressForPort, COPY_LABEL, isAnyAddress, LABEL_PREFIX, MIB, SECRET_ENV_LABEL } from "../formats";
import {
  type GpuSpec,
  type HealthcheckSpec,
  type PortSpec,
  type DockerServiceSpec,
  carriedWith,
  carry,
  notCarried,
  type PerKey,
} from "../model";
import type { ServiceImage } from "./serviceImage";
import type { ServiceMounts } from "./serviceVolumes";

type ContainerArgs = docker.ContainerArgs;

/** The label that names a container's service container name behind a switch (its daemon name may differ). */
export const CONTAINER_NAME_LABEL = `${LABEL_PREFIX}container-name`;

/**
 * Where a service's container sits when its (stack, host) has a switch (switch/gpuSwitch.ts): on the
 * switch's network, reached by its name on the daemon (no alias), publishing nothing.
 */
export interface SwitchPlacement {
  /** The switch's network (`gpu-switch-<stack>`): its `name` output, so the container is created after it. */
  readonly network: pulumi.Input<string>;
  /** The release-unique suffix of a blue-green container's name: 6 lowercase hex. */
  readonly nameSuffix: string;
  /**
   * Resources the container's replacement waits for, so the old copy is stopped only after them: the drain of its
   * route (switch/switchDrain.ts), for a stop-then-start release on a switch that ran before, and for a copy after
   * the first, the push that found the copy before it ready (an output that fails when that push failed, so the
   * copy is left alone). Default: none.
   */
  readonly stopAfter?: pulumi.Input<pulumi.Resource[]>;
}

/**
 * The container's name on the daemon: `containerName`, or behind a switch for a blue-green release
 * `<containerName>-<suffix>`, so that the new copy can start beside the old one.
 */
export function daemonName(
  service: Pick<DockerServiceSpec, "containerName" | "release">,
  placement: SwitchPlacement | undefined,
): string {
  return placement && service.release.strategy === "blue-green"
    ? `${service.containerName}-${placement.nameSuffix}`
    : service.containerName;
}

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

function omitWait(
  args: Pick<ContainerArgs, "healthcheck" | "wait" | "waitTimeout">,
): Pick<ContainerArgs, "healthcheck"> {
  return args.healthcheck ? { healthcheck: args.healthcheck } : {};
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

/**
 * Behind a switch: the switch's network, with no alias. The switch dials each container by its own name on the
 * daemon. An alias would not be unique: Docker's DNS answers a name with every container that has it as its name
 * or as an alias, so a new blue-green copy aliased `containerName` would get requests meant for the old container
 * named `containerName` (after the migration's stop-then-start) before it is healthy, and a broken copy would
 * keep getting them (seen in the release e2e; checked on dockerd 20.10 with nslookup).
 */
export function switchNetworkArgs(placement: SwitchPlacement): Pick<ContainerArgs, "networksAdvanced"> {
  return { networksAdvanced: [{ name: placement.network }] };
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
  /** The service's `containerName`, recorded behind a switch, where the daemon's name carries a suffix. */
  readonly containerName?: string;
  /** The copy's index, recorded for copies 1 and up (copy 0's container is the service's, as with one copy). */
  readonly copy?: number;
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
    ...(own.containerName !== undefined ? { [CONTAINER_NAME_LABEL]: own.containerName } : {}),
    ...(own.copy ? { [COPY_LABEL]: String(own.copy) } : {}),
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

/** What GPU serving needs of the container's runtime, per key: entrypoint, /dev/shm, IPC, ulimits, CPU limit. */
const RUNTIME_INPUTS = {
  entrypoint: (spec: Pick<DockerServiceSpec, "entrypoint">): Partial<ContainerArgs> =>
    spec.entrypoint ? { entrypoints: [...spec.entrypoint] } : {},
  // The docker provider takes Docker's --cpus as a decimal string.
  cpus: (spec: Pick<DockerServiceSpec, "cpus">): Partial<ContainerArgs> =>
    spec.cpus !== undefined ? { cpus: String(spec.cpus) } : {},
  // The docker provider takes /dev/shm in MiB; the schema allows whole MiB only.
  shmSizeBytes: (spec: Pick<DockerServiceSpec, "shmSizeBytes">): Partial<ContainerArgs> =>
    spec.shmSizeBytes !== undefined ? { shmSize: spec.shmSizeBytes / MIB } : {},
  ipc: (spec: Pick<DockerServiceSpec, "ipc">): Partial<ContainerArgs> => (spec.ipc ? { ipcMode: spec.ipc } : {}),
  ulimits: (spec: Pick<DockerServiceSpec, "ulimits">): Partial<ContainerArgs> =>
    spec.ulimits
      ? { ulimits: Object.entries(spec.ulimits).map(([name, limit]) => ({ name, soft: limit.soft, hard: limit.hard })) }
      : {},
};

type RuntimeSpec = Pick<DockerServiceSpec, keyof typeof RUNTIME_INPUTS>;

/** The runtime options of a service's container (RUNTIME_INPUTS), and nothing for what is unset. */
export function runtimeArgs(spec: Partial<RuntimeSpec>): Partial<ContainerArgs> {
  return Object.assign({}, ...Object.values(RUNTIME_INPUTS).map((input) => input(spec)));
}

/** A service as GpuService holds it: its spec (secret env as values), and the image and mounts it created. */
export interface ContainerSource {
  /** The service's name (the component's). */
  readonly name: string;
  readonly stack: string;
  readonly service: Omit<DockerServiceSpec, "name" | "host" | "secretEnv">;
  /** Env name -> value, Pulumi secrets. */
  readonly secretEnv: Readonly<Record<string, pulumi.Input<string>>>;
  readonly image: ServiceImage;
  readonly mounts: ServiceMounts;
  /** The switch of its (stack, host), if the stack has one. */
  readonly placement?: SwitchPlacement;
  /** The copy's index (docker/copies.ts), when it is not copy 0; `service` is then the copy's spec. */
  readonly copy?: number;
}

/** Each runtime input as an entry of the container table: a function of the source's spec. */
const runtimeEntries = Object.fromEntries(
  Object.entries(RUNTIME_INPUTS).map(([key, input]) => [key, (src: ContainerSource) => input(src.service)]),
) as { readonly [K in keyof typeof RUNTIME_INPUTS]: (src: ContainerSource) => Partial<ContainerArgs> };

const COPIES = "each copy is a container of its own, made from the copy's spec (docker/copies.ts)";

const NOT_AN_INPUT = "part of the endpoint URL, a GpuService output (endpointUrl), not a container input";

/** The container's inputs, per key of the spec. */
export const CONTAINER_INPUTS = {
  containerName: ({ service, placement }) => ({ name: daemonName(service, placement) }),
  release: carriedWith("containerName"),
  image: ({ image }) => ({ image: image.containerImage }),
  restart: ({ service }) => ({ restart: service.restart }),
  // Behind a switch the switch publishes the ports and dials the container on its network.
  ports: ({ service, placement }) => (placement ? switchNetworkArgs(placement) : { ports: portArgs(service.ports) }),
  volumes: ({ mounts }) => ({ mounts: mounts.mounts }),
  binds: ({ mounts }) => (mounts.binds.length > 0 ? { volumes: mounts.binds } : {}),
  env: ({ service, secretEnv }) => ({ envs: envArgs(service.env, secretEnv) }),
  secretEnv: carriedWith("env"),
  gpus: ({ service }) => deviceRequests(service.gpus),
  // Behind a switch the push container waits for health (switch/switchPush.ts), never the create.
  healthcheck: ({ service, placement }) =>
    placement
      ? { ...omitWait(healthcheckArgs(service.healthcheck)), wait: false }
      : healthcheckArgs(service.healthcheck),
  labels: ({ name, stack, service, image, secretEnv, placement, copy }) => ({
    labels: labelArgs(service.labels, {
      service: name,
      stack,
      release: image.release,
      image: image.identity,
      secretEnvNames: Object.keys(secretEnv),
      ...(placement ? { containerName: service.containerName } : {}),
      ...(copy ? { copy } : {}),
    }),
  }),
  name: carriedWith("labels"),
  command: ({ service }) => (service.command ? { command: [...service.command] } : {}),
  user: ({ service }) => (service.user ? { user: service.user } : {}),
  ...runtimeEntries,
  stopGraceSeconds: ({ service }) => ({ destroyGraceSeconds: service.stopGraceSeconds }),
  host: notCarried("the container is registered with its host's docker provider: a resource option, not an input"),
  shareGpu: notCarried(
    "only the model's GPU accounting reads it (model/docker/hostChecks.ts); Docker shares GPUs anyway",
  ),
  scheme: notCarried(NOT_AN_INPUT),
  endpoint: notCarried(NOT_AN_INPUT),
  runsOn: notCarried("only services on a Docker host become containers (program.ts)"),
  readiness: notCarried("the switch probes the container as the push's plan says (switch/switchPush.ts)"),
  hold: notCarried("the switch holds requests as the push's plan says (switch/switchPush.ts)"),
  replicas: notCarried(COPIES),
  copies: notCarried(COPIES),
} satisfies PerKey<DockerServiceSpec, Partial<ContainerArgs>, ContainerSource>;

/** Every input of a service's `docker.Container`: one per key of its spec (CONTAINER_INPUTS), and it must run. */
export function containerArgs(source: ContainerSource): ContainerArgs {
  const args: Partial<ContainerArgs> = Object.assign({}, ...carry(CONTAINER_INPUTS, source));
  return { ...args, image: source.image.containerImage, mustRun: true };
}
