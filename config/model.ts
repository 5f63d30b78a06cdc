/**
 * Stack config -> one validated, plain deployment model.
 *
 * `buildModel` is the only place that interprets stack config. It checks every value (zod schemas in
 * `schema.ts`) and every rule that spans values, collects all problems, and throws one `StackConfigError`
 * that names the stack, each full key path and what is allowed. Components, plan printouts and other tools
 * read the returned `DeploymentModel` and never the raw config.
 *
 * Nothing here needs the Pulumi runtime.
 */
import * as path from "node:path";
import { z } from "zod";
import {
  COMMIT_RE,
  CONFIG_NAMESPACE,
  ENV_NAME_RE,
  FLOATING_TAGS,
  GIT_URL_RE,
  HostSchema,
  RESTART_POLICIES,
  ServiceSchema,
  StackConfigSchema,
  type HostConfig,
  type ServiceConfig,
} from "./schema";

/** Label keys this project sets on every container; user labels may not use the prefix. */
export const LABEL_PREFIX = "gpu-services.";

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

export interface ServiceSpec {
  readonly name: string;
  readonly host: string;
  readonly containerName: string;
  readonly image: ImageSpec;
  readonly ports: readonly PortSpec[];
  readonly volumes: readonly VolumeSpec[];
  readonly binds: readonly BindSpec[];
  /** Plain env, sorted by name. */
  readonly env: Readonly<Record<string, string>>;
  /** Env name -> secret name, sorted by env name. */
  readonly secretEnv: Readonly<Record<string, string>>;
  readonly gpus?: GpuSpec;
  /** Shares its GPUs: not counted as exclusive use of the host's GPUs. */
  readonly shareGpu: boolean;
  readonly restart: (typeof RESTART_POLICIES)[number];
  readonly healthcheck?: HealthcheckSpec;
  readonly command?: readonly string[];
  readonly user?: string;
  /** User labels, sorted by key. */
  readonly labels: Readonly<Record<string, string>>;
  readonly scheme: "http" | "https";
  /** The published port that is the service's endpoint, if any. */
  readonly endpoint?: PortSpec;
  readonly stopGraceSeconds: number;
}

export interface DeploymentModel {
  readonly project: string;
  readonly stack: string;
  readonly requirePinnedImages: boolean;
  /** Sorted by name. */
  readonly hosts: readonly HostSpec[];
  /** Sorted by name. */
  readonly services: readonly ServiceSpec[];
  /** Names of the entries in the `secrets` config key (never their values). */
  readonly secretNames: readonly string[];
  /** Stacks that deploy to the same Docker hosts, checked against this one. */
  readonly sharesHostsWith: readonly string[];
}

export interface ConfigProblem {
  /** Full key path below the config namespace, for example `services.stt.ports[0].host`. */
  readonly path: string;
  readonly message: string;
}

/** Every problem in a stack's config, reported at once. */
export class StackConfigError extends Error {
  constructor(
    readonly stack: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    const lines = problems.map((p) => `  - ${p.path || "(root)"}: ${p.message}`);
    super(
      `Stack "${stack}" has ${problems.length} config problem${problems.length === 1 ? "" : "s"} ` +
        `(keys under "${CONFIG_NAMESPACE}:" in Pulumi.${stack}.yaml); nothing was deployed:\n${lines.join("\n")}`,
    );
    this.name = "StackConfigError";
  }
}

export interface BuildModelOptions {
  readonly stack: string;
  readonly project?: string;
  /** Top-level config keys (without namespace) whose values were set with --secret. */
  readonly secretKeys?: ReadonlySet<string>;
  /**
   * The stacks named in `sharesHostsWith`, already built (or the reason they could not be): their use of the
   * shared hosts is checked against this stack's.
   */
  readonly neighbours?: ReadonlyMap<string, DeploymentModel | Error>;
}

type Segment = string | number;

