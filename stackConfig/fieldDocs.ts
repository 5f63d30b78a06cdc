/**
 * The one source of the stack config's field docs: per key of each schema, its type, its default and what it
 * means, as the config reference prints them (docs/reference/config.md and `gpu-services docs`, generated
 * from these by cli/configReference.ts; cli/docsPages.test.ts fails when the page is stale). A key added to a
 * schema is a type error here until it is documented.
 */
import type { z } from "zod";
import type { HostFields, KubernetesSchema } from "./hostSchema";
import type { SchedulingSchema, ServiceFields } from "./serviceSchema";
import type { SwitchFields } from "./switchSchema";

/** What the config reference says of one key, as Markdown. */
export interface FieldDoc {
  readonly type: string;
  readonly default: string;
  readonly meaning: string;
}

/** A doc for every key of an object schema. */
type FieldDocs<Schema extends z.ZodObject> = { readonly [Key in keyof Schema["shape"]]-?: FieldDoc };

/** `hosts.<name>` */
export const HOST_FIELD_DOCS = {
  dockerHost: {
    type: "string",
    default: "one of `dockerHost`, `kubernetes`",
    meaning: "a Docker host: `unix:///var/run/docker.sock`, `ssh://user@host[:port]` or `tcp://host:port`",
  },
  kubernetes: {
    type: "map (`hosts.<name>.kubernetes`)",
    default: "one of `dockerHost`, `kubernetes`",
    meaning:
      "a Kubernetes cluster: its services become a Deployment, a Service, claims and a Secret each, in its namespace; it takes none of `gpus`, `sshOpts`, `registryAuth`, and `gpu-services:switch` is not used there",
  },
  address: {
    type: "string",
    default: "from `dockerHost`; on a cluster the Service's address",
    meaning: "address clients use in endpoint URLs (on a `NodePort` cluster: a node's or a VIP's)",
  },
  gpus: {
    type: "int \u2265 0, or `{count, devices: [{id, memoryGiB?}]}`",
    default: "unchecked",
    meaning:
      "Docker hosts only: the host's GPUs: exclusive GPU requests on the host (this stack's and its `sharesHostsWith` stacks') may not exceed `count`; `deviceIds` must be listed in `devices` and used by one service at a time",
  },
  sshOpts: {
    type: "string[]",
    default: "`[]`",
    meaning: "Docker hosts only: extra ssh options for `ssh://` hosts",
  },
  registryAuth: {
    type: "list",
    default: "`[]`",
    meaning:
      "Docker hosts only: `{address: ghcr.io, username, passwordSecret}`: credentials for pulls and for the base images of builds on this host; `passwordSecret` names an entry of `secrets`",
  },
} satisfies FieldDocs<typeof HostFields>;

/** `hosts.<name>.kubernetes` */
export const KUBERNETES_FIELD_DOCS = {
  namespace: {
    type: "string (DNS-1123 label)",
    default: "required",
    meaning: "namespace of every object of the stack's services there; it must exist (the program does not create it)",
  },
  context: {
    type: "string",
    default: "the kubeconfig's current context",
    meaning: "kubeconfig context",
  },
  kubeconfigSecret: {
    type: "string",
    default: "the operator's kubeconfig",
    meaning: "entry of `secrets` that holds a whole kubeconfig",
  },
  serviceType: {
    type: "`LoadBalancer`, `NodePort`",
    default: "`LoadBalancer`",
    meaning:
      "how each service's ports are exposed, on the same port numbers; `NodePort`: the node port is the port number (`ports[].host`), used once per cluster, and the cluster's node port range (default 30000-32767) must hold it",
  },
  spareGpus: {
    type: "int \u2265 0",
    default: "not known",
    meaning:
      "GPUs free beyond the stack's own pods: `release.strategy: auto` rolls a GPU service only while one surge pod of every rolling service fits in them together",
  },
  storageClassName: {
    type: "string",
    default: "the cluster's default",
    meaning: "storage class of each managed volume's claim",
  },
  volumeSize: {
    type: "Kubernetes quantity",
    default: "`10Gi`",
    meaning: "size each managed volume's claim requests",
  },
  volumeAccessMode: {
    type: "`ReadWriteOnce`, `ReadWriteOncePod`, `ReadWriteMany`",
    default: "`ReadWriteOnce`",
    meaning:
      "access mode of each managed volume's claim. `ReadWriteOnce`: the pods that mount it at once (replicas, a surge pod) run on its one node; `ReadWriteOncePod`: one pod at a time, so `replicas` 1 and stop-then-start; `ReadWriteMany`: pods on any nodes, where the storage class provides it (NFS, CephFS)",
  },
  nodePortRange: {
    type: "`from-to`",
    default: "`30000-32767`",
    meaning:
      "the cluster's node port range (kube-apiserver's `--service-node-port-range`): with `serviceType: NodePort`, a port number outside it is refused",
  },
} satisfies FieldDocs<typeof KubernetesSchema>;

