/**
 * Docker Compose file -> `services` stack config. The file is read as compose reads it (load.ts: merge keys,
 * interpolation, .env, extends, profiles); each service is then carried over key by key. Every key it cannot
 * carry over is named in a warning, never dropped silently; a value of the wrong shape is an error naming its
 * compose key path. Named volumes become `external` references to the names Docker gave them, env values that
 * look secret become `secretEnv` references (their values are never written).
 *
 * Pure: no Docker, no Pulumi. Errors are `ComposeError`s naming the compose key path.
 */
import * as os from "node:os";
import * as path from "node:path";
import { CONFIG_NAMESPACE } from "../stackConfig";
import { SERVICE_NAME_RE, durationSeconds, IPC_MODES, LABEL_PREFIX, SECRET_ENV_NAME, secretNameFor } from "../formats";
import { ComposeError, isMap, listToMap, loadCompose, readEnvFile, type ComposeMap, type LoadOptions } from "./load";
import * as fs from "node:fs";

export { ComposeError } from "./load";

export interface ImportOptions extends LoadOptions {
  /** Host (a key of `hosts` in the stack) the services run on. */
  readonly host: string;
  /** Compose service name -> service name in the stack. */
  readonly rename?: Readonly<Record<string, string>>;
  /** Only these compose services, whatever their profiles (default: what `docker compose up` starts). */
  readonly only?: readonly string[];
}

export interface ImportedService {
  /** The compose service it came from. */
  readonly composeName: string;
  /** The container name compose gave it (for adoption). */
  readonly composeContainer: string;
  /** Stack config of the service (`services.<name>`). */
  readonly config: Record<string, unknown>;
}

/** A value that looked secret: moved to `secrets.<name>` (to be set by hand), referenced by `secretEnv`. */
export interface ImportedSecret {
  readonly name: string;
  /** Where the value is in the compose input, for the person who sets it. */
  readonly from: string;
  readonly env: string;
  readonly service: string;
  /** The value, in memory only: never written, never printed (the CLI prints where it is, `from`). */
  readonly value: string;
}

export interface ImportResult {
  /** Compose project name: top-level `name:`, else the compose file's folder. */
  readonly project: string;
  readonly services: Record<string, ImportedService>;
  /** Secret values to set with `pulumi config set --secret --path 'gpu-services:secrets.<name>' …`. */
  readonly secrets: ImportedSecret[];
  /** Services `docker compose up` would not start (their profiles were not asked for). */
  readonly skipped: Record<string, string[]>;
  /** Keys not carried over, each as `<compose path>: <why>`. */
  readonly warnings: string[];
}

const CARRIED = new Set([
  "image",
  "build",
  "ports",
  "volumes",
  "environment",
  "env_file",
  "healthcheck",
  "restart",
  "deploy",
  "gpus",
  "command",
  "entrypoint",
  "user",
  "labels",
  "container_name",
  "stop_grace_period",
  "shm_size",
  "ipc",
  "ulimits",
  "profiles",
  "extends",
]);

/** Split a compose string command like a shell would (quotes, backslashes), without running a shell. */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: '"' | "'" | undefined;
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quote) throw new ComposeError(`unterminated ${quote} quote in command: ${s}`);
  if (has || cur) out.push(cur);
  return out;
}

/** `ghcr.io/owner/name:tag@sha256:…` -> parts. */
export function parseImageRef(ref: string): { repository: string; tag?: string; digest?: string } {
  const [nameTag, digest] = ref.split("@");
  const m = /^(.*?)(?::([^/:]+))?$/.exec(nameTag)!;
  return { repository: m[1], ...(m[2] ? { tag: m[2] } : {}), ...(digest ? { digest } : {}) };
}

const describeValue = (value: unknown) =>
  value === null
    ? "null"
    : Array.isArray(value)
      ? "a list"
      : typeof value === "object"
        ? "a map"
        : `${typeof value} ${JSON.stringify(value)}`;

