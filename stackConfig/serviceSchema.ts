/**
 * The shape of this project's stack config (`Pulumi.<stack>.yaml`, keys under the `gpu-services:` namespace),
 * as zod schemas. Every object is strict: an unknown key is an error, never silently ignored.
 *
 * Everything that can be checked from one host or one service alone is checked here: types, ranges, formats,
 * key names, and the rules between the fields of one object (`.superRefine` with the key path). What needs the
 * rest of the stack (pinned images, secrets, host names, neighbour stacks) is checked in `model.ts`.
 *
 * Nothing here needs the Pulumi runtime.
 */
import { z } from "zod";
import type { RelatedPathParams } from "./problems";
import { IPC_MODES, isAnyAddress, LABEL_PREFIX, MIB, RESTART_POLICIES, ULIMIT_NAMES } from "../model/types";

/** The config namespace: the project name in Pulumi.yaml. */
export const CONFIG_NAMESPACE = "gpu-services";

/** Tags that move: refused where a stack requires pinned images. */
export const FLOATING_TAGS = ["latest", "main", "master", "develop", "dev", "edge", "nightly", "stable"] as const;

/** Names of hosts and services: lowercase letters, digits and -. */
export const SERVICE_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const CONTAINER_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;
/** A Docker repository (no tag, no digest): optional registry host[:port], then lowercase path components. */
const REPOSITORY_RE =
  /^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** A repository with an optional tag: what `docker tag` takes as a target. */
const IMAGE_NAME_RE = new RegExp(`${REPOSITORY_RE.source.slice(0, -1)}(?::${TAG_RE.source.slice(1, -1)})?$`);
export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A Go-style duration as Docker takes it: 30s, 1m30s, 500ms, 1h. */
export const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ns|us|ms|s|m|h))+$/;
const DOCKER_HOST_RE = /^(unix:\/\/\/.+|ssh:\/\/(?:[^@/\s]+@)?[^@/\s:]+(?::\d+)?|tcp:\/\/[^/\s]+:\d+|npipe:\/\/.+)$/;
export const TAG_PATTERN = TAG_RE;
export const GIT_URL_RE = /^(?:https?:\/\/|ssh:\/\/|git:\/\/|git@)[^\s#]+?(?:\.git)?$/;
export const COMMIT_RE = /^[0-9a-f]{40}$/;
export const GIT_REF_RE = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/+-]{1,255}$/;
/** The user-info part of a URL (`scheme://user:secret@`). */
const URL_USERINFO_RE = /^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]*)@/i;

/** A URL with any credentials in it blanked out, for messages: `https://***@github.com/…`. */
export function redactUrl(url: string): string {
  return url.replace(URL_USERINFO_RE, "$1***@");
}

/**
 * Whether a URL carries credentials: any user-info over http(s) (a token often stands alone as the user name), a
 * password over any other scheme. `ssh://git@host` is a plain user name.
 */
export function urlHasCredentials(url: string): boolean {
  const match = URL_USERINFO_RE.exec(url);
  if (!match) return false;
  return /^https?:/i.test(match[1]) || match[2].includes(":");
}

const port = (what: string) => {
  const error = `must be a whole number from 1 to 65535 (${what})`;
  return z.int({ error }).min(1, { error }).max(65535, { error });
};

const duration = z.string().regex(DURATION_RE, { error: "must be a duration such as 30s, 1m30s or 500ms" });

const scalarValue = z
  .union([z.string(), z.number(), z.boolean()], { error: "must be a string, number or boolean" })
  .transform(String);

const stringMap = z.record(z.string(), scalarValue);

/** An absolute path (starts with /), `where` being "on the host" or "inside the container". */
const absolutePath = (where: string) =>
  z
    .string()
    .min(1)
    .refine((p) => p.startsWith("/"), {
      error: (issue) => `must be an absolute path ${where} (got ${JSON.stringify(issue.input)})`,
    });

