/**
 * Top-level `include` (compose 2.20+), as compose-go reads it: a list of files, or of `{path, project_directory,
 * env_file}` (path: a file or a list, the later ones overriding the first). Each included file is a project of
 * its own folder: its relative paths resolve there, its variables come from its `.env` (or the env files named),
 * under the including file's variables, which win. Its services and volumes join the project; a service defined
 * both here and there is refused, as compose refused it until compose-go v2.10 (which merges the local one over
 * it: refusing loses nothing).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readEnvFile } from "./envFile";
import { ComposeError } from "./errors";
import { mergeService, rebase, resolveExtends, type ComposeFile } from "./extends";
import { interpolateAll, parseComposeYaml, readText, type ComposeMap } from "./read";
import { isPlainObject } from "../formats";

/** Where an include is read from. */
export interface IncludeScope {
  /** The including file's folder (its project directory): include paths and env files resolve against it. */
  readonly dir: string;
  /** The including file's variables. */
  readonly variables: Readonly<Record<string, string>>;
  /** Variables used but set nowhere, with the first place they were used. */
  readonly unset: Map<string, string>;
  /** Key paths (`services.…`) whose value used a variable that is empty or unset, with those variables. */
  readonly empty: Map<string, string[]>;
  /** The files being included, outermost first (for cycles). */
  readonly chain: readonly string[];
}

export interface Included {
  /** Services resolved (extends applied, paths absolute), each with the include it came from. */
  readonly services: Record<string, { readonly service: ComposeMap; readonly from: string }>;
  readonly volumes: Record<string, ComposeMap | null>;
}

interface IncludeEntry {
  readonly paths: string[];
  readonly projectDir: string;
  readonly envFiles: string[];
}

const strings = (value: unknown, at: string, what: string): string[] => {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === "string"))
    throw new ComposeError(`${at}: must be ${what}`);
  return list;
};

/** One entry of `include`, its paths resolved. */
function entryOf(entry: unknown, at: string, dir: string): IncludeEntry {
  const spec = typeof entry === "string" ? { path: entry } : entry;
  if (!isPlainObject(spec)) throw new ComposeError(`${at}: must be a file or {path, project_directory, env_file}`);
  for (const key of Object.keys(spec))
    if (!["path", "project_directory", "env_file"].includes(key))
      throw new ComposeError(`${at}.${key}: not an include key (path, project_directory, env_file)`);
  const written = strings(spec.path, `${at}.path`, "a file or a list of files");
  const remote = written.find((p) => /^(?:[a-z][a-z0-9+.-]*:\/\/|git@)/i.test(p));
  if (remote) throw new ComposeError(`${at}.path: "${remote}" is a remote file; include a local copy instead`);
  const paths = written.map((p) => path.resolve(dir, p));
  const projectDir =
    spec.project_directory === undefined ? path.dirname(paths[0]) : path.resolve(dir, String(spec.project_directory));
  const dotEnv = path.join(projectDir, ".env");
  const envFiles =
    spec.env_file === undefined
      ? fs.existsSync(dotEnv)
        ? [dotEnv]
        : []
      : strings(spec.env_file, `${at}.env_file`, "a file or a list of files")
          .filter((f) => f !== "/dev/null")
          .map((f) => path.resolve(dir, f));
  return { paths, projectDir, envFiles };
}

/** The included project's variables: its env files, under the including file's variables. */
function variablesOf(entry: IncludeEntry, at: string, scope: IncludeScope): Record<string, string> {
  const fromFiles: Record<string, string> = {};
  for (const file of entry.envFiles)
    Object.assign(
      fromFiles,
      readEnvFile(file, `${at}.env_file`, (name) => scope.variables[name], fromFiles),
    );
  return { ...fromFiles, ...scope.variables };
}

/** Add `name` from `from`, refusing a different definition already there. */
function add(into: Included["services"], name: string, service: ComposeMap, from: string): void {
  const earlier = into[name];
  if (earlier && JSON.stringify(earlier.service) !== JSON.stringify(service)) {
    throw new ComposeError(`services.${name}: defined by ${earlier.from} and by ${from}; compose refuses a conflict`);
  }
  into[name] = { service, from };
}

/** One included project: its files read, merged and resolved. */
function readEntry(entry: IncludeEntry, at: string, scope: IncludeScope): Included {
  const variables = variablesOf(entry, at, scope);
  const from = `the included file ${at} (${path.relative(scope.dir, entry.paths[0]) || entry.paths[0]})`;
  const raw: Record<string, ComposeMap> = {};
  const out: Included = { services: {}, volumes: {} };
  for (const file of entry.paths) {
    const text = readText(file, `${at}: cannot read the included file ${file}`);
    // Key paths from the file's top, as the mappers name them; an unset variable's place names the file first.
    const unset = new Map<string, string>();
    const data = interpolateAll(parseComposeYaml(text, file), "", variables, unset, scope.empty);
    for (const [name, where] of unset)
      if (!scope.unset.has(name)) scope.unset.set(name, `${path.basename(file)}: ${where}`);
    if (!isPlainObject(data)) throw new ComposeError(`${file}: not a compose file: expected a map at the top`);
    const inner = readIncludes(data.include, {
      dir: entry.projectDir,
      variables,
      unset: scope.unset,
      empty: scope.empty,
      chain: [...scope.chain, entry.paths[0]],
    });
    for (const [name, s] of Object.entries(inner.services)) add(out.services, name, s.service, s.from);
    Object.assign(out.volumes, inner.volumes, isPlainObject(data.volumes) ? data.volumes : {});
    for (const [name, service] of Object.entries(isPlainObject(data.services) ? data.services : {}))
      raw[name] =
        isPlainObject(service) && isPlainObject(raw[name]) ? mergeService(raw[name], service) : (service as ComposeMap);
  }
  const file: ComposeFile = { file: entry.paths[0], dir: entry.projectDir, services: raw };
  for (const name of Object.keys(raw))
    add(out.services, name, rebase(resolveExtends(name, file, variables, scope.unset, []), entry.projectDir), from);
  return out;
}

/** The services and volumes of a top-level `include` (none when it is absent). */
export function readIncludes(value: unknown, scope: IncludeScope): Included {
  const out: Included = { services: {}, volumes: {} };
  if (value === undefined || value === null) return out;
  if (!Array.isArray(value))
    throw new ComposeError("include: must be a list of files or {path, project_directory, env_file}");
  value.forEach((item, i) => {
    const at = `include[${i}]`;
    const entry = entryOf(item, at, scope.dir);
    if (scope.chain.includes(entry.paths[0])) {
      const loop = [...scope.chain.slice(scope.chain.indexOf(entry.paths[0])), entry.paths[0]];
      const files = loop.map((f) => path.relative(scope.dir, f) || f);
      throw new ComposeError(`${at}: include cycle: ${files.join(" includes ")}`);
    }
    const included = readEntry(entry, at, scope);
    for (const [name, s] of Object.entries(included.services)) add(out.services, name, s.service, s.from);
    Object.assign(out.volumes, included.volumes);
  });
  return out;
}