function shapeError(at: string, expected: string, value: unknown): ComposeError {
  return new ComposeError(`${at}: must be ${expected} (got ${describeValue(value)})`);
}

const isScalar = (value: unknown) => ["string", "number", "boolean"].includes(typeof value);

/** A list, or an error naming the key. */
function list(value: unknown, at: string, what: string): unknown[] {
  if (!Array.isArray(value)) throw shapeError(at, what, value);
  return value;
}

function map(value: unknown, at: string, what = "a map"): ComposeMap {
  if (!isMap(value)) throw shapeError(at, what, value);
  return value;
}

/** A command or entrypoint: a list as it is, a string split as a shell would. */
function argv(value: unknown, at: string): string[] {
  if (typeof value === "string") return splitCommand(value);
  return list(value, at, "a list of arguments or a string").map((arg, i) => {
    if (!isScalar(arg)) throw shapeError(`${at}[${i}]`, "a string", arg);
    return String(arg);
  });
}

/**
 * environment, labels or build args: a list of KEY=value or a map. An environment variable without a value comes
 * from the shell running compose; a label without one is empty.
 */
function keyValues(
  value: unknown,
  at: string,
  shell: Readonly<Record<string, string | undefined>>,
  warnings: string[],
  bare: "from-shell" | "empty" = "from-shell",
) {
  if (value === undefined || value === null) return {};
  let entries: ComposeMap;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (!isScalar(item)) throw shapeError(`${at}[${i}]`, "KEY=value", item);
    });
    entries = listToMap(value);
  } else entries = map(value, at, "a list of KEY=value or a map");
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(entries)) {
    if ((item === null || item === undefined) && bare === "empty") {
      out[key] = "";
      continue;
    }
    if (item === null || item === undefined) {
      const fromShell = shell[key];
      if (fromShell !== undefined) out[key] = fromShell;
      else
        warnings.push(
          `${at}.${key}: takes its value from the shell running compose, where it is not set; not carried over`,
        );
      continue;
    }
    if (!isScalar(item)) throw shapeError(`${at}.${key}`, "a string, number or boolean", item);
    out[key] = String(item);
  }
  return out;
}

/** `env_file`: a path or a list of paths or {path, required}; values in file order, later files winning. */
function envFiles(value: unknown, at: string, composeDir: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  const entries = typeof value === "string" ? [value] : list(value, at, "a path or a list of paths");
  const out: Record<string, string> = {};
  entries.forEach((entry, i) => {
    const where = `${at}${typeof value === "string" ? "" : `[${i}]`}`;
    const spec = typeof entry === "string" ? { path: entry, required: true } : isMap(entry) ? entry : undefined;
    if (!spec || typeof spec.path !== "string") throw shapeError(where, "a path or {path, required}", entry);
    const file = path.resolve(composeDir, spec.path);
    if (!fs.existsSync(file)) {
      if (spec.required === false) return;
      throw new ComposeError(`${where}: env file ${file} does not exist`);
    }
    Object.assign(out, readEnvFile(file, where));
  });
  return out;
}

function parsePort(p: unknown, at: string, warnings: string[]): Record<string, unknown> | undefined {
  if (isMap(p)) {
    for (const k of Object.keys(p)) {
      if (!["target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"].includes(k)) {
        warnings.push(`${at}.${k}: not carried over`);
      }
    }
    if (p.target === undefined) throw new ComposeError(`${at}: a port in long syntax needs target`);
    if (p.published === undefined || p.published === "") {
      warnings.push(`${at}: no published port (Docker would pick a random one); not carried over`);
      return undefined;
    }
    const published = Number(String(p.published));
    if (!Number.isInteger(published)) {
      warnings.push(`${at}: published port range "${String(p.published)}" is not supported; not carried over`);
      return undefined;
    }
    return {
      host: published,
      container: Number(p.target),
      ...(p.protocol && p.protocol !== "tcp" ? { protocol: p.protocol } : {}),
      ...(p.host_ip && p.host_ip !== "0.0.0.0" ? { hostIp: p.host_ip } : {}),
    };
  }
  if (!isScalar(p)) throw shapeError(at, "a port such as 8080:80 or {target, published}", p);
  const s = String(p);
  const m = /^(?:(\[[^\]]+\]|\d+\.\d+\.\d+\.\d+):)?(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(s);
  if (!m) {
    warnings.push(`${at}: "${s}" (ranges or an unknown form) is not supported; not carried over`);
    return undefined;
  }
  const [, ip, host, container, protocol] = m;
  if (!host) {
    warnings.push(`${at}: "${s}" publishes on a random host port; not carried over`);
    return undefined;
  }
  return {
    host: Number(host),
    container: Number(container),
    ...(protocol && protocol !== "tcp" ? { protocol } : {}),
    ...(ip && ip !== "0.0.0.0" ? { hostIp: ip.replace(/^\[|\]$/g, "") } : {}),
  };
}