/** `services.<name>` */
export const SERVICE_FIELD_DOCS = {
  host: {
    type: "string",
    default: "required",
    meaning: "a key of `hosts`",
  },
  image: {
    type: "`{repository, tag?, digest?, track?}`",
    default: "\u2014",
    meaning:
      "pull from a registry; exactly one of `image` and `build`; `track: true` follows `tag` (docs/concepts/releases.md)",
  },
  build: {
    type: "`{context, ref?, dockerfile?, args?, target?, noCache?, tag?}`",
    default: "\u2014",
    meaning:
      "build on the host with BuildKit (refused on a cluster: publish with `examples/service-publish.yml`, then use `image`); `context` is a git URL (`https://`, `ssh://`, `git://`, `git@`; `ref`: branch, tag or commit; no credentials in the URL: use a deploy key or a credential helper) or a local folder; `dockerfile` default `Dockerfile` (local folders only; git builds use the root Dockerfile, or `#<ref>:<folder>` in the URL); `noCache` default `false`; `tag` one more name for the built image (compose's `image:` beside `build:`)",
  },
  containerName: {
    type: "string",
    default: "`<service>-<stack>`",
    meaning:
      "Docker container name, unique per host; on a cluster the name of the Deployment and the Service, a DNS-1035 label (lowercase letters, digits, `-`, a letter first)",
  },
  ports: {
    type: "list of `{host, container, protocol?, hostIp?}`",
    default: "`[]`",
    meaning:
      "`protocol` `tcp`/`udp` (default `tcp`), `hostIp` default `0.0.0.0`; a host port is used once per host; on a cluster the Service's ports (`host` the port, `container` the target port; no `hostIp`)",
  },
  volumes: {
    type: "list of `{name, target, external?, retainOnDelete?, protect?, readOnly?}`",
    default: "`[]`",
    meaning:
      "named volumes; `name` is the real Docker volume name. `external: true`: an existing volume, referred to by name, never created or deleted. Otherwise managed, with `protect` and `retainOnDelete` default `true`. On a cluster a PersistentVolumeClaim of that name (a DNS-1123 name), external: an existing claim",
  },
  binds: {
    type: "list of `{source, target, readOnly?}`",
    default: "`[]`",
    meaning: "host folders (absolute paths); refused on a cluster: use a volume",
  },
  env: {
    type: "map",
    default: "`{}`",
    meaning: "plain environment (names: letters, digits, `_`)",
  },
  secretEnv: {
    type: "map env name \u2192 secret name",
    default: "`{}`",
    meaning: "environment from `secrets`",
  },
  gpus: {
    type: "`{count? \\| deviceIds?, capabilities?, memoryGiB?}`",
    default: "no GPU",
    meaning:
      "NVIDIA device request; `count` a number or `all` (default 1), `capabilities` default `[gpu]`; `memoryGiB` (a number above 0, at most each GPU it may use has; default not declared) what one copy needs on each GPU it uses, read by the release strategy's fit rule on Docker hosts; on a cluster `count` is a number (`deviceIds` and `all` refused: the device plugin picks the GPUs)",
  },
  shareGpu: {
    type: "bool",
    default: "`false`",
    meaning:
      "the service shares its GPUs: not counted as exclusive use of the host's GPUs; refused on a cluster (sharing is the device plugin's: time-slicing, MPS)",
  },
  restart: {
    type: "`no`, `on-failure`, `always`, `unless-stopped`",
    default: "`unless-stopped`",
    meaning: "Docker restart policy; on a cluster `unless-stopped` or `always` (pods are always restarted)",
  },
  healthcheck: {
    type: "`{test, interval?, timeout?, retries?, startPeriod?}`",
    default: "none",
    meaning:
      "`test` a list starting with `CMD`/`CMD-SHELL`/`NONE`, or a shell string; durations like `30s`, `1m30s` (defaults `30s`, `30s`, `3`, `0s`); `pulumi up` waits for healthy for `startPeriod + retries \u00d7 (interval + timeout) + 60 s`",
  },
  command: {
    type: "string[]",
    default: "image's",
    meaning: "replaces the image's CMD",
  },
  entrypoint: {
    type: "string[]",
    default: "image's",
    meaning: "replaces the image's ENTRYPOINT",
  },
  shmSize: {
    type: "size (`16g`, `512m`) or bytes",
    default: "Docker's 64 MiB",
    meaning: "size of `/dev/shm`, whole MiB: PyTorch and vLLM with several GPUs fail with Docker's default",
  },
  ipc: {
    type: "`host`, `shareable`, `private`",
    default: "Docker's",
    meaning: "IPC namespace (NCCL across processes wants `host` or a large shm); on a cluster only `host`",
  },
  cpus: {
    type: "number above 0",
    default: "no limit",
    meaning:
      "CPU limit in CPUs (Docker's `--cpus`, `1.5`): keeps a tokenizer-heavy TTS from starving STT on a shared host",
  },
  ulimits: {
    type: "map of name \u2192 number or `{soft, hard}`",
    default: "Docker's",
    meaning:
      "`memlock`, `stack`, `nofile`, ... (`-1` unlimited); NVIDIA's images document `memlock: -1, stack: 67108864`; refused on a cluster (Kubernetes has none)",
  },
  user: {
    type: "string",
    default: "image's",
    meaning: "user to run as; on a cluster a numeric `uid[:gid]`",
  },
  labels: {
    type: "map",
    default: "`{}`",
    meaning:
      "extra labels (the `gpu-services.` prefix is reserved); on a cluster pod annotations, keys `[prefix/]name` as Kubernetes takes them",
  },
  scheme: {
    type: "`http`/`https`",
    default: "`http`",
    meaning: "scheme of the endpoint output",
  },
  endpointPort: {
    type: "int",
    default: "first tcp port",
    meaning: "container port whose published port is the endpoint",
  },
  stopGraceSeconds: {
    type: "int",
    default: "`30`",
    meaning: "seconds between SIGTERM and SIGKILL on stop",
  },
  release: {
    type: "`{strategy?, drainSeconds?}`",
    default: "`{strategy: auto, drainSeconds: 30}`",
    meaning:
      "how a release replaces the container (see Releases): `strategy` `auto`, `blue-green` or `stop-then-start`; `auto` is blue-green only where `gpu-services:switch` is set, the service has a `healthcheck` and the declared GPU memory proves two copies of every blue-green service fit beside everything else on its GPUs (this stack's and its `sharesHostsWith` stacks'), else stop-then-start; `blue-green` is refused where that does not hold; `drainSeconds` (0-3600) the old copy finishes its requests after the switch, before it is stopped. On a cluster blue-green is a RollingUpdate (`maxSurge: 1, maxUnavailable: 0`) and stop-then-start a Recreate; `auto` rolls where the service has a healthcheck and, with GPUs, `kubernetes.spareGpus` holds one surge pod of every rolling service; `blue-green` there needs a healthcheck and, where `spareGpus` is declared, must fit in it; no switch is needed",
  },
  readiness: {
    type: "`{path, method?, port?, scheme?, headers?, body?, expectStatus?, timeout?, interval?, passes?}`",
    default: "from an HTTP healthcheck URL, else a TCP connect",
    meaning:
      "the HTTP request that says a copy is ready: behind `gpu-services:switch` a copy gets client requests only after it has passed `passes` (default 2) times in a row, checked every `interval` (default `1s`) while it is not ready, each within `timeout` (default `10s`); `method` `GET` (default), `HEAD`, `POST`, `PUT`; `port` a tcp container port of `ports` (default the first); `scheme` default the service's; `body` exactly one of `text`, `file` (a file of the project, at most 1 MiB) or `multipart: {field, file, contentType?}` (POST or PUT only); `expectStatus` a status or a list (default any 2xx). Default: a healthcheck `curl`/`wget` of `http(s)://localhost:<port><path>` gives that GET, else a TCP connect to the first tcp port (1 pass). On a cluster the pods' readiness and startup probes (`httpGet`: GET only, no body, no `expectStatus`)",
  },
  hold: {
    type: "`{seconds?, queue?, replay?}`",
    default: "`{seconds: healthcheck startPeriod + 30, queue: 256, replay: true}`",
    meaning:
      "behind `gpu-services:switch`: how long (`seconds`, 0-3600; default the healthcheck's `startPeriod` + 30 s, at least `switch.holdSeconds`) and how many at once (`queue`) the switch holds requests for a copy that is not ready (a release, a restart, a crash); past either the client gets 503 with `Retry-After`. `replay: true` sends again, once ready, a request its copy never answered (a body up to 8 MiB); set `false` for requests with side effects. Refused on a cluster (no switch)",
  },
  replicas: {
    type: "int 1-1000",
    default: "`1`",
    meaning:
      "copies of the service. On a Docker host: that many containers, each on its own GPUs, behind one endpoint of `gpu-services:switch` (required from 2), which sends each request to the ready copy with the fewest in flight and releases one copy at a time; copy i takes the i-th `k` of `gpus.deviceIds` (then a multiple of `replicas`), else is placed on the `gpus.count` GPUs (default 1; not `all`) with the most free memory, which needs `gpus.memoryGiB` and `hosts.<h>.gpus.devices[].memoryGiB` (see docs/concepts/replicas.md). On a cluster: pods of the service's Deployment, placed by the scheduler",
  },
  scheduling: {
    type: "`{nodeSelector?, tolerations?, runtimeClassName?}`",
    default: "none",
    meaning: "node placement on a cluster (refused on a Docker host); see `services.<name>.scheduling`",
  },
} satisfies FieldDocs<typeof ServiceFields>;