/** `["services", "stt", "ports", 0, "host"]` -> `services.stt.ports[0].host`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(s))) out += out ? `.${String(s)}` : String(s);
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

function valueAt(root: unknown, segments: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const s of segments) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[s];
  }
  return v;
}

/** The keys a strict object schema allows at a path, for "unknown key" messages. */
function allowedKeys(schema: z.ZodType, segments: readonly PropertyKey[]): string[] {
  let s: unknown = schema;
  const unwrap = () => {
    for (;;) {
      const def = (s as { def?: { type?: string; innerType?: unknown; in?: unknown } }).def;
      if (def?.type === "optional" || def?.type === "default" || def?.type === "nullable") s = def.innerType;
      else if (def?.type === "pipe") s = def.in;
      else return;
    }
  };
  for (const seg of segments) {
    unwrap();
    const def = (s as { def: { type: string; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown } })
      .def;
    if (def.type === "object" && def.shape) s = def.shape[String(seg)];
    else if (def.type === "array") s = def.element;
    else if (def.type === "record") s = def.valueType;
    else return [];
    if (!s) return [];
  }
  unwrap();
  const shape = (s as { def?: { shape?: Record<string, unknown> } }).def?.shape;
  return shape ? Object.keys(shape) : [];
}

function describe(value: unknown): string {
  if (value === undefined) return "";
  const json = JSON.stringify(value);
  if (json === undefined || json.length > 60 || (typeof value === "object" && value !== null)) return "";
  return ` (got ${json})`;
}

function zodProblems(
  error: z.ZodError,
  schema: z.ZodType,
  input: unknown,
  prefix: readonly Segment[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const rel = issue.path;
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeys(schema, rel);
      for (const key of issue.keys) {
        problems.push({
          path: formatPath([...prefix, ...rel, key]),
          message: `unknown key; allowed here: ${allowed.join(", ")}`,
        });
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      problems.push({ path: formatPath([...prefix, ...rel]), message: issue.issues.map((i) => i.message).join("; ") });
      continue;
    }
    const value = valueAt(input, rel);
    const message =
      value === undefined && (issue.code === "invalid_type" || issue.code === "invalid_union")
        ? `is required: ${issue.message.replace(/^Invalid input: expected (\w+), received undefined$/, "a $1")}`
        : `${issue.message}${describe(value)}`;
    problems.push({ path: formatPath([...prefix, ...rel]), message });
  }
  return problems;
}

/** Seconds in a Docker duration such as 1m30s. */
export function durationSeconds(d: string): number {
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]];
  return total;
}

/** The address clients use for a Docker host URI: ssh://agnes@10.30.11.45 -> 10.30.11.45. */
export function addressOf(dockerHost: string): string {
  const m = /^(?:ssh|tcp):\/\/(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+)/.exec(dockerHost);
  return m ? m[1] : "localhost";
}

function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

/** Docker tags allow [A-Za-z0-9_.-]; a git ref such as feature/x becomes feature-x. */
function tagSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 128);
}

