/**
 * A compose file read the way `docker compose config` reads it: YAML with merge keys (`<<: *base`, chained and
 * lists of merges), variables interpolated from the command's environment over the `.env` beside the file (or
 * the `--env-file`s given), `extends` from the same file or another one, and the services `up` would start
 * (those without profiles, those of the profiles asked for, or exactly the services named).
 *
 * Pure but for reading the compose file's neighbours (.env, env files, extended files). Errors are
 * `ComposeError`s naming the file or the compose key path.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseDotenv } from "dotenv";
import { yamlData } from "../formats";
import { interpolate, InterpolationError } from "./interpolate";

export class ComposeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ComposeError";
  }
}

export interface LoadOptions {
  /** Folder of the compose file: `.env`, env files, extended files and relative paths resolve against it. */
  readonly composeDir: string;
  /** `--env-file`s, in order (later ones win); default the `.env` beside the compose file, when there is one. */
  readonly envFiles?: readonly string[];
  /** The command's environment, which wins over every env file; default none. */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** `--profile`s: their services are started besides those without profiles. */
  readonly profiles?: readonly string[];
  /** Exactly these services (`docker compose up <service>…`), whatever their profiles. */
  readonly services?: readonly string[];
}

export type ComposeMap = Record<string, unknown>;

export interface LoadedCompose {
  /** Compose project name: top-level `name:`, else the compose file's folder. */
  readonly project: string;
  /** The services `up` would start, resolved (interpolated, extends applied), in file order. */
  readonly services: Record<string, ComposeMap>;
  /** Services left out because of their profiles, with those profiles. */
  readonly skipped: Record<string, string[]>;
  /** The top-level `volumes`, interpolated. */
  readonly volumes: Record<string, ComposeMap | null>;
  /** Top-level keys besides services, volumes, name and version (and `x-` extensions). */
  readonly otherTopLevel: string[];
  readonly warnings: string[];
  /** The variables the file was interpolated with, for env files and extended files. */
  readonly variables: Readonly<Record<string, string>>;
}

export const isMap = (value: unknown): value is ComposeMap =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** YAML with merge keys resolved, duplicate keys refused and aliases capped; `file` names another file. */
export function parseComposeYaml(text: string, file?: string): unknown {
  const prefix = file ? `${file}: ` : "";
  return yamlData(
    text,
    { merge: true, maxAliasCount: 1000 },
    (reason, detail) =>
      new ComposeError(`${prefix}${reason === "invalid" ? "not valid YAML" : "cannot be read"}${detail}`),
  );
}

