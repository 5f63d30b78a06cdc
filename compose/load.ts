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
import { readEnvFile } from "./envFile";
import { ComposeError } from "./errors";
import { resolveExtends, type ComposeFile } from "./extends";
import { readIncludes } from "./include";
import { interpolateAll, parseComposeYaml, type ComposeMap } from "./read";
import { isPlainObject } from "../formats";

export { ComposeError } from "./errors";
export { type ComposeMap } from "./read";

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

export interface LoadedCompose {
  /** Compose project name: COMPOSE_PROJECT_NAME, else the top-level `name:`, else the compose file's folder. */
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
  /** The variables empty or unset in the value at a key path of a service (of this file or an included one). */
  readonly emptied: (at: string) => readonly string[];
  /** The variables the file was interpolated with, for env files and extended files. */
  readonly variables: Readonly<Record<string, string>>;
}

/**
 * The variables for interpolation: the env files (or `.env`), interpolated with the command's environment (as
 * compose-go's dotenv does), then the command's environment over them.
 */
function variablesFor(options: LoadOptions): Record<string, string> {
  const variables: Record<string, string> = {};
  const environment = options.environment ?? {};
  const files =
    options.envFiles ??
    (fs.existsSync(path.join(options.composeDir, ".env")) ? [path.join(options.composeDir, ".env")] : []);
  for (const file of files) {
    const where = options.envFiles ? `--env-file ${file}` : ".env";
    Object.assign(
      variables,
      readEnvFile(path.resolve(file), where, (name) => environment[name], variables),
    );
  }
  for (const [name, value] of Object.entries(environment)) if (value !== undefined) variables[name] = value;
  return variables;
}

function profilesOf(service: ComposeMap, at: string): string[] {
  const profiles = service.profiles;
  if (profiles === undefined) return [];
  if (!Array.isArray(profiles)) throw new ComposeError(`${at}.profiles: must be a list of profile names`);
  return profiles.map(String);
}

/**
 * The project's name as compose takes it: COMPOSE_PROJECT_NAME (the command's environment over .env), which
 * compose checks, else the top-level `name:` or the folder, which it normalizes.
 */
function projectName(data: ComposeMap, dir: string, variables: Readonly<Record<string, string>>): string {
  const fromEnv = variables.COMPOSE_PROJECT_NAME;
  if (fromEnv) {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(fromEnv)) {
      throw new ComposeError(
        `COMPOSE_PROJECT_NAME: "${fromEnv}" is not a project name compose takes (lowercase letters, digits, _ and -, ` +
          "starting with a letter or digit)",
      );
    }
    return fromEnv;
  }
  return String(data.name ?? path.basename(dir))
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "");
}

/** Every service of the project, resolved (extends applied): the file's own, then the included ones. */
function projectServices(
  data: ComposeMap,
  dir: string,
  variables: Readonly<Record<string, string>>,
  unset: Map<string, string>,
  empty: Map<string, string[]>,
): { services: Record<string, ComposeMap>; volumes: Record<string, ComposeMap | null> } {
  const own = data.services as Record<string, unknown>;
  const file: ComposeFile = { file: path.join(dir, "\0main"), dir, services: own };
  const included = readIncludes(data.include, { dir, variables, unset, empty, chain: [file.file] });
  const services: Record<string, ComposeMap> = {};
  for (const name of Object.keys(own)) {
    const resolved = resolveExtends(name, file, variables, unset, []);
    const other = included.services[name];
    if (other && JSON.stringify(other.service) !== JSON.stringify(resolved)) {
      throw new ComposeError(`services.${name}: ${other.from} defines it too; compose refuses a conflict`);
    }
    services[name] = resolved;
  }
  for (const [name, { service }] of Object.entries(included.services)) services[name] ??= service;
  const volumes = isPlainObject(data.volumes) ? (data.volumes as Record<string, ComposeMap | null>) : {};
  return { services, volumes: { ...included.volumes, ...volumes } };
}

/** The services `up` would start, and those left out for their profiles. */
function pickServices(
  all: Record<string, ComposeMap>,
  options: LoadOptions,
  variables: Readonly<Record<string, string>>,
): { services: Record<string, ComposeMap>; skipped: Record<string, string[]> } {
  const names = Object.keys(all);
  for (const wanted of options.services ?? []) {
    if (!names.includes(wanted)) {
      throw new ComposeError(`no service "${wanted}" in the compose file; services: ${names.join(", ")}`);
    }
  }
  const services: Record<string, ComposeMap> = {};
  const skipped: Record<string, string[]> = {};
  // --profile, else COMPOSE_PROFILES (the command's environment over .env, as compose reads every COMPOSE_
  // variable); with none, the empty profile "" is the active one (a service listing "" starts on a plain
  // `docker compose up`, as private-gpt's file relies on).
  const fromEnv = variables.COMPOSE_PROFILES?.split(",").map((p) => p.trim());
  const active = options.profiles?.length ? options.profiles : (fromEnv ?? [""]);
  for (const name of names) {
    const profiles = profilesOf(all[name], `services.${name}`);
    const wanted = options.services
      ? options.services.includes(name)
      : profiles.length === 0 || profiles.some((p) => active.includes(p));
    if (wanted) services[name] = all[name];
    else if (!options.services) skipped[name] = profiles;
  }
  return { services, skipped };
}

/** Read a compose file's text as `docker compose config` would, for the services `up` would start. */
export function loadCompose(text: string, options: LoadOptions): LoadedCompose {
  const raw = parseComposeYaml(text);
  if (!isPlainObject(raw)) throw new ComposeError("not a compose file: expected a map at the top");
  const variables = variablesFor(options);
  const unset = new Map<string, string>();
  const empty = new Map<string, string[]>();
  const data = interpolateAll(raw, "", variables, unset, empty) as ComposeMap;
  if (data.services === undefined && data.include !== undefined) data.services = {};
  if (!isPlainObject(data.services)) throw new ComposeError("not a compose file: no services");

  const otherTopLevel = Object.keys(data).filter(
    (key) => !["services", "volumes", "name", "version", "include"].includes(key) && !key.startsWith("x-"),
  );
  const project = projectName(data, options.composeDir, variables);
  const all = projectServices(data, options.composeDir, variables, unset, empty);
  const { services, skipped } = pickServices(all.services, options, variables);
  const warnings: string[] = [];
  for (const [name, at] of unset) {
    warnings.push(`${at}: variable ${name} is not set; compose substitutes an empty string`);
  }
  const emptied = (at: string) => empty.get(at) ?? [];
  return { project, services, skipped, volumes: all.volumes, otherTopLevel, warnings, variables, emptied };
}