/** A path inside the container as compose writes it: `/tmp/images/` -> `/tmp/images`. */
function containerPath(target: string): string {
  const clean = path.posix.normalize(target);
  return clean.length > 1 ? clean.replace(/\/$/, "") : clean;
}

/** The GPU request of one nvidia device reservation (`deploy…devices[]` or `gpus:`). */
function gpuRequest(d: ComposeMap, where: string): Record<string, unknown> {
  if (d.count !== undefined && d.device_ids !== undefined)
    throw new ComposeError(`${where}: count and device_ids conflict`);
  if (d.capabilities !== undefined && !Array.isArray(d.capabilities)) {
    throw shapeError(`${where}.capabilities`, "a list such as [gpu]", d.capabilities);
  }
  if (d.device_ids !== undefined && !Array.isArray(d.device_ids)) {
    throw shapeError(`${where}.device_ids`, "a list of device IDs", d.device_ids);
  }
  const count =
    d.count === undefined ? undefined : String(d.count) === "all" || d.count === -1 ? "all" : Number(d.count);
  if (typeof count === "number" && (!Number.isInteger(count) || count < 1)) {
    throw shapeError(`${where}.count`, 'a whole number of at least 1, or "all"', d.count);
  }
  return {
    ...(d.device_ids ? { deviceIds: (d.device_ids as unknown[]).map(String) } : { count: count ?? "all" }),
    ...(d.capabilities ? { capabilities: (d.capabilities as unknown[]).map(String) } : {}),
  };
}

/** What carrying one service over shares: its compose key path, its folder, the shell's variables, the warnings. */
interface ServiceScope {
  /** `services.<compose name>`. */
  readonly at: string;
  readonly composeDir: string;
  readonly shell: Readonly<Record<string, string | undefined>>;
  readonly warnings: string[];
}

/** Names the file's mounts resolve to, as compose gives them. */
interface MountNames {
  /** The Docker name of a named volume. */
  readonly volumeName: (key: string, at: string) => string;
  /** The absolute host folder of a bind. */
  readonly bindSource: (source: string, at: string) => string;
}

/** The secrets found so far across the file's services: one `secrets` entry per distinct value. */
interface FoundSecrets {
  readonly list: ImportedSecret[];
  readonly values: Map<string, string>;
}

