/**
 * The deployment model's types: plain, validated, sorted data that components, the plan printout, the compose
 * export and the release tools read. `buildModel` (buildModel.ts) is the only producer; nothing here validates
 * anything.
 *
 * What each config key means, its type and its default are written once, in stackConfig/fieldDocs.ts (the README's
 * config reference is checked against it). The doc comments here say only what the model's form adds: a unit
 * (`shmSizeBytes`), a resolved value (`endpoint`, `image.ref`), an order.
 */
import type { IpcMode, ReadinessMethod, RestartPolicy, VolumeAccessMode } from "../formats";

export interface RegistryAuthSpec {
  readonly address: string;
  readonly username: string;
  /** Name of the entry in `secrets` that holds the token. */
  readonly passwordSecret: string;
}

export interface GpuInventory {
  readonly count: number;
  /** Device IDs (as `nvidia-smi -L` numbers or UUIDs) with their memory, when declared. */
  readonly devices?: readonly { readonly id: string; readonly memoryGiB?: number }[];
}

export interface HostSpec {
  readonly name: string;
  readonly dockerHost: string;
  /** Address clients use to reach the host's published ports. */
  readonly address: string;
  /** The host's GPUs; absent: not checked. */
  readonly gpus?: GpuInventory;
  readonly sshOpts: readonly string[];
  readonly registryAuth: readonly RegistryAuthSpec[];
}

/** How a cluster exposes a service's ports (`hosts.<h>.kubernetes.serviceType`). */
export type ClusterServiceType = "LoadBalancer" | "NodePort";

/**
 * A host of the second kind: a Kubernetes cluster (`hosts.<h>.kubernetes`). Services placed on it become
 * Kubernetes objects (kubernetes/kubeService.ts) instead of containers on a Docker daemon.
 */
export interface ClusterSpec {
  /** The key of `hosts`. */
  readonly name: string;
  /** kubeconfig context; absent: the kubeconfig's current context. */
  readonly context?: string;
  /** Name of the entry in `secrets` that holds a whole kubeconfig; absent: the operator's kubeconfig. */
  readonly kubeconfigSecret?: string;
  /** Namespace of every object of the stack's services on this cluster; it must exist. */
  readonly namespace: string;
  /** How each service's ports are exposed, on the same port numbers; default LoadBalancer. */
  readonly serviceType: ClusterServiceType;
  /** Address clients use for a NodePort service (a node's or a VIP's); absent: the Service's own address. */
  readonly address?: string;
  /** GPUs free beyond the stack's own pods, for surge pods; absent: not known (auto then never rolls). */
  readonly spareGpus?: number;
  /** Storage class of each managed volume's claim; absent: the cluster's default. */
  readonly storageClassName?: string;
  /** Size each managed volume's claim requests (Kubernetes quantity); default 10Gi. */
  readonly volumeSize: string;
  /** Access mode of each managed volume's claim; default ReadWriteOnce (the pods that mount it share its node). */
  readonly volumeAccessMode: VolumeAccessMode;
  /** The cluster's node port range, inclusive (kube-apiserver's --service-node-port-range); default 30000-32767. */
  readonly nodePortRange: { readonly from: number; readonly to: number };
}

/** Node placement of a service's pods on a cluster (`services.<s>.scheduling`). */
export interface SchedulingSpec {
  /** Node labels the pods require, sorted by key (e.g. `nvidia.com/gpu.product`). */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Tolerations, as written (e.g. for the `nvidia.com/gpu` taint). */
  readonly tolerations: readonly TolerationSpec[];
  readonly runtimeClassName?: string;
}