/** Binary multiples, as Docker reads `16g`, `512m`, `2gb` (go-units RAMInBytes). */
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i;
const SIZE_UNITS: Record<string, number> = { "": 1, k: 2 ** 10, m: MIB, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Bytes in a Docker size: a number of bytes, or `16g`, `512m`, `2gb`, `1GiB`; undefined if it is not one. */
export function sizeBytes(size: string | number): number | undefined {
  if (typeof size === "number") return Number.isInteger(size) && size >= 0 ? size : undefined;
  const match = SIZE_RE.exec(size.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()];
  return Number.isFinite(bytes) ? Math.round(bytes) : undefined;
}

/** /dev/shm's size: whole MiB from 1 MiB (Docker's provider takes MiB), given as `16g` or in bytes. */
const shmSize = z.union([z.string(), z.number()]).superRefine((size, ctx) => {
  const bytes = sizeBytes(size);
  if (bytes === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `must be a size such as 16g, 512m or a number of bytes (got ${JSON.stringify(size)})`,
    });
  } else if (bytes < MIB || bytes % MIB !== 0) {
    ctx.addIssue({
      code: "custom",
      message: `must be a whole number of MiB, at least 1m (got ${JSON.stringify(size)})`,
    });
  }
});

const ulimitNumber = z.int({ error: "must be a whole number, or -1 for unlimited" }).min(-1, {
  error: "must be a whole number, or -1 for unlimited",
});

/** One resource limit: a number for soft and hard alike, or {soft, hard}; -1 is unlimited. */
const ulimit = z
  .union([ulimitNumber, z.strictObject({ soft: ulimitNumber, hard: ulimitNumber })], {
    error: "must be a number (-1 for unlimited) or {soft, hard}",
  })
  .superRefine((limit, ctx) => {
    if (typeof limit === "object" && limit.hard !== -1 && (limit.soft === -1 || limit.soft > limit.hard)) {
      ctx.addIssue({ code: "custom", message: `soft (${limit.soft}) may not exceed hard (${limit.hard})` });
    }
  });

/** Env variable names: the keys of `env` and `secretEnv`. */
export const EnvNameSchema = z
  .string()
  .regex(ENV_NAME_RE, { error: "is not a valid env name: letters, digits and _, not starting with a digit" });

/** Keys of user labels: anything but the prefix this program's own labels use. */
export const LabelKeySchema = z.string().refine((key) => !key.startsWith(LABEL_PREFIX), {
  error: `the "${LABEL_PREFIX}" prefix is reserved for labels this program sets`,
});

/** A custom issue at `path`, optionally naming a second key path in full at the end of its message. */
function issue(
  ctx: z.RefinementCtx,
  path: readonly PropertyKey[],
  message: string,
  related?: readonly PropertyKey[],
): void {
  const params: RelatedPathParams | undefined = related ? { related } : undefined;
  ctx.addIssue({ code: "custom", path: [...path], message, ...(params ? { params } : {}) });
}

export const RegistryAuthSchema = z.strictObject({
  /** Registry host, for example ghcr.io. */
  address: z
    .string()
    .min(1)
    .regex(/^[a-zA-Z0-9.-]+(?::\d+)?$/, { error: "must be a registry host such as ghcr.io" }),
  /** User name at the registry. */
  username: z.string().min(1),
  /** Name of the entry in the `secrets` config key that holds the token. */
  passwordSecret: z.string().min(1),
});

export const GpuInventorySchema = z
  .union(
    [
      z.int().min(0),
      z.strictObject({
        count: z.int().min(0),
        devices: z
          .array(z.strictObject({ id: z.string().min(1), memoryGiB: z.number().positive().optional() }))
          .optional(),
      }),
    ],
    { error: "must be a whole number of GPUs, or {count, devices: [{id, memoryGiB}]}" },
  )
  .superRefine((gpus, ctx) => {
    if (typeof gpus === "number" || !gpus.devices) return;
    if (gpus.devices.length !== gpus.count) {
      issue(ctx, ["devices"], `lists ${gpus.devices.length} devices but count is ${gpus.count}`);
    }
    const seen = new Set<string>();
    gpus.devices.forEach((device, index) => {
      if (seen.has(device.id)) issue(ctx, ["devices", index, "id"], `device "${device.id}" is listed twice`);
      seen.add(device.id);
    });
  });

export const HostSchema = z.strictObject({
  /** Docker host URI: unix:///var/run/docker.sock, ssh://user@host, tcp://host:2376. */
  dockerHost: z.string().regex(DOCKER_HOST_RE, {
    error: "must be a Docker host URI: unix:///var/run/docker.sock, ssh://user@host[:port] or tcp://host:port",
  }),
  /** Address clients use to reach published ports; derived from dockerHost when absent. */
  address: z.string().min(1).optional(),
  /** The host's NVIDIA GPUs: a count, or {count, devices: [{id, memoryGiB}]}; requests may not exceed them. */
  gpus: GpuInventorySchema.optional(),
  /** Extra ssh options for ssh:// hosts, for example ["-o", "StrictHostKeyChecking=yes"]. */
  sshOpts: z.array(z.string()).optional(),
  /** Registry credentials used to pull images on this host. */
  registryAuth: z.array(RegistryAuthSchema).optional(),
});

