/**
 * Docker Compose file -> `services` stack config. Carries over what the Dockge stacks use and its common
 * variants; every key it cannot carry over is named in a warning, never dropped silently. Named volumes become
 * `external` references to the names Docker gave them (`<project>_<volume>`), so no data is left behind.
 *
 * Pure: no Docker, no Pulumi. Errors are `ComposeError`s naming the compose key path.
 */
import * as path from "node:path";
import { isMap, parseDocument } from "yaml";
import { durationSeconds } from "../config/serviceSpec";
import { LABEL_PREFIX } from "../config/specs";

export class ComposeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ComposeError";
  }
}

export interface ImportOptions {
  /** Folder of the compose file: relative build contexts and bind sources resolve against it. */
  readonly composeDir: string;
  /** Host (a key of `hosts` in the stack) the services run on. */
  readonly host: string;
  /** Compose service name -> service name in the stack. */
  readonly rename?: Readonly<Record<string, string>>;
  /** Only these compose services (default all). */
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

export interface ImportResult {
  /** Compose project name: top-level `name:`, else the compose file's folder. */
  readonly project: string;
  readonly services: Record<string, ImportedService>;
  /** Keys not carried over, each as `<compose path>: <why>`. */
  readonly warnings: string[];
}

const SERVICE_KEYS = new Set([
  "image",
  "build",
  "ports",
  "volumes",
  "environment",
  "healthcheck",
  "restart",
  "deploy",
  "command",
  "user",
  "labels",
  "container_name",
  "stop_grace_period",
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

/** Compose durations (`30s`, `1m30s`, `1h`) are already Docker's. */
const duration = (v: unknown) => String(v);

function kv(list: unknown, where: string, warnings: string[]): Record<string, string> {
  if (list === undefined || list === null) return {};
  if (Array.isArray(list)) {
    const out: Record<string, string> = {};
    for (const item of list) {
      const s = String(item);
      const eq = s.indexOf("=");
      if (eq < 0) {
        warnings.push(
          `${where}: "${s}" takes its value from the shell running compose; not carried over, set it in the stack`,
        );
        continue;
      }
      out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }
  if (typeof list === "object") {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(list as Record<string, unknown>)) {
      if (v === null || v === undefined) {
        warnings.push(
          `${where}.${k}: takes its value from the shell running compose; not carried over, set it in the stack`,
        );
        continue;
      }
      out[k] = String(v);
    }
    return out;
  }
  throw new ComposeError(`${where}: must be a list of KEY=value or a map`);
}

function parsePort(p: unknown, where: string, warnings: string[]): Record<string, unknown> | undefined {
  if (typeof p === "object" && p !== null) {
    const o = p as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!["target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"].includes(k)) {
        warnings.push(`${where}.${k}: not carried over`);
      }
    }
    if (o.published === undefined) {
      warnings.push(`${where}: no published port (Docker would pick a random one); not carried over`);
      return undefined;
    }
    const published = Number(String(o.published));
    if (!Number.isInteger(published)) {
      warnings.push(`${where}: published port range "${o.published}" is not supported; not carried over`);
      return undefined;
    }
    return {
      host: published,
      container: Number(o.target),
      ...(o.protocol && o.protocol !== "tcp" ? { protocol: o.protocol } : {}),
      ...(o.host_ip && o.host_ip !== "0.0.0.0" ? { hostIp: o.host_ip } : {}),
    };
  }
  const s = String(p);
  const m = /^(?:(\[[^\]]+\]|\d+\.\d+\.\d+\.\d+):)?(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(s);
  if (!m) {
    warnings.push(`${where}: "${s}" (ranges or an unknown form) is not supported; not carried over`);
    return undefined;
  }
  const [, ip, host, container, protocol] = m;
  if (!host) {
    warnings.push(`${where}: "${s}" publishes on a random host port; not carried over`);
    return undefined;
  }
  return {
    host: Number(host),
    container: Number(container),
    ...(protocol && protocol !== "tcp" ? { protocol } : {}),
    ...(ip && ip !== "0.0.0.0" ? { hostIp: ip.replace(/^\[|\]$/g, "") } : {}),
  };
}

/**
 * Read a compose file's text. `fileDir` names the folder the file lives in (project name and relative paths).
 */
export function importCompose(text: string, options: ImportOptions): ImportResult {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ComposeError(`not valid YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
  }
  const root = doc.toJS() as Record<string, any> | null;
  if (!root || typeof root !== "object" || !isMap(doc.contents))
    throw new ComposeError("not a compose file: expected a map at the top");
  if (!root.services || typeof root.services !== "object") throw new ComposeError("not a compose file: no services");

  const warnings: string[] = [];
  const project = String(root.name ?? path.basename(options.composeDir))
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "");
  for (const key of Object.keys(root)) {
    if (!["services", "volumes", "name", "version"].includes(key))
      warnings.push(`${key}: top-level key not carried over`);
  }
  const topVolumes = (root.volumes ?? {}) as Record<
    string,
    { name?: string; external?: boolean | { name?: string } } | null
  >;
  const volumeName = (key: string) => {
    const v = topVolumes[key] ?? {};
    const externalName = typeof v.external === "object" ? v.external?.name : undefined;
    if (v.name) return v.name;
    if (externalName) return externalName;
    if (v.external) return key;
    return `${project}_${key}`;
  };

  const names = Object.keys(root.services);
  for (const wanted of options.only ?? []) {
    if (!names.includes(wanted))
      throw new ComposeError(`no service "${wanted}" in the compose file; services: ${names.join(", ")}`);
  }
  const services: Record<string, ImportedService> = {};
  for (const composeName of names) {
    if (options.only && !options.only.includes(composeName)) continue;
    const svc = (root.services[composeName] ?? {}) as Record<string, any>;
    const at = `services.${composeName}`;
    const name = options.rename?.[composeName] ?? composeName;
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) {
      throw new ComposeError(
        `${at}: "${name}" cannot be a service name here (lowercase letters, digits, -); rename it with --rename ${composeName}=<name>`,
      );
    }
    for (const key of Object.keys(svc)) if (!SERVICE_KEYS.has(key)) warnings.push(`${at}.${key}: not carried over`);

    const config: Record<string, unknown> = { host: options.host };
    if (svc.container_name) config.containerName = String(svc.container_name);

    if (svc.build !== undefined) {
      const b = typeof svc.build === "string" ? { context: svc.build } : (svc.build as Record<string, any>);
      for (const k of Object.keys(b)) {
        if (!["context", "dockerfile", "args", "target", "no_cache"].includes(k))
          warnings.push(`${at}.build.${k}: not carried over`);
      }
      const context = String(b.context ?? ".");
      const isUrl = /^(https?:\/\/|ssh:\/\/|git@)/.test(context);
      // A git URL may carry its ref after #: the stack keeps them apart.
      const [url, ref] = isUrl ? context.split("#") : [context, undefined];
      const build: Record<string, unknown> = { context: isUrl ? url : path.resolve(options.composeDir, context) };
      if (ref) build.ref = ref;
      if (b.dockerfile && b.dockerfile !== "Dockerfile") build.dockerfile = String(b.dockerfile);
      const args = kv(b.args, `${at}.build.args`, warnings);
      if (Object.keys(args).length > 0) build.args = args;
      if (b.target) build.target = String(b.target);
      if (b.no_cache === true) build.noCache = true;
      config.build = build;
      if (!isUrl) {
        warnings.push(
          `${at}.build.context: ${build.context} is a folder on this machine; to build on the server from ` +
            "source, set build.context to the repository's git URL and pin a commit with npm run release",
        );
      }
      if (svc.image)
        warnings.push(`${at}.image: "${svc.image}" only names the built image in compose; not carried over`);
    } else if (svc.image) {
      config.image = parseImageRef(String(svc.image));
    } else {
      throw new ComposeError(`${at}: has neither image nor build`);
    }

    if (svc.ports !== undefined) {
      if (svc.network_mode === "host")
        throw new ComposeError(`${at}: ports and network_mode: host conflict (host networking publishes nothing)`);
      const ports = (svc.ports as unknown[])
        .map((p, i) => parsePort(p, `${at}.ports[${i}]`, warnings))
        .filter((p) => p !== undefined);
      if (ports.length > 0) config.ports = ports;
    }

    const volumes: Record<string, unknown>[] = [];
    const binds: Record<string, unknown>[] = [];
    ((svc.volumes ?? []) as unknown[]).forEach((v, i) => {
      const where = `${at}.volumes[${i}]`;
      let type: string;
      let source: string | undefined;
      let target: string;
      let readOnly = false;
      if (typeof v === "object" && v !== null) {
        const o = v as Record<string, any>;
        type = String(o.type ?? "volume");
        source = o.source === undefined ? undefined : String(o.source);
        target = String(o.target);
        readOnly = o.read_only === true;
        for (const k of Object.keys(o)) {
          if (!["type", "source", "target", "read_only"].includes(k)) warnings.push(`${where}.${k}: not carried over`);
        }
      } else {
        const parts = String(v).split(":");
        if (parts.length === 1) {
          type = "volume";
          target = parts[0];
        } else {
          source = parts[0];
          target = parts[1];
          const mode = parts[2] ?? "";
          readOnly = mode.split(",").includes("ro");
          type = /^[./~]/.test(source) ? "bind" : "volume";
        }
      }
      if (type === "tmpfs" || (type === "volume" && source === undefined)) {
        warnings.push(
          `${where}: ${type === "tmpfs" ? "tmpfs" : "an anonymous volume"} on ${target} is not carried over (its data does not outlive the container anyway)`,
        );
        return;
      }
      if (type === "bind") {
        const abs = source!.startsWith("~") ? source! : path.resolve(options.composeDir, source!);
        if (source!.startsWith("~"))
          warnings.push(`${where}: "~" is expanded by the shell running compose; write the absolute path in the stack`);
        binds.push({ source: abs, target, ...(readOnly ? { readOnly: true } : {}) });
      } else {
        volumes.push({ name: volumeName(source!), target, external: true, ...(readOnly ? { readOnly: true } : {}) });
      }
    });
    if (volumes.length > 0) config.volumes = volumes;
    if (binds.length > 0) config.binds = binds;

    const env = kv(svc.environment, `${at}.environment`, warnings);
    if (Object.keys(env).length > 0) config.env = env;
    for (const k of Object.keys(env)) {
      if (/TOKEN|KEY|PASSWORD|SECRET/i.test(k)) {
        warnings.push(
          `${at}.environment.${k}: looks secret; move it to secretEnv and set it with pulumi config set --secret`,
        );
      }
    }

    if (svc.healthcheck) {
      const h = svc.healthcheck as Record<string, any>;
      if (h.disable === true && h.test !== undefined)
        throw new ComposeError(`${at}.healthcheck: disable: true and test conflict`);
      for (const k of Object.keys(h)) {
        if (!["test", "interval", "timeout", "retries", "start_period", "disable"].includes(k))
          warnings.push(`${at}.healthcheck.${k}: not carried over`);
      }
      const test =
        h.disable === true ? ["NONE"] : typeof h.test === "string" ? h.test : (h.test as unknown[]).map(String);
      if (test !== undefined) {
        config.healthcheck = {
          test,
          ...(h.interval !== undefined ? { interval: duration(h.interval) } : {}),
          ...(h.timeout !== undefined ? { timeout: duration(h.timeout) } : {}),
          ...(h.retries !== undefined ? { retries: Number(h.retries) } : {}),
          ...(h.start_period !== undefined ? { startPeriod: duration(h.start_period) } : {}),
        };
      }
    }

    if (svc.restart !== undefined) {
      const [policy, retries] = String(svc.restart).split(":");
      config.restart = policy;
      if (retries) warnings.push(`${at}.restart: the retry limit ${retries} is not carried over`);
    } else {
      config.restart = "no"; // compose's default; the stack's default would be unless-stopped
    }

    const deploy = svc.deploy as Record<string, any> | undefined;
    if (deploy) {
      for (const k of Object.keys(deploy)) if (k !== "resources") warnings.push(`${at}.deploy.${k}: not carried over`);
      const resources = (deploy.resources ?? {}) as Record<string, any>;
      for (const k of Object.keys(resources))
        if (k !== "reservations") warnings.push(`${at}.deploy.resources.${k}: not carried over`);
      const reservations = (resources.reservations ?? {}) as Record<string, any>;
      for (const k of Object.keys(reservations))
        if (k !== "devices") warnings.push(`${at}.deploy.resources.reservations.${k}: not carried over`);
      const devices = (reservations.devices ?? []) as Record<string, any>[];
      devices.forEach((d, i) => {
        const where = `${at}.deploy.resources.reservations.devices[${i}]`;
        if (d.driver !== undefined && d.driver !== "nvidia") {
          warnings.push(`${where}: driver "${d.driver}" is not carried over (only nvidia)`);
          return;
        }
        if (d.count !== undefined && d.device_ids !== undefined)
          throw new ComposeError(`${where}: count and device_ids conflict`);
        if (config.gpus) {
          warnings.push(`${where}: a second device request is not carried over`);
          return;
        }
        config.gpus = {
          ...(d.device_ids
            ? { deviceIds: (d.device_ids as unknown[]).map(String) }
            : { count: d.count === "all" ? "all" : Number(d.count ?? 1) }),
          ...(d.capabilities ? { capabilities: (d.capabilities as unknown[]).map(String) } : {}),
        };
      });
    }

    if (svc.command !== undefined)
      config.command = Array.isArray(svc.command) ? svc.command.map(String) : splitCommand(String(svc.command));
    if (svc.user !== undefined) config.user = String(svc.user);
    if (svc.stop_grace_period !== undefined)
      config.stopGraceSeconds = Math.round(durationSeconds(String(svc.stop_grace_period)));
    // Labels this program sets itself on every container (an exported file carries them) are written again.
    const labels = Object.fromEntries(
      Object.entries(kv(svc.labels, `${at}.labels`, warnings)).filter(([k]) => !k.startsWith(LABEL_PREFIX)),
    );
    if (Object.keys(labels).length > 0) config.labels = labels;

    services[name] = {
      composeName,
      composeContainer: svc.container_name ? String(svc.container_name) : `${project}-${composeName}-1`,
      config,
    };
  }
  return { project, services, warnings };
}