export interface TolerationSpec {
  readonly key?: string;
  readonly operator: "Exists" | "Equal";
  readonly value?: string;
  readonly effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface RegistryImageSpec {
  readonly kind: "registry";
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
  /** Follow `tag`: its current digest is resolved at every preview and up and pulled when it moves. */
  readonly track: boolean;
  /** What is pulled: `repository@digest` when a digest is given, else `repository:tag`. */
  readonly ref: string;
}

export interface BuildImageSpec {
  readonly kind: "build";
  readonly contextKind: "git" | "local";
  /** Git URL or local folder, as configured. */
  readonly context: string;
  readonly gitRef?: string;
  /** The build context as BuildKit takes it: `url#ref` for git, the folder for local builds. */
  readonly location: string;
  readonly dockerfile: string;
  readonly args: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly noCache: boolean;
  /** The tag the built image gets on the Docker host. */
  readonly localTag: string;
  /** One more name the built image gets (compose's `image:` beside `build:`). */
  readonly extraTag?: string;
}

export type ImageSpec = RegistryImageSpec | BuildImageSpec;

export interface PortSpec {
  readonly host: number;
  readonly container: number;
  readonly protocol: "tcp" | "udp";
  readonly hostIp: string;
}

export interface VolumeSpec {
  readonly name: string;
  readonly target: string;
  readonly external: boolean;
  readonly retainOnDelete: boolean;
  readonly protect: boolean;
  readonly readOnly: boolean;
}

export interface BindSpec {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface GpuSpec {
  /** A number of GPUs, or "all"; absent when deviceIds pick them. */
  readonly count?: number | "all";
  readonly deviceIds?: readonly string[];
  readonly capabilities: readonly string[];
  /** What one copy needs on each GPU it uses, in GiB; absent: not declared (auto then never proves a fit). */
  readonly memoryGiB?: number;
}

/** One copy of a service: its index and, on a Docker host with GPUs, the devices its container's request names. */
export interface CopySpec {
  /** 0 .. replicas-1. */
  readonly index: number;
  /** Device IDs of the copy's GPUs; absent: the service's `gpus` as given (a single copy, or no GPU). */
  readonly deviceIds?: readonly string[];
}

export interface HealthcheckSpec {
  readonly test: readonly string[];
  readonly interval: string;
  readonly timeout: string;
  readonly retries: number;
  readonly startPeriod: string;
  /** How long `pulumi up` waits for the container to turn healthy. */
  readonly waitTimeoutSeconds: number;
}

export interface UlimitSpec {
  readonly soft: number;
  readonly hard: number;
}

/** How a release replaces the running container, as resolved by the fit rules (model/docker/fitRule.ts, model/cluster/fitRule.ts). */
export type ReleaseStrategy = "blue-green" | "stop-then-start";

export interface ReleaseSpec {
  /** What the config asks for (`services.<s>.release.strategy`); default `auto`. */
  readonly requested: "auto" | ReleaseStrategy;
  /** The resolved strategy: `auto` becomes blue-green only where the fit is proven. */
  readonly strategy: ReleaseStrategy;
  /**
   * Why, one line as plan and preview print it, e.g.
   * `tts: stop-then-start: 2 × 6 GiB + stt 5 GiB = 17 GiB > 16 GiB on GPU 0`.
   */
  readonly reason: string;
  /** Seconds the old copy finishes its requests after the switch, before it is stopped; default 30. */
  readonly drainSeconds: number;
}

/** The request body of an HTTP readiness check, as sent. */
export interface ReadinessBodySpec {
  readonly kind: "text" | "file" | "multipart";
  /** The bytes sent, in base64 (a multipart body whole: its boundary, part headers and file). */
  readonly base64: string;
  /** How many bytes are sent. */
  readonly bytes: number;
  /** What is sent, as the plan prints it: `text`, `file <path>`, `multipart audio=<path> (audio/wav)`. */
  readonly what: string;
}

/** An HTTP readiness check: the copy is ready once it has answered an expected status `passes` times in a row. */
export interface HttpReadinessSpec {
  readonly kind: "http";
  /** Declared (`services.<s>.readiness`), or derived from the healthcheck's `http(s)://localhost` URL. */
  readonly source: "declared" | "healthcheck";
  /** The container port probed. */
  readonly port: number;
  readonly scheme: "http" | "https";
  readonly method: ReadinessMethod;
  readonly path: string;
  /** Sorted by name; with a multipart body its `Content-Type` (with the boundary). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: ReadinessBodySpec;
  /** The statuses that pass; empty: any 2xx. */
  readonly expectStatus: readonly number[];
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly passes: number;
}

/** The readiness check of a service that declares none and has no HTTP healthcheck: a TCP connect to its port. */
export interface TcpReadinessSpec {
  readonly kind: "tcp";
  /** The container port probed: the first tcp port. */
  readonly port: number;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly passes: number;
}

export type ReadinessSpec = HttpReadinessSpec | TcpReadinessSpec;

/** How the switch holds requests for a service whose copy is not ready, resolved. */
export interface HoldSpec {
  /** Budget of one held request, in seconds (`hold.seconds`, or the expected load time + 30, at least the switch's). */
  readonly seconds: number;
  /** Most requests held at once per route. */
  readonly queue: number;
  /** Send again a request its copy never answered. */
  readonly replay: boolean;
  /** The expected load time in seconds (the healthcheck's start period, else 0): what `Retry-After` counts down. */
  readonly expectedSeconds: number;
}

/** The switch on each host of the stack (`gpu-services:switch`). */
export interface SwitchSpec {
  /** The switch image, as a service's (`image` or `build`). */
  readonly image: ImageSpec;
  /** The least hold budget of every service behind it, in seconds; default 10. */
  readonly holdSeconds: number;
  /** Go duration as written (e.g. "1h"): how long streams through a replaced route stay open; default "1h". */
  readonly streamCloseDelay: string;
  /** Absolute path of the Docker socket on each host; default /var/run/docker.sock. */
  readonly dockerSocket: string;
}

/** What a service is wherever it runs: the keys both kinds of host take (a cluster some in a narrower form). */
export interface ServiceBase {
  /** The service's name: a key of `services`. */
  readonly name: string;
  /** The name of the host (a key of `hosts`) it runs on. */
  readonly host: string;
  /** Docker container name; fixed, so the container is replaced delete-before-create. On a cluster, the Deployment's. */
  readonly containerName: string;
  /** Where the image comes from: a registry pull or a BuildKit build on the host. */
  readonly image: ImageSpec;
  /** Published ports (may be empty). */
  readonly ports: readonly PortSpec[];
  /** Named volumes; managed ones are protected and kept on delete unless their spec says otherwise. */
  readonly volumes: readonly VolumeSpec[];
  /** Plain env, sorted by name. */
  readonly env: Readonly<Record<string, string>>;
  /** Env name -> name of the entry in `secrets` holding its value, sorted by env name. */
  readonly secretEnv: Readonly<Record<string, string>>;
  /** NVIDIA GPUs to request (a Docker device request with driver nvidia); absent: no GPU. */
  readonly gpus?: GpuSpec;
  /** Container healthcheck; when set, `pulumi up` waits until the container is healthy. */
  readonly healthcheck?: HealthcheckSpec;
  /** Replaces the image's ENTRYPOINT; absent: the image's. */
  readonly entrypoint?: readonly string[];
  /** Replaces the image's CMD; absent: the image's. */
  readonly command?: readonly string[];
  /** User the container runs as; absent: the image's. */
  readonly user?: string;
  /** Size of /dev/shm in bytes; absent: Docker's 64 MiB. */
  readonly shmSizeBytes?: number;
  /** CPU limit in CPUs (Docker's --cpus); absent: no limit. */
  readonly cpus?: number;
  /** IPC namespace; absent: Docker's default. */
  readonly ipc?: IpcMode;
  /** User labels, sorted by key. */
  readonly labels: Readonly<Record<string, string>>;
  /** Scheme of the endpoint URL. */
  readonly scheme: "http" | "https";
  /** The published tcp port that is the service's endpoint, if any. */
  readonly endpoint?: PortSpec;
  /** Seconds Docker waits after SIGTERM before it kills the container. */
  readonly stopGraceSeconds: number;
  /** How a new release replaces the running container, resolved (blue-green or stop-then-start) with why. */
  readonly release: ReleaseSpec;
  /** The check a copy must pass before it gets requests; absent: nothing to probe (no tcp port, none declared). */
  readonly readiness?: ReadinessSpec;
  /** Copies of the service (`services.<s>.replicas`): containers on a Docker host, pods on a cluster. */
  readonly replicas: number;
  /**
   * Each copy, by index, with the GPUs its device request names: placed from the host's GPU inventory, or pinned
   * by `gpus.deviceIds`. On a cluster the scheduler places the pods, and no copy names a GPU.
   */
  readonly copies: readonly CopySpec[];
}

/** One service on a Docker host (`hosts.<h>.dockerHost`), as the GpuService component deploys it. */
export interface DockerServiceSpec extends ServiceBase {
  /** Where it runs: a container on a Docker host. */
  readonly runsOn: "docker";
  /** Host folders mounted into the container. */
  readonly binds: readonly BindSpec[];
  /** Shares its GPUs: not counted as exclusive use of the host's GPUs. */
  readonly shareGpu: boolean;
  /** Docker restart policy. */
  readonly restart: RestartPolicy;
  /** Resource limits by name (memlock, stack, nofile, ...), sorted; -1 is unlimited; absent: Docker's. */
  readonly ulimits?: Readonly<Record<string, UlimitSpec>>;
  /** How the switch holds requests while the service is not ready. */
  readonly hold: HoldSpec;
}

/** One service on a cluster (`hosts.<h>.kubernetes`), as the KubeService component deploys it. */
export interface ClusterServiceSpec extends ServiceBase {
  /** Where it runs: a Deployment on a cluster. */
  readonly runsOn: "kubernetes";
  /** A registry pull: a cluster builds no images. */
  readonly image: RegistryImageSpec;
  /** Node placement; absent when none is given. */
  readonly scheduling?: SchedulingSpec;
}

/** One service, on a Docker host or a cluster (`runsOn` tells which). */
export type ServiceSpec = DockerServiceSpec | ClusterServiceSpec;

/** The keys only a service on a Docker host has: each is refused, with its reason, on a cluster. */
export type DockerOnlyKey = Exclude<keyof DockerServiceSpec, keyof ClusterServiceSpec>;

/** The keys only a service on a cluster has: each is refused, with its reason, on a Docker host. */
export type ClusterOnlyKey = Exclude<keyof ClusterServiceSpec, keyof DockerServiceSpec>;

/** Every key a service has on one kind of host or the other. */
export type ServiceKey = keyof DockerServiceSpec | keyof ClusterServiceSpec;

/** A service on a Docker host, where a list holds both kinds. */
export const isOnDocker = <S extends { readonly runsOn: ServiceSpec["runsOn"] }>(
  service: S,
): service is Extract<S, { readonly runsOn: "docker" }> => service.runsOn === "docker";

/** A service on a cluster, where a list holds both kinds. */
export const isOnCluster = <S extends { readonly runsOn: ServiceSpec["runsOn"] }>(
  service: S,
): service is Extract<S, { readonly runsOn: "kubernetes" }> => service.runsOn === "kubernetes";

export interface DeploymentModel {
  readonly project: string;
  readonly stack: string;
  readonly requirePinnedImages: boolean;
  /** The Docker hosts, sorted by name. */
  readonly hosts: readonly HostSpec[];
  /** The Kubernetes clusters (entries of `hosts` with a `kubernetes` block), sorted by name. */
  readonly clusters: readonly ClusterSpec[];
  /** Sorted by name. */
  readonly services: readonly ServiceSpec[];
  /** Names of the entries in the `secrets` config key (never their values). */
  readonly secretNames: readonly string[];
  /** Stacks that deploy to the same Docker hosts, checked against this one. */
  readonly sharesHostsWith: readonly string[];
  /** The switch on each host (`gpu-services:switch`); absent: no switch, every service stop-then-start. */
  readonly switch?: SwitchSpec;
}