/** `build` (with `image:` as its extra tag) or `image`. */
function imageConfig(svc: ComposeMap, { at, composeDir, shell, warnings }: ServiceScope): Record<string, unknown> {
  if (svc.build !== undefined) {
    const b = typeof svc.build === "string" ? { context: svc.build } : map(svc.build, `${at}.build`, "a path or a map");
    for (const k of Object.keys(b)) {
      if (!["context", "dockerfile", "args", "target", "no_cache"].includes(k))
        warnings.push(`${at}.build.${k}: not carried over`);
    }
    const context = String(b.context ?? ".");
    const isUrl = /^(https?:\/\/|ssh:\/\/|git:\/\/|git@)/.test(context);
    // A git URL may carry its ref after #: the stack keeps them apart.
    const [url, ref] = isUrl ? context.split("#") : [context, undefined];
    const build: Record<string, unknown> = { context: isUrl ? url : path.resolve(composeDir, context) };
    if (ref) build.ref = ref;
    if (b.dockerfile && b.dockerfile !== "Dockerfile") build.dockerfile = String(b.dockerfile);
    const args = keyValues(b.args, `${at}.build.args`, shell, warnings);
    if (Object.keys(args).length > 0) build.args = args;
    if (b.target) build.target = String(b.target);
    if (b.no_cache === true) build.noCache = true;
    // compose tags the build with `image:`; a name in this program's namespace is the one it gives builds anyway.
    if (svc.image !== undefined && !String(svc.image).startsWith(`${CONFIG_NAMESPACE}/`)) build.tag = String(svc.image);
    if (!isUrl) {
      warnings.push(
        `${at}.build.context: ${String(build.context)} is a folder on this machine; to build on the server from ` +
          "source, set build.context to the repository's git URL and pin a commit with npm run release",
      );
    }
    return { build };
  }
  if (svc.image !== undefined) {
    if (!isScalar(svc.image)) throw shapeError(`${at}.image`, "an image name", svc.image);
    return { image: parseImageRef(String(svc.image)) };
  }
  throw new ComposeError(`${at}: has neither image nor build`);
}

/** The published ports (those with a fixed host port). */
function portsConfig(svc: ComposeMap, { at, warnings }: ServiceScope): Record<string, unknown> {
  if (svc.ports === undefined) return {};
  if (svc.network_mode === "host") {
    throw new ComposeError(`${at}: ports and network_mode: host conflict (host networking publishes nothing)`);
  }
  const ports = list(svc.ports, `${at}.ports`, "a list of ports")
    .map((p, i) => parsePort(p, `${at}.ports[${i}]`, warnings))
    .filter((p) => p !== undefined);
  return ports.length > 0 ? { ports } : {};
}

/** Named volumes (as external references to their Docker names) and binds. */
function mountsConfig(svc: ComposeMap, { at, warnings }: ServiceScope, names: MountNames): Record<string, unknown> {
  const volumes: Record<string, unknown>[] = [];
  const binds: Record<string, unknown>[] = [];
  if (svc.volumes !== undefined) {
    list(svc.volumes, `${at}.volumes`, "a list of mounts").forEach((v, i) => {
      const where = `${at}.volumes[${i}]`;
      let type: string;
      let source: string | undefined;
      let target: string;
      let readOnly = false;
      if (isMap(v)) {
        type = String(v.type ?? "volume");
        if (v.target === undefined) throw new ComposeError(`${where}: a mount in long syntax needs target`);
        if (type === "bind" && (v.source === undefined || v.source === "")) {
          throw new ComposeError(`${where}: a bind mount needs source (the host folder)`);
        }
        source = v.source === undefined ? undefined : String(v.source);
        target = containerPath(String(v.target));
        readOnly = v.read_only === true;
        for (const k of Object.keys(v)) {
          if (!["type", "source", "target", "read_only", "bind", "volume"].includes(k))
            warnings.push(`${where}.${k}: not carried over`);
        }
      } else if (isScalar(v)) {
        const parts = String(v).split(":");
        if (parts.length === 1) {
          type = "volume";
          target = containerPath(parts[0]);
        } else {
          source = parts[0];
          target = containerPath(parts[1]);
          readOnly = (parts[2] ?? "").split(",").includes("ro");
          type = /^[./~]/.test(source) ? "bind" : "volume";
        }
      } else {
        throw shapeError(where, "a mount such as data:/data or {type, source, target}", v);
      }
      if (type === "tmpfs" || (type === "volume" && (source === undefined || source === ""))) {
        warnings.push(
          `${where}: ${type === "tmpfs" ? "tmpfs" : "an anonymous volume"} on ${target} is not carried over (its data does not outlive the container anyway)`,
        );
        return;
      }
      if (type === "bind")
        binds.push({ source: names.bindSource(source!, where), target, ...(readOnly ? { readOnly: true } : {}) });
      else if (type === "volume") {
        volumes.push({
          name: names.volumeName(source!, where),
          target,
          external: true,
          ...(readOnly ? { readOnly: true } : {}),
        });
      } else warnings.push(`${where}: a ${type} mount is not carried over`);
    });
  }
  return { ...(volumes.length > 0 ? { volumes } : {}), ...(binds.length > 0 ? { binds } : {}) };
}