export const ImageSchema = z
  .strictObject({
    repository: z.string().regex(REPOSITORY_RE, {
      error:
        "must be a repository such as ghcr.io/owner/name (lowercase; put a tag in image.tag, a digest in image.digest)",
    }),
    tag: z.string().regex(TAG_RE, { error: "must be a Docker tag: letters, digits, _ . - (at most 128)" }).optional(),
    digest: z.string().regex(DIGEST_RE, { error: "must be sha256: followed by 64 lowercase hex digits" }).optional(),
    /** Follow the tag: resolve its current digest on every preview and up, and pull when it moves. */
    track: z.boolean().default(false),
  })
  .superRefine((image, ctx) => {
    if (image.track && (image.tag === undefined || image.digest !== undefined)) {
      issue(ctx, ["track"], "follows a tag: give image.tag and no image.digest");
    }
  });

export const BuildSchema = z
  .strictObject({
    /** A git URL (https://github.com/owner/repo.git) or a local folder (relative to the project). */
    context: z.string().min(1),
    /** For a git context: branch, tag or commit; a full 40-hex commit where the stack requires pins. */
    ref: z.string().regex(GIT_REF_RE, { error: "must be a git branch, tag or commit" }).optional(),
    dockerfile: z.string().min(1).default("Dockerfile"),
    args: stringMap.default({}),
    target: z.string().min(1).optional(),
    /** Build without the layer cache (docker build --no-cache). */
    noCache: z.boolean().default(false),
    /** One more name for the built image, such as compose's `image:` beside `build:` (sd-auto:78). */
    tag: z
      .string()
      .regex(IMAGE_NAME_RE, { error: "must be an image name such as sd-auto:78 or ghcr.io/owner/name:tag" })
      .optional(),
  })
  .superRefine((build, ctx) => {
    if (urlHasCredentials(build.context)) {
      issue(
        ctx,
        ["context"],
        `must not carry credentials (got "${redactUrl(build.context)}"): the URL would be kept in the state, labels ` +
          "and logs. For a private repository use an ssh:// URL with a deploy key, or a git credential helper on " +
          "the build host (git config credential.helper)",
      );
      return;
    }
    if (GIT_URL_RE.test(build.context)) {
      if (build.dockerfile !== "Dockerfile") {
        issue(
          ctx,
          ["dockerfile"],
          "a git build uses the Dockerfile at the root of its context; to build a subfolder, end the context URL " +
            "with #<ref>:<folder>, or build from a local folder",
        );
      }
      return;
    }
    if (build.context.includes("://") || build.context.startsWith("git@")) {
      issue(
        ctx,
        ["context"],
        "must be a git URL (https://host/owner/repo.git, ssh://..., git@host:owner/repo) " +
          `or a local folder (got "${redactUrl(build.context)}")`,
      );
    }
    if (build.ref !== undefined) issue(ctx, ["ref"], "applies only to a git context; a local folder has no ref");
  });

export const PortSchema = z.strictObject({
  host: port("the port published on the host"),
  container: port("the port inside the container"),
  protocol: z.enum(["tcp", "udp"], { error: "must be tcp or udp" }).default("tcp"),
  hostIp: z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" }).default("0.0.0.0"),
});

export const VolumeSchema = z.strictObject({
  /** The Docker volume name on the host (as `docker volume ls` shows it). */
  name: z.string().regex(VOLUME_NAME_RE, { error: "must be a Docker volume name: letters, digits, _ . -" }),
  target: absolutePath("inside the container"),
  /** The volume exists already and is not managed by this stack (never created, never deleted). */
  external: z.boolean().default(false),
  /** Keep the Docker volume when the resource is deleted (pulumi destroy). */
  retainOnDelete: z.boolean().default(true),
  /** Refuse to delete the volume resource until this is set to false. */
  protect: z.boolean().default(true),
  readOnly: z.boolean().default(false),
});

export const BindSchema = z.strictObject({
  source: absolutePath("on the host"),
  target: absolutePath("inside the container"),
  readOnly: z.boolean().default(false),
});