/** A file's text, or a ComposeError saying `cannotRead` and why. */
function readText(file: string, cannotRead: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ComposeError(`${cannotRead} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** A dotenv file's variables (compose reads `.env` and env files this way: no interpolation inside). */
export function readEnvFile(file: string, where: string): Record<string, string> {
  return parseDotenv(readText(file, `${where}: cannot read ${file}`));
}

/** The variables for interpolation: the env files (or `.env`), then the command's environment over them. */
function variablesFor(options: LoadOptions): Record<string, string> {
  const variables: Record<string, string> = {};
  const files =
    options.envFiles ??
    (fs.existsSync(path.join(options.composeDir, ".env")) ? [path.join(options.composeDir, ".env")] : []);
  for (const file of files) Object.assign(variables, readEnvFile(path.resolve(file), `--env-file ${file}`));
  for (const [name, value] of Object.entries(options.environment ?? {}))
    if (value !== undefined) variables[name] = value;
  return variables;
}

const PATH_SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const keyPath = (at: string, key: string | number) =>
  typeof key === "number"
    ? `${at}[${key}]`
    : PATH_SEGMENT.test(key)
      ? at
        ? `${at}.${key}`
        : key
      : `${at}[${JSON.stringify(key)}]`;

/** Every string value interpolated (keys are not, as in compose). */
function interpolateAll(
  value: unknown,
  at: string,
  variables: Readonly<Record<string, string>>,
  unset: Map<string, string>,
): unknown {
  if (typeof value === "string") {
    try {
      return interpolate(value, {
        lookup: (name) => variables[name],
        onUnset: (name) => void (unset.has(name) || unset.set(name, at)),
      });
    } catch (e) {
      if (e instanceof InterpolationError) throw new ComposeError(`${at}: ${e.message}`);
      throw e;
    }
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateAll(item, keyPath(at, i), variables, unset));
  if (isMap(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateAll(v, keyPath(at, k), variables, unset)]),
    );
  }
  return value;
}

/** Keys whose lists merge rather than replace when a service extends another (compose specification). */
const UNION_LISTS = new Set(["ports", "expose", "external_links", "dns", "dns_search", "tmpfs"]);
const BY_TARGET_LISTS = new Set(["volumes", "devices"]);
const KEYED_LISTS = new Set(["environment", "labels", "extra_hosts"]);

/** `[A=1, B]` -> `{A: "1", B: null}`, as compose reads environment and labels given as lists. */
export function listToMap(list: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list) {
    const text = String(item);
    const eq = text.indexOf("=");
    if (eq < 0) out[text] = null;
    else out[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return out;
}

function mountTarget(entry: unknown): string {
  if (isMap(entry)) return String(entry.target ?? "");
  const parts = String(entry).split(":");
  return parts.length > 1 ? parts[1] : parts[0];
}

/** A service over the one it extends, by the compose specification's merge rules. */
function mergeService(base: ComposeMap, override: ComposeMap): ComposeMap {
  const out: ComposeMap = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const before = out[key];
    if (KEYED_LISTS.has(key) && (Array.isArray(before) || isMap(before)) && (Array.isArray(value) || isMap(value))) {
      const asMap = (v: unknown) => (Array.isArray(v) ? listToMap(v) : (v as ComposeMap));
      out[key] = { ...asMap(before), ...asMap(value) };
    } else if (UNION_LISTS.has(key) && Array.isArray(before) && Array.isArray(value)) {
      out[key] = [
        ...before,
        ...value.filter((item) => !before.some((b) => JSON.stringify(b) === JSON.stringify(item))),
      ];
    } else if (BY_TARGET_LISTS.has(key) && Array.isArray(before) && Array.isArray(value)) {
      const targets = new Set(value.map(mountTarget));
      out[key] = [...before.filter((entry) => !targets.has(mountTarget(entry))), ...value];
    } else if (isMap(before) && isMap(value)) {
      // A healthcheck's keys are taken one by one; any other map merges down (build, deploy, …).
      out[key] = key === "healthcheck" ? { ...before, ...value } : mergeService(before, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Relative paths of a service from another folder, made absolute (as compose does for extended files). */
function rebase(service: ComposeMap, dir: string): ComposeMap {
  const out = { ...service };
  const abs = (p: string) => (/^([a-z]+:\/\/|git@|~|\/)/.test(p) ? p : path.resolve(dir, p));
  if (typeof out.build === "string") out.build = abs(out.build);
  else if (isMap(out.build) && typeof out.build.context === "string")
    out.build = { ...out.build, context: abs(out.build.context) };
  else if (isMap(out.build) && out.build.context === undefined) out.build = { ...out.build, context: dir };
  if (Array.isArray(out.volumes)) {
    out.volumes = out.volumes.map((v) => {
      if (isMap(v)) return v.type === "bind" && typeof v.source === "string" ? { ...v, source: abs(v.source) } : v;
      const [source, ...rest] = String(v).split(":");
      return rest.length > 0 && /^[./~]/.test(source) ? [abs(source), ...rest].join(":") : v;
    });
  }
  const envFile = out.env_file;
  if (typeof envFile === "string") out.env_file = abs(envFile);
  else if (Array.isArray(envFile)) {
    out.env_file = envFile.map((e) =>
      typeof e === "string" ? abs(e) : isMap(e) ? { ...e, path: abs(String(e.path)) } : e,
    );
  }
  return out;
}

interface ComposeFile {
  readonly dir: string;
  readonly services: Record<string, unknown>;
}

function readComposeFile(
  file: string,
  variables: Readonly<Record<string, string>>,
  unset: Map<string, string>,
): ComposeFile {
  const text = readText(file, `cannot read the extended file ${file}`);
  const data = interpolateAll(parseComposeYaml(text, file), path.basename(file), variables, unset);
  if (!isMap(data) || !isMap(data.services)) throw new ComposeError(`${file}: not a compose file: no services`);
  return { dir: path.dirname(file), services: data.services };
}

/** A service with its `extends` chain applied, in the folder of the file it came from. */
function resolveExtends(
  name: string,
  file: ComposeFile,
  variables: Readonly<Record<string, string>>,
  unset: Map<string, string>,
  seen: readonly string[],
): ComposeMap {
  const at = `services.${name}`;
  const service = file.services[name];
  if (service === null || service === undefined) return {};
  if (!isMap(service)) throw new ComposeError(`${at}: must be a map of settings`);
  const ext = service.extends;
  if (ext === undefined) return service;
  const { extends: _, ...own } = service;
  const spec = typeof ext === "string" ? { service: ext } : isMap(ext) ? ext : undefined;
  if (!spec || typeof spec.service !== "string") {
    throw new ComposeError(`${at}.extends: must name a service (extends: base, or {service: base, file: other.yaml})`);
  }
  let baseFile = file;
  if (spec.file !== undefined) {
    const other = path.resolve(file.dir, String(spec.file));
    baseFile = readComposeFile(other, variables, unset);
  }
  const key = `${baseFile.dir}:${String(spec.file ?? "")}:${spec.service}`;
  if (seen.includes(key)) throw new ComposeError(`${at}.extends: services extend each other in a circle`);
  if (!(spec.service in baseFile.services)) {
    throw new ComposeError(`${at}.extends: no service "${spec.service}"${spec.file ? ` in ${String(spec.file)}` : ""}`);
  }
  let base = resolveExtends(spec.service, baseFile, variables, unset, [...seen, key]);
  if (baseFile.dir !== file.dir) base = rebase(base, baseFile.dir);
  return mergeService(base, own);
}

function profilesOf(service: ComposeMap, at: string): string[] {
  const profiles = service.profiles;
  if (profiles === undefined) return [];
  if (!Array.isArray(profiles)) throw new ComposeError(`${at}.profiles: must be a list of profile names`);
  return profiles.map(String);
}

/** Read a compose file's text as `docker compose config` would, for the services `up` would start. */
export function loadCompose(text: string, options: LoadOptions): LoadedCompose {
  const raw = parseComposeYaml(text);
  if (!isMap(raw)) throw new ComposeError("not a compose file: expected a map at the top");
  const variables = variablesFor(options);
  const unset = new Map<string, string>();
  const data = interpolateAll(raw, "", variables, unset) as ComposeMap;
  if (!isMap(data.services)) throw new ComposeError("not a compose file: no services");

  const warnings: string[] = [];
  const otherTopLevel = Object.keys(data).filter(
    (key) => !["services", "volumes", "name", "version"].includes(key) && !key.startsWith("x-"),
  );
  const project = String(data.name ?? path.basename(options.composeDir))
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "");
  const file: ComposeFile = { dir: options.composeDir, services: data.services };
  const names = Object.keys(data.services);
  for (const wanted of options.services ?? []) {
    if (!names.includes(wanted)) {
      throw new ComposeError(`no service "${wanted}" in the compose file; services: ${names.join(", ")}`);
    }
  }
  const services: Record<string, ComposeMap> = {};
  const skipped: Record<string, string[]> = {};
  // --profile, else COMPOSE_PROFILES; with none, the empty profile "" is the active one (a service listing ""
  // starts on a plain `docker compose up`, as private-gpt's file relies on).
  const fromEnv = options.environment?.COMPOSE_PROFILES?.split(",").filter(Boolean);
  const active = options.profiles?.length ? options.profiles : fromEnv?.length ? fromEnv : [""];
  for (const name of names) {
    const resolved = resolveExtends(name, file, variables, unset, []);
    const profiles = profilesOf(resolved, `services.${name}`);
    const wanted = options.services
      ? options.services.includes(name)
      : profiles.length === 0 || profiles.some((p) => active.includes(p));
    if (wanted) services[name] = resolved;
    else if (!options.services) skipped[name] = profiles;
  }
  for (const [name, at] of unset) {
    warnings.push(`${at}: variable ${name} is not set; compose substitutes an empty string`);
  }
  const volumes = isMap(data.volumes) ? (data.volumes as Record<string, ComposeMap | null>) : {};
  return { project, services, skipped, volumes, otherTopLevel, warnings, variables };
}