/** `env_file` then `environment` over it, as compose does; values that look secret go to `secretEnv`. */
function envConfig(svc: ComposeMap, scope: ServiceScope, name: string, found: FoundSecrets): Record<string, unknown> {
  const { at, composeDir, shell, warnings } = scope;
  const env = {
    ...envFiles(svc.env_file, `${at}.env_file`, composeDir),
    ...keyValues(svc.environment, `${at}.environment`, shell, warnings),
  };
  const plain: Record<string, string> = {};
  const secretEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!SECRET_ENV_NAME.test(key)) {
      plain[key] = value;
      continue;
    }
    let secretName = secretNameFor(key);
    if (found.values.has(secretName) && found.values.get(secretName) !== value)
      secretName = secretNameFor(`${name}_${key}`);
    if (!found.values.has(secretName)) {
      found.values.set(secretName, value);
      found.list.push({ name: secretName, from: `${at}.environment.${key}`, env: key, service: name, value });
    }
    secretEnv[key] = secretName;
  }
  return {
    ...(Object.keys(plain).length > 0 ? { env: plain } : {}),
    ...(Object.keys(secretEnv).length > 0 ? { secretEnv } : {}),
  };
}

/** The healthcheck, when it names its test (or is disabled). */
function healthcheckConfig(svc: ComposeMap, { at, warnings }: ServiceScope): Record<string, unknown> {
  if (svc.healthcheck === undefined) return {};
  const h = map(svc.healthcheck, `${at}.healthcheck`);
  if (h.disable === true && h.test !== undefined)
    throw new ComposeError(`${at}.healthcheck: disable: true and test conflict`);
  for (const k of Object.keys(h)) {
    if (!["test", "interval", "timeout", "retries", "start_period", "disable"].includes(k)) {
      warnings.push(`${at}.healthcheck.${k}: not carried over`);
    }
  }
  if (h.test !== undefined && typeof h.test !== "string" && !Array.isArray(h.test)) {
    throw shapeError(`${at}.healthcheck.test`, "a list such as [CMD, curl, -f, …] or a string", h.test);
  }
  if (h.disable === true) return { healthcheck: { test: ["NONE"] } };
  if (h.test === undefined) {
    warnings.push(
      `${at}.healthcheck: has no test, so compose keeps the image's HEALTHCHECK test with these timings; ` +
        "not carried over (a stack healthcheck names its test)",
    );
    return {};
  }
  return {
    healthcheck: {
      test: typeof h.test === "string" ? h.test : (h.test as unknown[]).map(String),
      ...(h.interval !== undefined ? { interval: String(h.interval) } : {}),
      ...(h.timeout !== undefined ? { timeout: String(h.timeout) } : {}),
      ...(h.retries !== undefined ? { retries: Number(h.retries) } : {}),
      ...(h.start_period !== undefined ? { startPeriod: String(h.start_period) } : {}),
    },
  };
}

/** The restart policy: compose's default is no (the stack's default would be unless-stopped). */
function restartConfig(svc: ComposeMap, { at, warnings }: ServiceScope): Record<string, unknown> {
  if (svc.restart === undefined) return { restart: "no" };
  const [policy, retries] = String(svc.restart).split(":");
  if (retries) warnings.push(`${at}.restart: the retry limit ${retries} is not carried over`);
  return { restart: policy };
}