function sortedRecord<T>(r: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function portsOverlap(a: { hostIp: string; protocol: string; host: number }, b: typeof a): boolean {
  const any = (ip: string) => ip === "0.0.0.0" || ip === "::";
  return a.protocol === b.protocol && a.host === b.host && (a.hostIp === b.hostIp || any(a.hostIp) || any(b.hostIp));
}

/**
 * Validate raw stack config (the object under the `gpu-services:` namespace, keys without the prefix) and turn
 * it into the deployment model. Throws `StackConfigError` listing every problem.
 */
export function buildModel(raw: unknown, options: BuildModelOptions): DeploymentModel {
  const { stack } = options;
  const project = options.project ?? CONFIG_NAMESPACE;
  const problems: ConfigProblem[] = [];
  const add = (segments: readonly PropertyKey[], message: string) =>
    problems.push({ path: formatPath(segments), message });

  const top = StackConfigSchema.safeParse(raw);
  if (!top.success) problems.push(...zodProblems(top.error, StackConfigSchema, raw, []));
  const rawObj = (raw !== null && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const requirePinned = top.success ? top.data.requirePinnedImages : rawObj.requirePinnedImages === true;
  const secrets = top.success ? top.data.secrets : {};
  const secretNames = Object.keys(secrets).sort();
  if (secretNames.length > 0 && options.secretKeys && !options.secretKeys.has("secrets")) {
    add(["secrets"], `must be set with --secret: pulumi config set --secret --path 'secrets.<name>' <value>`);
  }

  // Each host and service on its own, so one bad entry does not hide the problems of the others.
  const entries = <T>(key: "hosts" | "services", schema: z.ZodType<T>): [string, T][] => {
    const group = rawObj[key];
    if (group === null || typeof group !== "object" || Array.isArray(group)) return [];
    const out: [string, T][] = [];
    for (const [name, value] of Object.entries(group as Record<string, unknown>)) {
      const parsed = schema.safeParse(value);
      if (parsed.success) out.push([name, parsed.data]);
      else problems.push(...zodProblems(parsed.error, schema, value, [key, name]));
    }
    return out;
  };
  const hostEntries = entries<HostConfig>("hosts", HostSchema);
  const serviceEntries = entries<ServiceConfig>("services", ServiceSchema);
  const rawHostNames = Object.keys((rawObj.hosts as object | undefined) ?? {});

  const inventory = (g: NonNullable<HostConfig["gpus"]>, at: PropertyKey[]): GpuInventory => {
    if (typeof g === "number") return { count: g };
    if (g.devices) {
      if (g.devices.length !== g.count) add([...at, "devices"], `lists ${g.devices.length} devices but count is ${g.count}`);
      g.devices.forEach((d, i) => {
        if (g.devices!.findIndex((e) => e.id === d.id) < i) add([...at, "devices", i, "id"], `device "${d.id}" is listed twice`);
      });
    }
    return g.devices ? { count: g.count, devices: g.devices.map((d) => ({ ...d })) } : { count: g.count };
  };

  const hosts: HostSpec[] = hostEntries.map(([name, h]) => {
    (h.registryAuth ?? []).forEach((auth, i) => {
      if (!secretNames.includes(auth.passwordSecret)) {
        add(["hosts", name, "registryAuth", i, "passwordSecret"],
          `no secret "${auth.passwordSecret}" in secrets; set it with: pulumi config set --secret --path ` +
            `'secrets.${auth.passwordSecret}' <token>`);
      }
    });
    return {
      name,
      dockerHost: h.dockerHost,
      address: h.address ?? addressOf(h.dockerHost),
      ...(h.gpus !== undefined ? { gpus: inventory(h.gpus, ["hosts", name, "gpus"]) } : {}),
      sshOpts: h.sshOpts ?? [],
      registryAuth: (h.registryAuth ?? []).map((a) => ({ ...a })),
    };
  });

  const services: ServiceSpec[] = [];
  for (const [name, s] of serviceEntries) {
    const at = (...rest: PropertyKey[]) => ["services", name, ...rest];
    if (!rawHostNames.includes(s.host)) {
      add(at("host"), `unknown host "${s.host}"; hosts in this stack: ${rawHostNames.join(", ") || "(none)"}`);
    }

    let image: ImageSpec | undefined;
    if (s.image && s.build) {
      add(at(), "has both image and build; give exactly one (image: pull from a registry, build: build from source)");
    } else if (!s.image && !s.build) {
      add(at(), "has neither image nor build; give exactly one (image: pull from a registry, build: build from source)");
    } else if (s.image) {
      const { repository, tag, digest, track } = s.image;
      if (track && (tag === undefined || digest !== undefined)) {
        add(at("image", "track"), "follows a tag: give image.tag and no image.digest");
      } else if (track && requirePinned) {
        add(at("image", "track"), "this stack requires pinned images (requirePinnedImages): it cannot follow a " +
          "moving tag; pin a digest (npm run release) instead");
      } else if (requirePinned && !digest) {
        if (tag === undefined) {
          add(at("image", "tag"), "this stack requires pinned images (requirePinnedImages): give image.digest " +
            "(sha256:...) or a fixed tag such as sha-<commit>; no tag means latest");
        } else if ((FLOATING_TAGS as readonly string[]).includes(tag)) {
          add(at("image", "tag"), `"${tag}" is a floating tag and this stack requires pinned images ` +
            `(requirePinnedImages): give image.digest (sha256:...) or a fixed tag such as sha-<commit>`);
        }
      }
      image = {
        kind: "registry",
        repository,
        ...(tag !== undefined ? { tag } : {}),
        ...(digest !== undefined ? { digest } : {}),
        track,
        ref: digest ? `${repository}@${digest}` : `${repository}:${tag ?? "latest"}`,
      };
    } else if (s.build) {
      const b = s.build;
      const isGit = GIT_URL_RE.test(b.context);
      if (isGit) {
        if (requirePinned && !(b.ref && COMMIT_RE.test(b.ref))) {
          add(at("build", "ref"), "this stack requires pinned images (requirePinnedImages): a git build needs ref " +
            `set to a full 40-hex commit${b.ref ? ` (got "${b.ref}")` : ""}`);
        }
        if (b.dockerfile !== "Dockerfile") {
          add(at("build", "dockerfile"), "a git build uses the Dockerfile at the root of its context; to build a " +
            "subfolder, end the context URL with #<ref>:<folder>, or build from a local folder");
        }
      } else {
        if (b.context.includes("://") || b.context.startsWith("git@")) {
          add(at("build", "context"), "must be a git URL (https://host/owner/repo.git, ssh://..., git@host:owner/repo) " +
            `or a local folder (got "${b.context}")`);
        }
        if (b.ref !== undefined) add(at("build", "ref"), "applies only to a git context; a local folder has no ref");
        if (requirePinned) {
          add(at("build", "context"), "this stack requires pinned images (requirePinnedImages): build from a git URL " +
            "with ref set to a full commit, not from a local folder");
        }
      }
      image = {
        kind: "build",
        contextKind: isGit ? "git" : "local",
        context: b.context,
        ...(b.ref !== undefined ? { gitRef: b.ref } : {}),
        location: isGit && b.ref ? `${b.context}#${b.ref}` : isGit ? b.context : path.normalize(b.context),
        dockerfile: b.dockerfile,
        args: sortedRecord(b.args),
        ...(b.target !== undefined ? { target: b.target } : {}),
        noCache: b.noCache,
        localTag: `${project}/${name}:${tagSafe(b.ref ?? `${stack}-local`)}`,
      };
    }

    // Mount targets: absolute, and each used once.
    const targets = new Map<string, string>();
    const claimTarget = (target: string, segs: PropertyKey[]) => {
      if (!isAbsolute(target)) add(segs, `must be an absolute path inside the container (got "${target}")`);
      else if (targets.has(target)) add(segs, `"${target}" is already mounted by ${targets.get(target)}`);
      else targets.set(target, formatPath(segs.slice(0, -1)));
    };
    s.volumes.forEach((v, i) => claimTarget(v.target, at("volumes", i, "target")));
    s.binds.forEach((b, i) => {
      if (!isAbsolute(b.source)) add(at("binds", i, "source"), `must be an absolute path on the host (got "${b.source}")`);
      claimTarget(b.target, at("binds", i, "target"));
    });

    s.ports.forEach((p, i) => {
      s.ports.slice(0, i).forEach((q, j) => {
        if (portsOverlap(p, q)) add(at("ports", i, "host"), `host port ${p.host}/${p.protocol} is also published by ports[${j}]`);
      });
    });
    let endpoint: PortSpec | undefined;
    if (s.endpointPort !== undefined) {
      endpoint = s.ports.find((p) => p.container === s.endpointPort);
      if (!endpoint) {
        add(at("endpointPort"), `must be a container port listed in ports (listed: ${s.ports.map((p) => p.container).join(", ") || "none"})`);
      }
    } else {
      endpoint = s.ports.find((p) => p.protocol === "tcp");
    }

    for (const key of Object.keys(s.env)) {
      if (!ENV_NAME_RE.test(key)) add(at("env", key), "is not a valid env name: letters, digits and _, not starting with a digit");
    }
    for (const [key, secretName] of Object.entries(s.secretEnv)) {
      if (!ENV_NAME_RE.test(key)) add(at("secretEnv", key), "is not a valid env name: letters, digits and _, not starting with a digit");
      if (key in s.env) add(at("secretEnv", key), "is also set in env; an env name is either plain or secret");
      if (!secretNames.includes(secretName)) {
        add(at("secretEnv", key), `no secret "${secretName}" in secrets; set it with: pulumi config set --secret ` +
          `--path 'secrets.${secretName}' <value>`);
      }
    }
    for (const key of Object.keys(s.labels)) {
      if (key.startsWith(LABEL_PREFIX)) add(at("labels", key), `the "${LABEL_PREFIX}" prefix is reserved for labels this program sets`);
    }

    if (s.gpus) {
      if (s.gpus.count !== undefined && s.gpus.deviceIds !== undefined) {
        add(at("gpus"), "give either count or deviceIds, not both");
      }
    }

    let healthcheck: HealthcheckSpec | undefined;
    if (s.healthcheck) {
      const h = s.healthcheck;
      const test = typeof h.test === "string" ? ["CMD-SHELL", h.test] : h.test;
      if (!["CMD", "CMD-SHELL", "NONE"].includes(test[0])) {
        add(at("healthcheck", "test"), `a list must start with CMD, CMD-SHELL or NONE (got "${test[0]}")`);
      }
      const wait = durationSeconds(h.startPeriod) + h.retries * (durationSeconds(h.interval) + durationSeconds(h.timeout));
      healthcheck = {
        test,
        interval: h.interval,
        timeout: h.timeout,
        retries: h.retries,
        startPeriod: h.startPeriod,
        waitTimeoutSeconds: Math.ceil(wait) + 60,
      };
    }

    if (!image) continue;
    services.push({
      name,
      host: s.host,
      containerName: s.containerName ?? `${name}-${stack}`,
      image,
      ports: s.ports,
      volumes: s.volumes,
      binds: s.binds,
      env: sortedRecord(s.env),
      secretEnv: sortedRecord(s.secretEnv),
      ...(s.gpus
        ? {
            gpus: {
              ...(s.gpus.deviceIds ? { deviceIds: s.gpus.deviceIds } : { count: s.gpus.count ?? 1 }),
              capabilities: s.gpus.capabilities,
            },
          }
        : {}),
      shareGpu: s.shareGpu,
      restart: s.restart,
      ...(healthcheck ? { healthcheck } : {}),
      ...(s.command ? { command: s.command } : {}),
      ...(s.user ? { user: s.user } : {}),
      labels: sortedRecord(s.labels),
      scheme: s.scheme,
      ...(endpoint ? { endpoint } : {}),
      stopGraceSeconds: s.stopGraceSeconds,
    });
  }

  const sharesHostsWith = top.success ? top.data.sharesHostsWith : [];
  const neighbours: DeploymentModel[] = [];
  // Without a neighbours map (a neighbour being built, an old version of a file) the check is not asked for.
  sharesHostsWith.forEach((other, i) => {
    if (!options.neighbours) return;
    const n = options.neighbours.get(other);
    if (other === stack) add(["sharesHostsWith", i], "names this stack itself");
    else if (n === undefined) add(["sharesHostsWith", i], `stack "${other}" was not loaded (is there a Pulumi.${other}.yaml?)`);
    else if (n instanceof Error) add(["sharesHostsWith", i], `stack "${other}" cannot be checked against, its config is invalid: ${n.message.split("\n").slice(1, 2).join("").trim()}`);
    else neighbours.push(n);
  });
  checkPerHost(hosts, services, neighbours, add);

  if (problems.length > 0) throw new StackConfigError(stack, problems);
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    project,
    stack,
    requirePinnedImages: requirePinned,
    hosts: hosts.sort(byName),
    services: services.sort(byName),
    secretNames,
    sharesHostsWith,
  };
}

/** A service as seen on a Docker host: this stack's, or a neighbour stack's. */
interface Placed {
  readonly stack?: string;
  readonly service: ServiceSpec;
  /** The Docker host URI: two stacks share a host when they reach the same daemon. */
  readonly daemon: string;
  readonly hostName: string;
}

/** GPUs a request asks for on a host with `count` GPUs. */
function gpusAsked(g: GpuSpec, count: number): number {
  return g.deviceIds ? g.deviceIds.length : g.count === "all" ? count : (g.count as number);
}

/** Exclusive GPUs a service takes on a host with `count` GPUs. */
function gpusTaken(s: ServiceSpec, count: number): number {
  return !s.gpus || s.shareGpu ? 0 : gpusAsked(s.gpus, count);
}

/**
 * Rules across the services of one host, in this stack and in the neighbour stacks on the same daemon: host
 * ports, container names, managed volume names, GPU count and device IDs. Problems are reported on this
 * stack's keys only.
 */
function checkPerHost(
  hosts: readonly HostSpec[],
  services: readonly ServiceSpec[],
  neighbours: readonly DeploymentModel[],
  add: (segments: readonly PropertyKey[], message: string) => void,
): void {
  const daemonOf = new Map(hosts.map((h) => [h.name, h.dockerHost]));
  const placed: Placed[] = [];
  for (const n of neighbours) {
    const theirs = new Map(n.hosts.map((h) => [h.name, h.dockerHost]));
    for (const s of n.services) placed.push({ stack: n.stack, service: s, daemon: theirs.get(s.host)!, hostName: s.host });
  }
  const ours: Placed[] = services
    .filter((s) => daemonOf.has(s.host))
    .map((s) => ({ service: s, daemon: daemonOf.get(s.host)!, hostName: s.host }));
  const where = (p: Placed, rest: string) => (p.stack ? `stack "${p.stack}" (services.${p.service.name}${rest})` : `services.${p.service.name}${rest}`);
  const onHost = (h: string, d: string) => `host "${h}"${d.startsWith("unix:") ? "" : ` (${d})`}`;

  // Neighbours first, so this stack's services are the ones reported.
  const seen: Placed[] = [...placed];
  for (const p of ours) {
    const s = p.service;
    const here = seen.filter((o) => o.daemon === p.daemon);
    s.ports.forEach((port, index) => {
      for (const o of here) {
        const j = o.service.ports.findIndex((q) => portsOverlap(q, port));
        if (j >= 0) {
          add(["services", s.name, "ports", index, "host"],
            `host port ${port.host}/${port.protocol} on ${onHost(p.hostName, p.daemon)} is already published by ${where(o, `.ports[${j}]`)}`);
          break;
        }
      }
    });
    const sameName = here.find((o) => o.service.containerName === s.containerName);
    if (sameName) {
      add(["services", s.name, "containerName"],
        `container name "${s.containerName}" on ${onHost(p.hostName, p.daemon)} is already used by ${where(sameName, "")}`);
    }
    s.volumes.forEach((v, i) => {
      if (v.external) return;
      for (const o of here) {
        const j = o.service.volumes.findIndex((w) => !w.external && w.name === v.name);
        if (j >= 0) {
          add(["services", s.name, "volumes", i, "name"],
            `volume "${v.name}" on ${onHost(p.hostName, p.daemon)} is already managed by ${where(o, `.volumes[${j}]`)}; ` +
              "mark the second use external: true to share it");
          break;
        }
      }
    });
    seen.push(p);
  }

  for (const h of hosts) {
    const all = [...placed, ...ours].filter((p) => p.daemon === h.dockerHost && p.service.gpus);
    const mine = all.filter((p) => !p.stack && p.hostName === h.name);
    if (mine.length === 0) continue;
    const label = (p: Placed) => (p.stack ? `${p.stack}/${p.service.name}` : p.service.name);
    // Device IDs: declared on the host, and used by one non-sharing service at a time.
    const devices = h.gpus?.devices?.map((d) => d.id);
    for (const p of mine) {
      (p.service.gpus!.deviceIds ?? []).forEach((id, i) => {
        if (devices && !devices.includes(id)) {
          add(["services", p.service.name, "gpus", "deviceIds", i],
            `host "${h.name}" has no GPU "${id}" (hosts.${h.name}.gpus.devices: ${devices.join(", ")})`);
        }
        if (p.service.shareGpu) return;
        // Reported on the later of two users: neighbours come first in `all`.
        const other = all.slice(0, all.indexOf(p)).find((o) => !o.service.shareGpu && o.service.gpus!.deviceIds?.includes(id));
        if (other) {
          add(["services", p.service.name, "gpus", "deviceIds", i],
            `GPU "${id}" on host "${h.name}" is already used by ${label(other)}; set shareGpu: true on both to share it`);
        }
      });
    }
    if (h.gpus === undefined) continue;
    const count = h.gpus.count;
    const taken = all.reduce((n, p) => n + gpusTaken(p.service, count), 0);
    const overAsked = taken > count;
    for (const p of mine) {
      const asked = gpusAsked(p.service.gpus!, count);
      if (asked > count || count === 0) {
        add(["services", p.service.name, "gpus"],
          `asks for ${asked} GPU${asked === 1 ? "" : "s"} but host "${h.name}" has ${count} (hosts.${h.name}.gpus)`);
      } else if (overAsked && !p.service.shareGpu) {
        const users = all.filter((o) => gpusTaken(o.service, count) > 0).map(label);
        add(["services", p.service.name, "gpus"],
          `host "${h.name}" has ${count} GPU${count === 1 ? "" : "s"} (hosts.${h.name}.gpus) but ${users.join(", ")} ` +
            `ask for ${taken}; set shareGpu: true on services that may share`);
      }
    }
  }
}
