/**
 * The one source of the stack config's field docs: per key of each schema, its type, its default and what it
 * means, as README.md's config reference prints them (test/fieldDocs.test.ts checks the README's tables against
 * these, row for row). A key added to a schema is a type error here until it is documented.
 */
import type { z } from "zod";
import type { HostSchema } from "./hostSchema";
import type { ServiceFields } from "./serviceSchema";
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
    default: "required",
    meaning: "`unix:///var/run/docker.sock`, `ssh://user@host[:port]` or `tcp://host:port`",
  },
  address: {
    type: "string",
    default: "from `dockerHost`",
    meaning: "address clients use in endpoint URLs",
  },
  gpus: {
    type: "int \u2265 0, or `{count, devices: [{id, memoryGiB?}]}`",
    default: "unchecked",
    meaning:
      "the host's GPUs: exclusive GPU requests on the host (this stack's and its `sharesHostsWith` stacks') may not exceed `count`; `deviceIds` must be listed in `devices` and used by one service at a time",
  },
  sshOpts: {
    type: "string[]",
    default: "`[]`",
    meaning: "extra ssh options for `ssh://` hosts",
  },
  registryAuth: {
    type: "list",
    default: "`[]`",
    meaning:
      "`{address: ghcr.io, username, passwordSecret}`: credentials for pulls and for the base images of builds on this host; `passwordSecret` names an entry of `secrets`",
  },
} satisfies FieldDocs<typeof HostSchema>;

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
    meaning: "pull from a registry; exactly one of `image` and `build`; `track: true` follows `tag` (see Releases)",
  },
  build: {
    type: "`{context, ref?, dockerfile?, args?, target?, noCache?, tag?}`",
    default: "\u2014",
    meaning:
      "build on the host with BuildKit; `context` is a git URL (`https://`, `ssh://`, `git://`, `git@`; `ref`: branch, tag or commit; no credentials in the URL: use a deploy key or a credential helper) or a local folder; `dockerfile` default `Dockerfile` (local folders only; git builds use the root Dockerfile, or `#<ref>:<folder>` in the URL); `noCache` default `false`; `tag` one more name for the built image (compose's `image:` beside `build:`)",
  },
  containerName: {
    type: "string",
    default: "`<service>-<stack>`",
    meaning: "Docker container name, unique per host",
  },
  ports: {
    type: "list of `{host, container, protocol?, hostIp?}`",
    default: "`[]`",
    meaning: "`protocol` `tcp`/`udp` (default `tcp`), `hostIp` default `0.0.0.0`; a host port is used once per host",
  },
  volumes: {
    type: "list of `{name, target, external?, retainOnDelete?, protect?, readOnly?}`",
    default: "`[]`",
    meaning:
      "named volumes; `name` is the real Docker volume name. `external: true`: an existing volume, referred to by name, never created or deleted. Otherwise managed, with `protect` and `retainOnDelete` default `true`",
  },
  binds: {
    type: "list of `{source, target, readOnly?}`",
    default: "`[]`",
    meaning: "host folders (absolute paths)",
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
      "NVIDIA device request; `count` a number or `all` (default 1), `capabilities` default `[gpu]`; `memoryGiB` (a number above 0, at most each GPU it may use has; default not declared) what one copy needs on each GPU it uses, read by the release strategy's fit rule",
  },
  shareGpu: {
    type: "bool",
    default: "`false`",
    meaning: "the service shares its GPUs: not counted as exclusive use of the host's GPUs",
  },
  restart: {
    type: "`no`, `on-failure`, `always`, `unless-stopped`",
    default: "`unless-stopped`",
    meaning: "Docker restart policy",
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
    meaning: "IPC namespace (NCCL across processes wants `host` or a large shm)",
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
      "`memlock`, `stack`, `nofile`, ... (`-1` unlimited); NVIDIA's images document `memlock: -1, stack: 67108864`",
  },
  user: {
    type: "string",
    default: "image's",
    meaning: "user to run as",
  },
  labels: {
    type: "map",
    default: "`{}`",
    meaning: "extra labels (the `gpu-services.` prefix is reserved)",
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
      "how a release replaces the container (see Releases): `strategy` `auto`, `blue-green` or `stop-then-start`; `auto` is blue-green only where `gpu-services:switch` is set, the service has a `healthcheck` and the declared GPU memory proves two copies of every blue-green service fit beside everything else on its GPUs (this stack's and its `sharesHostsWith` stacks'), else stop-then-start; `blue-green` is refused where that does not hold; `drainSeconds` (0-3600) the old copy finishes its requests after the switch, before it is stopped",
  },
} satisfies FieldDocs<typeof ServiceFields>;

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
      "seconds the switch holds and retries a request while the service is away (Caddy's `lb_try_duration`; `0` off)",
  },
  streamCloseDelay: {
    type: "Go duration",
    default: "`1h`",
    meaning:
      "how long streams (WebSockets, chunked audio) stay open when the switch's routes are reloaded (Caddy's `stream_close_delay`)",
  },
  dockerSocket: {
    type: "absolute path",
    default: "`/var/run/docker.sock`",
    meaning: "the Docker socket on each host, mounted into the one-shot container that moves the traffic",
  },
} satisfies FieldDocs<typeof SwitchFields>;
