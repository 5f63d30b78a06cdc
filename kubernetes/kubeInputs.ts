/**
 * Everything that turns a service into the inputs of its Kubernetes `Deployment` (pod template, container,
 * probes, GPU limit, volumes, placement, rollout), one entry per key of its spec, as containerInputs.ts does for a
 * Docker container; and the labels, the Service's ports and the endpoint URL. No resources are created here: the
 * Secret and the claims come in made (their names).
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { addressForPort } from "../formats";
import {
  type ClusterServiceType,
  type PortSpec,
  type ReleaseStrategy,
  type ClusterServiceSpec,
  type NotCarried,
  type ServiceSpec,
  carriedWith,
  carry,
  CLUSTER_REFUSALS,
  notCarried,
  type PerKey,
} from "../model";
import { podProbes } from "./kubeProbes";

type Container = k8s.types.input.core.v1.Container;
type PodSpec = k8s.types.input.core.v1.PodSpec;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;
type DeploymentSpec = k8s.types.input.apps.v1.DeploymentSpec;
export type DeploymentArgs = k8s.apps.v1.DeploymentArgs;

/** Prefix of this program's own annotation and label keys on Kubernetes objects. */
export const KUBE_PREFIX = "gpu-services/";
/** Pod annotation: the image as configured (the ref pulled). */
export const RELEASE_ANNOTATION = `${KUBE_PREFIX}release`;
/** Pod annotation: names (never values) of the env variables that come from the service's Secret. */
export const SECRET_ENV_ANNOTATION = `${KUBE_PREFIX}secret-env`;
/**
 * Pod annotation: the Secret's `resourceVersion`. A change of a secret value changes it, so the pods roll, as a
 * Docker container is replaced when its env changes (env from a Secret is read only when a container starts).
 */
export const SECRET_VERSION_ANNOTATION = `${KUBE_PREFIX}secret-version`;
/** The GPU resource the NVIDIA device plugin advertises. */
export const GPU_RESOURCE = "nvidia.com/gpu";
/** `progressDeadlineSeconds` of a service without a healthcheck (Kubernetes' own default). */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

/** The Deployment's `progressDeadlineSeconds`: the healthcheck's wait, as on a Docker host. */
export function progressDeadlineSeconds(service: Pick<ClusterServiceSpec, "healthcheck">): number {
  return service.healthcheck?.waitTimeoutSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
}

/**
 * The labels of every object of a service: the standard ones, which the Pending-pod watch and the printed kubectl
 * commands select by, and the stack's. Objects a deployed stack made carry them, so they cannot change.
 */
export function objectLabels(service: string, stack: string): Record<string, string> {
  return {
    ...selectorLabels(service, stack),
    "app.kubernetes.io/managed-by": "gpu-services",
    [`${KUBE_PREFIX}stack`]: stack,
  };
}

/** The label that tells a service's pods in the stack (`<service>-<stack>`); the Pending-pod watch selects by it. */
export const INSTANCE_LABEL = "app.kubernetes.io/instance";

/** The labels that select a service's pods (a Deployment's selector cannot change: only these two). */
export function selectorLabels(service: string, stack: string): Record<string, string> {
  return { "app.kubernetes.io/name": service, [INSTANCE_LABEL]: `${service}-${stack}` };
}