export const GpuSchema = z
  .strictObject({
    count: z
      .union([z.int().min(1), z.literal("all")], { error: 'must be a whole number of at least 1, or "all"' })
      .optional(),
    deviceIds: z.array(z.string().min(1)).min(1).optional(),
    capabilities: z.array(z.string().min(1)).min(1).default(["gpu"]),
  })
  .superRefine((gpus, ctx) => {
    if (gpus.count !== undefined && gpus.deviceIds !== undefined) {
      issue(ctx, [], "give either count or deviceIds, not both");
    }
  });

export const HealthcheckSchema = z
  .strictObject({
    /** ["CMD", "curl", "-f", "http://localhost:8000/health"], or a shell command string (CMD-SHELL). */
    test: z.union([z.array(z.string().min(1)).min(1), z.string().min(1)], {
      error: "must be a list such as [CMD, curl, -f, http://localhost:8000/health] or a shell command string",
    }),
    interval: duration.default("30s"),
    timeout: duration.default("30s"),
    retries: z.int().min(1).default(3),
    startPeriod: duration.default("0s"),
  })
  .superRefine((healthcheck, ctx) => {
    if (Array.isArray(healthcheck.test) && !["CMD", "CMD-SHELL", "NONE"].includes(healthcheck.test[0])) {
      issue(ctx, ["test"], `a list must start with CMD, CMD-SHELL or NONE (got "${healthcheck.test[0]}")`);
    }
  });

/** Whether two published ports take the same host port (same protocol, overlapping addresses). */
export function portsOverlap(
  a: { hostIp: string; protocol: string; host: number },
  b: { hostIp: string; protocol: string; host: number },
): boolean {
  return (
    a.protocol === b.protocol &&
    a.host === b.host &&
    (a.hostIp === b.hostIp || isAnyAddress(a.hostIp) || isAnyAddress(b.hostIp))
  );
}

const ServiceFields = z.strictObject({
  /** Name of the host (a key of `hosts`) the service runs on. */
  host: z.string().min(1),
  containerName: z
    .string()
    .regex(CONTAINER_NAME_RE, { error: "must be a Docker container name: letters, digits, _ . -" })
    .optional(),
  image: ImageSchema.optional(),
  build: BuildSchema.optional(),
  ports: z.array(PortSchema).default([]),
  volumes: z.array(VolumeSchema).default([]),
  binds: z.array(BindSchema).default([]),
  env: z.record(EnvNameSchema, scalarValue).default({}),
  /** Env name -> name of an entry in the `secrets` config key. */
  secretEnv: z.record(EnvNameSchema, z.string().min(1)).default({}),
  gpus: GpuSchema.optional(),
  /** This service shares its GPUs with others: left out of the host's exclusive GPU accounting. */
  shareGpu: z.boolean().default(false),
  restart: z
    .enum(RESTART_POLICIES, { error: `must be one of ${RESTART_POLICIES.join(", ")}` })
    .default("unless-stopped"),
  healthcheck: HealthcheckSchema.optional(),
  command: z.array(z.string()).optional(),
  user: z.string().min(1).optional(),
  /** Replaces the image's ENTRYPOINT: a list, as Docker takes it. */
  entrypoint: z.array(z.string()).min(1, { error: "must list the program and its arguments" }).optional(),
  /** Size of /dev/shm (PyTorch and NCCL with several GPUs need more than Docker's 64 MiB): 16g, 512m or bytes. */
  shmSize: shmSize.optional(),
  /** CPU limit in CPUs (Docker's --cpus): 1.5 is at most one and a half CPUs' time; absent: no limit. */
  cpus: z
    .number({ error: "must be a number of CPUs such as 2 or 1.5" })
    .positive({ error: "must be a number of CPUs above 0, such as 2 or 1.5" })
    .optional(),
  /** IPC namespace: host (NCCL across containers), shareable or private. */
  ipc: z.enum(IPC_MODES, { error: `must be one of ${IPC_MODES.join(", ")}` }).optional(),
  /** Resource limits by name (memlock: -1, stack: 67108864, nofile: {soft, hard}), as NVIDIA's images document. */
  ulimits: z
    .partialRecord(z.enum(ULIMIT_NAMES, { error: `must be one of ${ULIMIT_NAMES.join(", ")}` }), ulimit)
    .optional(),
  labels: z.record(LabelKeySchema, scalarValue).default({}),
  scheme: z.enum(["http", "https"], { error: "must be http or https" }).default("http"),
  /** The container port whose published host port is the service endpoint; default the first tcp port. */
  endpointPort: port("a container port listed in ports").optional(),
  /** Seconds Docker waits after SIGTERM before it kills the container. */
  stopGraceSeconds: z.int().min(0).max(3600).default(30),
});

