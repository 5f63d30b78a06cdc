/**
 * The schema of one entry of `services`, as zod schemas. Every object is strict: an unknown key is an error,
 * never silently ignored.
 *
 * Everything that can be checked from one service alone is checked here: types, ranges, formats, key names, and
 * the rules between its fields (`.superRefine` with the key path). What needs the rest of the stack (pinned
 * images, secrets, host names, neighbour stacks) is checked by the model's builders.
 */
import { z } from "zod";
import {
  portsOverlap,
  CONTAINER_NAME_RE,
  DNS1123_SUBDOMAIN_RE,
  VOLUME_NAME_RE,
  IPC_MODES,
  LABEL_VALUE_RE,
  QUALIFIED_NAME_RE,
  RELEASE_STRATEGIES,
  RESTART_POLICIES,
  TAINT_EFFECTS,
  TOLERATION_OPERATORS,
  ULIMIT_NAMES,
} from "../formats";
import {
  absolutePath,
  duration,
  EnvNameSchema,
  issue,
  LabelKeySchema,
  port,
  scalarValue,
  shmSize,
  ulimit,
} from "./fields";
import { BuildSchema, ImageSchema } from "./imageSchema";
import { checkReadinessPort, HoldSchema, ReadinessSchema } from "./readinessSchema";

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
    /** What one copy needs on each GPU it uses, in GiB (the release strategy's fit rule reads it). */
    memoryGiB: z
      .number({ error: "must be a number of GiB above 0, such as 5 or 4.5" })
      .positive({ error: "must be a number of GiB above 0, such as 5 or 4.5" })
      .optional(),
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

/** How a new release replaces the running one (the fit rules, model/docker/fitRule.ts and model/cluster/fitRule.ts, resolve `auto`). */
export const ReleaseSchema = z.strictObject({
  strategy: z.enum(RELEASE_STRATEGIES, { error: `must be one of ${RELEASE_STRATEGIES.join(", ")}` }).default("auto"),
  drainSeconds: z
    .int({ error: "must be a whole number of seconds from 0 to 3600" })
    .min(0, { error: "must be a whole number of seconds from 0 to 3600" })
    .max(3600, { error: "must be a whole number of seconds from 0 to 3600" })
    .default(30),
});

const QUALIFIED_NAME = "must be a Kubernetes label key: [prefix/]name, the name at most 63 letters, digits, - _ .";
const LABEL_VALUE =
  "must be a Kubernetes label value: empty or at most 63 letters, digits, - _ ., a letter or digit at each end";

/** A node label value (`true`, `8` as YAML writes them are their strings). */
const labelValue = z
  .union([z.string(), z.number(), z.boolean()], { error: "must be a string" })
  .transform(String)
  .pipe(z.string().regex(LABEL_VALUE_RE, { error: LABEL_VALUE }));

export const TolerationSchema = z
  .strictObject({
    key: z.string().regex(QUALIFIED_NAME_RE, { error: QUALIFIED_NAME }).optional(),
    operator: z
      .enum(TOLERATION_OPERATORS, { error: `must be one of ${TOLERATION_OPERATORS.join(", ")}` })
      .default("Equal"),
    value: labelValue.optional(),
    effect: z.enum(TAINT_EFFECTS, { error: `must be one of ${TAINT_EFFECTS.join(", ")}` }).optional(),
  })
  .superRefine((toleration, ctx) => {
    if (toleration.operator === "Exists" && toleration.value !== undefined) {
      issue(ctx, ["value"], "must not be set with operator Exists (it tolerates every value of the key)");
    }
    if (toleration.key === undefined && toleration.operator !== "Exists") {
      issue(ctx, ["operator"], "must be Exists when no key is given (a toleration of every taint)");
    }
  });

/** Node placement on a cluster (model/buildService.ts refuses it on a Docker host). */
export const SchedulingSchema = z.strictObject({
  nodeSelector: z.record(z.string().regex(QUALIFIED_NAME_RE, { error: QUALIFIED_NAME }), labelValue).default({}),
  tolerations: z.array(TolerationSchema).default([]),
  runtimeClassName: z
    .string()
    .regex(DNS1123_SUBDOMAIN_RE, {
      error: "must be a RuntimeClass name: lowercase letters, digits, - and ., at most 253",
    })
    .optional(),
});

/** The fields of a service, each documented in fieldDocs.ts (the README's config reference is checked against it). */
export const ServiceFields = z.strictObject({
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
  secretEnv: z.record(EnvNameSchema, z.string().min(1)).default({}),
  gpus: GpuSchema.optional(),
  shareGpu: z.boolean().default(false),
  restart: z
    .enum(RESTART_POLICIES, { error: `must be one of ${RESTART_POLICIES.join(", ")}` })
    .default("unless-stopped"),
  healthcheck: HealthcheckSchema.optional(),
  command: z.array(z.string()).optional(),
  user: z.string().min(1).optional(),
  entrypoint: z.array(z.string()).min(1, { error: "must list the program and its arguments" }).optional(),
  shmSize: shmSize.optional(),
  cpus: z
    .number({ error: "must be a number of CPUs such as 2 or 1.5" })
    .positive({ error: "must be a number of CPUs above 0, such as 2 or 1.5" })
    .optional(),
  ipc: z.enum(IPC_MODES, { error: `must be one of ${IPC_MODES.join(", ")}` }).optional(),
  ulimits: z
    .partialRecord(z.enum(ULIMIT_NAMES, { error: `must be one of ${ULIMIT_NAMES.join(", ")}` }), ulimit)
    .optional(),
  labels: z.record(LabelKeySchema, scalarValue).default({}),
  scheme: z.enum(["http", "https"], { error: "must be http or https" }).default("http"),
  endpointPort: port("a container port listed in ports").optional(),
  stopGraceSeconds: z.int().min(0).max(3600).default(30),
  release: ReleaseSchema.prefault({}),
  readiness: ReadinessSchema.optional(),
  hold: HoldSchema.prefault({}),
  replicas: z
    .int({ error: "must be a whole number of copies from 1 to 1000" })
    .min(1, { error: "must be a whole number of copies from 1 to 1000" })
    .max(1000, { error: "must be a whole number of copies from 1 to 1000" })
    .optional(),
  scheduling: SchedulingSchema.optional(),
});

type ServiceFieldsOutput = z.output<typeof ServiceFields>;

/** Exactly one of image and build (a service's, the switch's). */
export function checkImageSource(
  service: { readonly image?: unknown; readonly build?: unknown },
  ctx: z.RefinementCtx,
): void {
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
export const SERVICE_RULES = [
  checkImageSource,
  checkMountTargets,
  checkPorts,
  checkEndpointPort,
  checkEnvNames,
  checkReadinessPort,
];

export const ServiceSchema = ServiceFields.superRefine((service, ctx) => {
  for (const rule of SERVICE_RULES) rule(service, ctx);
});

export type ServiceConfig = z.output<typeof ServiceSchema>;