/** The one NVIDIA device request, from `deploy.resources.reservations.devices` or `gpus:`. */
function gpusConfig(svc: ComposeMap, { at, warnings }: ServiceScope): Record<string, unknown> {
  let gpus: Record<string, unknown> | undefined;
  if (svc.deploy !== undefined) {
    const deploy = map(svc.deploy, `${at}.deploy`);
    for (const k of Object.keys(deploy)) if (k !== "resources") warnings.push(`${at}.deploy.${k}: not carried over`);
    const resources = deploy.resources === undefined ? {} : map(deploy.resources, `${at}.deploy.resources`);
    for (const k of Object.keys(resources))
      if (k !== "reservations") warnings.push(`${at}.deploy.resources.${k}: not carried over`);
    const reservations =
      resources.reservations === undefined ? {} : map(resources.reservations, `${at}.deploy.resources.reservations`);
    for (const k of Object.keys(reservations)) {
      if (k !== "devices") warnings.push(`${at}.deploy.resources.reservations.${k}: not carried over`);
    }
    const devicesAt = `${at}.deploy.resources.reservations.devices`;
    const devices =
      reservations.devices === undefined ? [] : list(reservations.devices, devicesAt, "a list of device requests");
    devices.forEach((entry, i) => {
      const where = `${devicesAt}[${i}]`;
      const d = map(entry, where, "a device request such as {driver: nvidia, count: 1, capabilities: [gpu]}");
      if (d.driver !== undefined && d.driver !== "nvidia") {
        warnings.push(`${where}: driver "${String(d.driver)}" is not carried over (only nvidia)`);
        return;
      }
      const request = gpuRequest(d, where);
      if (gpus) warnings.push(`${where}: a second device request is not carried over`);
      else gpus = request;
    });
  }
  if (svc.gpus !== undefined) {
    if (gpus) warnings.push(`${at}.gpus: a second device request is not carried over`);
    else if (svc.gpus === "all") gpus = { count: "all" };
    else {
      const requests = list(svc.gpus, `${at}.gpus`, '"all" or a list of device requests');
      gpus = gpuRequest(map(requests[0], `${at}.gpus[0]`), `${at}.gpus[0]`);
      if (requests.length > 1) warnings.push(`${at}.gpus[1]: a second device request is not carried over`);
    }
  }
  return gpus ? { gpus } : {};
}

/** How the container runs: command, entrypoint, user, stop grace period, /dev/shm, IPC namespace, ulimits. */
function runtimeConfig(svc: ComposeMap, { at, warnings }: ServiceScope): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (svc.command !== undefined && svc.command !== null) config.command = argv(svc.command, `${at}.command`);
  if (svc.entrypoint !== undefined && svc.entrypoint !== null) {
    const entrypoint = argv(svc.entrypoint, `${at}.entrypoint`);
    if (entrypoint.length > 0) config.entrypoint = entrypoint;
    else warnings.push(`${at}.entrypoint: an empty entrypoint (clearing the image's) is not carried over`);
  }
  if (svc.user !== undefined) config.user = String(svc.user);
  if (svc.stop_grace_period !== undefined) {
    config.stopGraceSeconds = Math.round(durationSeconds(String(svc.stop_grace_period)));
  }
  if (svc.shm_size !== undefined) {
    if (!isScalar(svc.shm_size)) throw shapeError(`${at}.shm_size`, "a size such as 16g", svc.shm_size);
    config.shmSize = typeof svc.shm_size === "number" ? svc.shm_size : String(svc.shm_size);
  }
  if (svc.ipc !== undefined) {
    const ipc = String(svc.ipc);
    if ((IPC_MODES as readonly string[]).includes(ipc)) config.ipc = ipc;
    else warnings.push(`${at}.ipc: "${ipc}" (another container's IPC namespace) is not carried over`);
  }
  if (svc.ulimits !== undefined) {
    const ulimits: Record<string, unknown> = {};
    for (const [limit, value] of Object.entries(map(svc.ulimits, `${at}.ulimits`, "a map such as {memlock: -1}"))) {
      const where = `${at}.ulimits.${limit}`;
      if (typeof value === "number" || (typeof value === "string" && /^-?\d+$/.test(value)))
        ulimits[limit] = Number(value);
      else if (isMap(value) && value.soft !== undefined && value.hard !== undefined) {
        ulimits[limit] = { soft: Number(value.soft), hard: Number(value.hard) };
      } else throw shapeError(where, "a number or {soft, hard}", value);
    }
    if (Object.keys(ulimits).length > 0) config.ulimits = ulimits;
  }
  return config;
}