/** The rollout a release strategy is on a cluster (model/cluster/fitRule.ts decides which). */
export function strategyFor(strategy: ReleaseStrategy): DeploymentSpec["strategy"] {
  return strategy === "blue-green"
    ? { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
    : { type: "Recreate" };
}

/** A Kubernetes quantity of bytes in its canonical form: the largest binary suffix that divides it. */
export function bytesQuantity(bytes: number): string {
  for (const [suffix, size] of [
    ["Ti", 2 ** 40],
    ["Gi", 2 ** 30],
    ["Mi", 2 ** 20],
    ["Ki", 2 ** 10],
  ] as const) {
    if (bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}

/** A CPU limit in its canonical form: whole CPUs as a number, else millicores (1.5 -> `1500m`). */
export function cpuQuantity(cpus: number): string {
  return Number.isInteger(cpus) ? String(cpus) : `${Math.round(cpus * 1000)}m`;
}

/** A pod volume's name (a DNS label) for a volume of the model. */
export function podVolumeName(volume: string): string {
  const label = volume
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `vol-${label}`.slice(0, 63).replace(/-+$/, "");
}

/** The part of a Deployment's inputs that one key of the spec makes. */
export interface DeploymentPart {
  /** The Deployment's and its container's name. */
  readonly name?: string;
  readonly deployment?: Pick<DeploymentSpec, "replicas" | "strategy" | "progressDeadlineSeconds">;
  readonly pod?: Pick<
    PodSpec,
    "hostIPC" | "terminationGracePeriodSeconds" | "nodeSelector" | "tolerations" | "runtimeClassName"
  >;
  readonly container?: Pick<
    Container,
    "image" | "imagePullPolicy" | "command" | "args" | "ports" | "securityContext" | "startupProbe" | "readinessProbe"
  >;
  readonly env?: EnvVar[];
  readonly volumes?: Volume[];
  readonly mounts?: VolumeMount[];
  /** `resources.limits` of the container (quantities). */
  readonly limits?: Record<string, string>;
  /** Pod template labels. */
  readonly labels?: Record<string, string>;
  /** Pod template annotations. */
  readonly annotations?: Record<string, pulumi.Input<string>>;
}

/** A service as KubeService holds it: its spec, and the names of the Secret and claims it made. */
export interface KubeSource {
  /** The service's name (the component's). */
  readonly name: string;
  readonly stack: string;
  readonly service: Omit<ClusterServiceSpec, "name" | "host" | "secretEnv">;
  /** Env names whose values come from the Secret, sorted. */
  readonly secretEnvNames: readonly string[];
  /** The service's Secret (absent: no secret env): its name and `resourceVersion` outputs. */
  readonly secret?: { readonly name: pulumi.Input<string>; readonly version: pulumi.Input<string> };
  /** Volume name -> the claim its pods mount: the managed claim's name output, or the external claim's name. */
  readonly claims: Readonly<Record<string, pulumi.Input<string>>>;
}

/** The container's ports: each published port's container number. */
export function containerPorts(ports: readonly PortSpec[]): Container["ports"] {
  return ports.map((port) => ({ containerPort: port.container, protocol: port.protocol.toUpperCase() }));
}

/** Plain env as given, then each secret env variable from its key of the Secret. */
export function envVars(
  env: Readonly<Record<string, string>>,
  secretEnvNames: readonly string[],
  secretName: pulumi.Input<string> | undefined,
): EnvVar[] {
  const vars: EnvVar[] = Object.entries(env).map(([name, value]) => ({ name, value }));
  if (secretName === undefined) return vars;
  for (const name of secretEnvNames) vars.push({ name, valueFrom: { secretKeyRef: { name: secretName, key: name } } });
  return vars;
}

/** `runAsUser`/`runAsGroup` from a numeric `uid[:gid]` (buildModel refuses any other user on a cluster). */
export function securityContext(user: string): Container["securityContext"] {
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) throw new Error(`user "${user}" is not a numeric uid[:gid]: a cluster runs pods by number`);
  return { runAsUser: Number(match[1]), ...(match[2] !== undefined ? { runAsGroup: Number(match[2]) } : {}) };
}

const NOT_AN_INPUT = "part of the endpoint URL, a KubeService output (kubeEndpoint), not a Deployment input";
const SHM_VOLUME = "dshm";

/** The keys only a Docker host has: buildModel refuses on a cluster what asks for something there, saying why. */
const DOCKER_ONLY = Object.fromEntries(
  Object.entries(CLUSTER_REFUSALS).map(([key, { reason }]) => [
    key,
    notCarried(`buildModel refuses it where the host is a cluster, ${reason}`),
  ]),
) as Record<keyof typeof CLUSTER_REFUSALS, NotCarried>;

/** The Deployment's inputs, per key of the spec (of a service on a cluster, and what only a Docker host has). */
export const DEPLOYMENT_INPUTS = {
  containerName: ({ service }) => ({ name: service.containerName }),
  name: ({ name, stack }) => ({ labels: objectLabels(name, stack) }),
  release: ({ service }) => ({ deployment: { strategy: strategyFor(service.release.strategy) } }),
  replicas: ({ service }) => ({ deployment: { replicas: service.replicas } }),
  copies: notCarried("the scheduler places the pods (replicas says how many): no copy names a GPU on a cluster"),
  image: ({ service }) => ({
    // A tracked tag is pulled again at every pod start; a pinned one is pulled once per node.
    container: { image: service.image.ref, imagePullPolicy: service.image.track ? "Always" : "IfNotPresent" },
    annotations: { [RELEASE_ANNOTATION]: service.image.ref },
  }),
  ports: ({ service }) => ({ container: { ports: containerPorts(service.ports) } }),
  volumes: ({ service, claims }) => ({
    volumes: service.volumes.map((volume) => ({
      name: podVolumeName(volume.name),
      persistentVolumeClaim: { claimName: claims[volume.name], readOnly: volume.readOnly },
    })),
    mounts: service.volumes.map((volume) => ({
      name: podVolumeName(volume.name),
      mountPath: volume.target,
      readOnly: volume.readOnly,
    })),
  }),
  shmSizeBytes: ({ service }) =>
    service.shmSizeBytes === undefined
      ? {}
      : {
          volumes: [
            { name: SHM_VOLUME, emptyDir: { medium: "Memory", sizeLimit: bytesQuantity(service.shmSizeBytes) } },
          ],
          mounts: [{ name: SHM_VOLUME, mountPath: "/dev/shm" }],
        },
  env: ({ service, secretEnvNames, secret }) => ({
    env: envVars(service.env, secretEnvNames, secret?.name),
    ...(secret
      ? {
          annotations: {
            [SECRET_ENV_ANNOTATION]: secretEnvNames.join(","),
            [SECRET_VERSION_ANNOTATION]: secret.version,
          },
        }
      : {}),
  }),
  secretEnv: carriedWith("env"),
  // GPUs as the device plugin hands them out; requests default to the limit for an extended resource.
  // `capabilities` is not carried (the image's NVIDIA_DRIVER_CAPABILITIES applies), `memoryGiB` is the model's.
  gpus: ({ service }) =>
    typeof service.gpus?.count === "number" ? { limits: { [GPU_RESOURCE]: String(service.gpus.count) } } : {},
  cpus: ({ service }) => (service.cpus !== undefined ? { limits: { cpu: cpuQuantity(service.cpus) } } : {}),
  // A declared readiness check makes the probes in place of the healthcheck's (kubeProbes.ts).
  healthcheck: ({ service }) => {
    const probes = podProbes(service, progressDeadlineSeconds(service));
    return {
      deployment: {
        progressDeadlineSeconds: progressDeadlineSeconds(service),
      },
      ...(probes ? { container: probes } : {}),
    };
  },
  entrypoint: ({ service }) => (service.entrypoint ? { container: { command: [...service.entrypoint] } } : {}),
  command: ({ service }) => (service.command ? { container: { args: [...service.command] } } : {}),
  user: ({ service }) => (service.user ? { container: { securityContext: securityContext(service.user) } } : {}),
  ipc: ({ service }) => (service.ipc === "host" ? { pod: { hostIPC: true } } : {}),
  stopGraceSeconds: ({ service }) => ({ pod: { terminationGracePeriodSeconds: service.stopGraceSeconds } }),
  scheduling: ({ service }) => {
    const s = service.scheduling;
    if (!s) return {};
    return {
      pod: {
        ...(Object.keys(s.nodeSelector).length > 0 ? { nodeSelector: { ...s.nodeSelector } } : {}),
        ...(s.tolerations.length > 0 ? { tolerations: s.tolerations.map((t) => ({ ...t })) } : {}),
        ...(s.runtimeClassName !== undefined ? { runtimeClassName: s.runtimeClassName } : {}),
      },
    };
  },
  // Docker label values are often not valid Kubernetes label values: annotations take any string.
  labels: ({ service }) => ({ annotations: { ...service.labels } }),
  host: notCarried("the objects are registered with the cluster's provider: a resource option, not an input"),
  runsOn: notCarried("only services on a cluster become Deployments (program.ts)"),
  scheme: notCarried(NOT_AN_INPUT),
  endpoint: notCarried(NOT_AN_INPUT),
  readiness: carriedWith("healthcheck"),
  ...DOCKER_ONLY,
} satisfies PerKey<ServiceSpec, DeploymentPart, KubeSource>;

/** The parts merged: sections shallow-merged, lists concatenated, in the table's order. */
export function mergeParts(parts: readonly DeploymentPart[]): Required<DeploymentPart> {
  const merged = {
    name: "",
    deployment: {},
    pod: {},
    container: {},
    env: [] as EnvVar[],
    volumes: [] as Volume[],
    mounts: [] as VolumeMount[],
    limits: {},
    labels: {},
    annotations: {},
  };
  for (const part of parts) {
    if (part.name !== undefined) merged.name = part.name;
    merged.deployment = { ...merged.deployment, ...part.deployment };
    merged.pod = { ...merged.pod, ...part.pod };
    merged.container = { ...merged.container, ...part.container };
    merged.env.push(...(part.env ?? []));
    merged.volumes.push(...(part.volumes ?? []));
    merged.mounts.push(...(part.mounts ?? []));
    merged.limits = { ...merged.limits, ...part.limits };
    merged.labels = { ...merged.labels, ...part.labels };
    merged.annotations = { ...merged.annotations, ...part.annotations };
  }
  return merged;
}

/** Every input of a service's Deployment, in `namespace`: one part per key of its spec (DEPLOYMENT_INPUTS). */
export function deploymentArgs(source: KubeSource, namespace: string): DeploymentArgs {
  const p = mergeParts(carry(DEPLOYMENT_INPUTS, source));
  const container: Container = {
    name: p.name,
    ...p.container,
    ...(p.env.length > 0 ? { env: p.env } : {}),
    ...(Object.keys(p.limits).length > 0 ? { resources: { limits: p.limits } } : {}),
    ...(p.mounts.length > 0 ? { volumeMounts: p.mounts } : {}),
  };
  return {
    metadata: { name: p.name, namespace, labels: objectLabels(source.name, source.stack) },
    spec: {
      ...p.deployment,
      selector: { matchLabels: selectorLabels(source.name, source.stack) },
      template: {
        metadata: {
          labels: p.labels,
          ...(Object.keys(p.annotations).length > 0 ? { annotations: p.annotations } : {}),
        },
        spec: {
          ...p.pod,
          containers: [container],
          ...(p.volumes.length > 0 ? { volumes: p.volumes } : {}),
        },
      },
    },
  };
}

/** The Service's ports: each published port on its own number, to the container's; NodePort on the same number. */
export function servicePorts(
  ports: readonly PortSpec[],
  serviceType: ClusterServiceType,
): k8s.types.input.core.v1.ServicePort[] {
  return ports.map((port) => ({
    name: `${port.protocol}-${port.host}`,
    port: port.host,
    targetPort: port.container,
    protocol: port.protocol.toUpperCase(),
    ...(serviceType === "NodePort" ? { nodePort: port.host } : {}),
  }));
}

/**
 * `scheme://address:port` of a service on a cluster: the cluster's `address` where given, else a LoadBalancer's
 * first ingress (IP, else host name), else (NodePort) the Service's cluster IP, reached from inside the cluster.
 */
export function kubeEndpoint(
  scheme: string,
  endpoint: PortSpec | undefined,
  address: string | undefined,
  live: { ingress?: readonly { ip?: string; hostname?: string }[]; clusterIP?: string },
): string | undefined {
  if (!endpoint) return undefined;
  const at = address ?? live.ingress?.[0]?.ip ?? live.ingress?.[0]?.hostname ?? live.clusterIP;
  return at ? `${scheme}://${addressForPort(at)}:${endpoint.host}` : undefined;
}