type ServiceFieldsOutput = z.output<typeof ServiceFields>;

/** Exactly one of image and build. */
function checkImageSource(service: ServiceFieldsOutput, ctx: z.RefinementCtx): void {
  const what = "give exactly one (image: pull from a registry, build: build from source)";
  if (service.image && service.build) issue(ctx, [], `has both image and build; ${what}`);
  else if (!service.image && !service.build) issue(ctx, [], `has neither image nor build; ${what}`);
}

/** Each container path is mounted once. */
function checkMountTargets(service: ServiceFieldsOutput, ctx: z.RefinementCtx): void {
  const mountedBy = new Map<string, readonly PropertyKey[]>();
  const claim = (target: string, at: readonly PropertyKey[]) => {
    const earlier = mountedBy.get(target);
    if (earlier) issue(ctx, [...at, "target"], `"${target}" is already mounted by`, earlier);
    else mountedBy.set(target, at);
  };
  service.volumes.forEach((volume, index) => claim(volume.target, ["volumes", index]));
  service.binds.forEach((bind, index) => claim(bind.target, ["binds", index]));
}

/** Each host port once per service. */
function checkPorts(service: ServiceFieldsOutput, ctx: z.RefinementCtx): void {
  service.ports.forEach((current, index) => {
    service.ports.slice(0, index).forEach((earlier, earlierIndex) => {
      if (portsOverlap(current, earlier)) {
        issue(
          ctx,
          ["ports", index, "host"],
          `host port ${current.host}/${current.protocol} is also published by ports[${earlierIndex}]`,
        );
      }
    });
  });
}

/** The endpoint is an http(s) URL: a published tcp port. */
function checkEndpointPort(service: ServiceFieldsOutput, ctx: z.RefinementCtx): void {
  if (service.endpointPort === undefined) return;
  const listed = service.ports.filter((p) => p.container === service.endpointPort);
  if (listed.length === 0) {
    const containerPorts = service.ports.map((p) => p.container).join(", ") || "none";
    issue(ctx, ["endpointPort"], `must be a container port listed in ports (listed: ${containerPorts})`);
  } else if (!listed.some((p) => p.protocol === "tcp")) {
    issue(
      ctx,
      ["endpointPort"],
      `container port ${service.endpointPort} is published over udp only; the endpoint is an ` +
        `${service.scheme} URL and needs a tcp port`,
    );
  }
}

/** An env name is either plain or secret. */
function checkEnvNames(service: ServiceFieldsOutput, ctx: z.RefinementCtx): void {
  for (const name of Object.keys(service.secretEnv)) {
    if (name in service.env)
      issue(ctx, ["secretEnv", name], "is also set in env; an env name is either plain or secret");
  }
}

/** The rules between the fields of one service. */
export const SERVICE_RULES = [checkImageSource, checkMountTargets, checkPorts, checkEndpointPort, checkEnvNames];

export const ServiceSchema = ServiceFields.superRefine((service, ctx) => {
  for (const rule of SERVICE_RULES) rule(service, ctx);
});

export const StackConfigSchema = z.strictObject({
  /** Refuse floating image tags (latest, branch names) and unpinned builds. */
  requirePinnedImages: z.boolean().default(false),
  hosts: z.record(
    z.string().regex(SERVICE_NAME_RE, { error: "host names are lowercase letters, digits and -" }),
    z.unknown(),
  ),
  services: z.record(
    z.string().regex(SERVICE_NAME_RE, { error: "service names are lowercase letters, digits and -" }),
    z.unknown(),
  ),
  /** Other stacks deployed to the same Docker hosts: their ports, GPUs, container and volume names are taken. */
  sharesHostsWith: z
    .array(z.string().min(1))
    .default([])
    .superRefine((stacks, ctx) => {
      stacks.forEach((stack, index) => {
        const first = stacks.indexOf(stack);
        if (first < index) issue(ctx, [index], `lists stack "${stack}" again (also at sharesHostsWith[${first}])`);
      });
    }),
  /** Secret values, set with `pulumi config set --secret --path 'secrets.<name>' <value>`. */
  secrets: z.record(z.string(), z.string()).default({}),
});

export type RawStackConfig = z.input<typeof StackConfigSchema>;
export type HostConfig = z.output<typeof HostSchema>;
export type ServiceConfig = z.output<typeof ServiceSchema>;