/** `services.<name>.scheduling` */
export const SCHEDULING_FIELD_DOCS = {
  nodeSelector: {
    type: "map label key \u2192 value",
    default: "`{}`",
    meaning: "node labels the pods require, such as `nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3`",
  },
  tolerations: {
    type: "list of `{key?, operator?, value?, effect?}`",
    default: "`[]`",
    meaning:
      "taints the pods tolerate, such as `{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}`; `operator` `Equal` (default) or `Exists` (no `value`; without `key`: every taint); `effect` `NoSchedule`, `PreferNoSchedule`, `NoExecute` or every effect",
  },
  runtimeClassName: {
    type: "string",
    default: "the cluster's default",
    meaning: "RuntimeClass of the pods, such as `nvidia`",
  },
} satisfies FieldDocs<typeof SchedulingSchema>;

/** `switch` */
export const SWITCH_FIELD_DOCS = {
  image: {
    type: "`{repository, tag?, digest?, track?}`",
    default: "\u2014",
    meaning:
      "the switch image (Caddy and the `gpu-switch` agent); exactly one of `image` and `build`, pinned as a service's",
  },
  build: {
    type: "`{context, ref?, dockerfile?, args?, target?, noCache?, tag?}`",
    default: "\u2014",
    meaning: "build the switch image on the host, as a service's `build`",
  },
  holdSeconds: {
    type: "int 0-600",
    default: "`10`",
    meaning:
      "the least hold budget of every service: `services.<name>.hold.seconds` defaults to the healthcheck's `startPeriod` + 30 s, and at least this",
  },
  streamCloseDelay: {
    type: "Go duration",
    default: "`1h`",
    meaning:
      "how long streams (WebSockets, chunked audio) stay open when the switch's config is reloaded, i.e. when services, ports or TLS change; a release reloads nothing (Caddy's `stream_close_delay`)",
  },
  dockerSocket: {
    type: "absolute path",
    default: "`/var/run/docker.sock`",
    meaning: "the Docker socket on each host, mounted into the one-shot container that moves the traffic",
  },
} satisfies FieldDocs<typeof SwitchFields>;