/** The user's labels, without this program's own (it sets them itself). */
function labelsConfig(svc: ComposeMap, { at, shell, warnings }: ServiceScope): Record<string, unknown> {
  if (svc.labels === undefined) return {};
  const labels = keyValues(svc.labels, `${at}.labels`, shell, warnings, "empty");
  for (const k of Object.keys(labels).filter((key) => key.startsWith(LABEL_PREFIX))) delete labels[k];
  return Object.keys(labels).length > 0 ? { labels } : {};
}

/** Read a compose file's text; `options.composeDir` names the folder it lives in. */
export function importCompose(text: string, options: ImportOptions): ImportResult {
  const shell = options.environment ?? {};
  const loaded = loadCompose(text, { ...options, ...(options.only ? { services: options.only } : {}) });
  const warnings = [...loaded.warnings];
  for (const key of loaded.otherTopLevel) warnings.push(`${key}: top-level key not carried over`);
  const { project } = loaded;

  const home = shell.HOME ?? os.homedir();
  const names: MountNames = {
    volumeName: (key, at) => {
      if (!(key in loaded.volumes)) {
        warnings.push(
          `${at}: named volume "${key}" is not declared under the top-level volumes (docker compose v2 refuses ` +
            `that); taken as compose would name it, ${project}_${key}`,
        );
      }
      const v = loaded.volumes[key] ?? {};
      const external = v.external;
      if (typeof v.name === "string" && v.name) return v.name;
      if (isMap(external) && typeof external.name === "string") return external.name;
      if (external === true) return key;
      return `${project}_${key}`;
    },
    bindSource: (source, at) => {
      if (source.startsWith("~")) {
        warnings.push(`${at}: "~" is the home folder of the user running compose; taken as ${home}`);
        return path.join(home, source.slice(1));
      }
      return path.resolve(options.composeDir, source);
    },
  };

  const found: FoundSecrets = { list: [], values: new Map() };
  const services: Record<string, ImportedService> = {};
  for (const [composeName, svc] of Object.entries(loaded.services)) {
    const at = `services.${composeName}`;
    const name = options.rename?.[composeName] ?? composeName;
    if (!SERVICE_NAME_RE.test(name)) {
      throw new ComposeError(
        `${at}: "${name}" cannot be a service name here (lowercase letters, digits, -); rename it with --rename ${composeName}=<name>`,
      );
    }
    for (const key of Object.keys(svc)) {
      if (!CARRIED.has(key) && !key.startsWith("x-")) warnings.push(`${at}.${key}: not carried over`);
    }
    const scope: ServiceScope = { at, composeDir: options.composeDir, shell, warnings };
    // In the order the stack file lists them (and the warnings come in).
    const config: Record<string, unknown> = {
      host: options.host,
      ...(svc.container_name !== undefined ? { containerName: String(svc.container_name) } : {}),
      ...imageConfig(svc, scope),
      ...portsConfig(svc, scope),
      ...mountsConfig(svc, scope, names),
      ...envConfig(svc, scope, name, found),
      ...healthcheckConfig(svc, scope),
      ...restartConfig(svc, scope),
      ...gpusConfig(svc, scope),
      ...runtimeConfig(svc, scope),
      ...labelsConfig(svc, scope),
    };
    services[name] = {
      composeName,
      composeContainer: svc.container_name ? String(svc.container_name) : `${project}-${composeName}-1`,
      config,
    };
  }
  return { project, services, secrets: found.list, skipped: loaded.skipped, warnings };
}
