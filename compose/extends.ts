/**
 * `extends`, by the compose specification's merge rules: maps merged, some lists appended or keyed, the rest
 * replaced; a service from another file has its relative paths made absolute against that file's folder.
 */
import * as path from "node:path";
import { ComposeError } from "./errors";
import { interpolateAll, parseComposeYaml, readText, type ComposeMap } from "./read";
import { isPlainObject } from "../formats";

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
  if (isPlainObject(entry)) return String(entry.target ?? "");
  const parts = String(entry).split(":");
  return parts.length > 1 ? parts[1] : parts[0];
}

/** A service over the one it extends, by the compose specification's merge rules. */
export function mergeService(base: ComposeMap, override: ComposeMap): ComposeMap {
  const out: ComposeMap = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const before = out[key];
    if (
      KEYED_LISTS.has(key) &&
      (Array.isArray(before) || isPlainObject(before)) &&
      (Array.isArray(value) || isPlainObject(value))
    ) {
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
    } else if (isPlainObject(before) && isPlainObject(value)) {
      // A healthcheck's keys are taken one by one; any other map merges down (build, deploy, …).
      out[key] = key === "healthcheck" ? { ...before, ...value } : mergeService(before, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Relative paths of a service from another folder, made absolute (as compose does for extended files). */
export function rebase(service: ComposeMap, dir: string): ComposeMap {
  const out = { ...service };
  const abs = (p: string) => (/^([a-z]+:\/\/|git@|~|\/)/.test(p) ? p : path.resolve(dir, p));
  if (typeof out.build === "string") out.build = abs(out.build);
  else if (isPlainObject(out.build) && typeof out.build.context === "string")
    out.build = { ...out.build, context: abs(out.build.context) };
  else if (isPlainObject(out.build) && out.build.context === undefined) out.build = { ...out.build, context: dir };
  if (Array.isArray(out.volumes)) {
    out.volumes = out.volumes.map((v) => {
      if (isPlainObject(v))
        return v.type === "bind" && typeof v.source === "string" ? { ...v, source: abs(v.source) } : v;
      const [source, ...rest] = String(v).split(":");
      return rest.length > 0 && /^[./~]/.test(source) ? [abs(source), ...rest].join(":") : v;
    });
  }
  const envFile = out.env_file;
  if (typeof envFile === "string") out.env_file = abs(envFile);
  else if (Array.isArray(envFile)) {
    out.env_file = envFile.map((e) =>
      typeof e === "string" ? abs(e) : isPlainObject(e) ? { ...e, path: abs(String(e.path)) } : e,
    );
  }
  return out;
}

export interface ComposeFile {
  /** The file's resolved path (the main file: its folder and a name no other file can have). */
  readonly file: string;
  readonly dir: string;
  readonly services: Record<string, unknown>;
}

export function readComposeFile(
  file: string,
  variables: Readonly<Record<string, string>>,
  unset: Map<string, string>,
): ComposeFile {
  const text = readText(file, `cannot read the extended file ${file}`);
  const data = interpolateAll(parseComposeYaml(text, file), path.basename(file), variables, unset);
  if (!isPlainObject(data) || !isPlainObject(data.services))
    throw new ComposeError(`${file}: not a compose file: no services`);
  return { file, dir: path.dirname(file), services: data.services };
}

/** A service with its `extends` chain applied, in the folder of the file it came from. */
export function resolveExtends(
  name: string,
  file: ComposeFile,
  variables: Readonly<Record<string, string>>,
  unset: Map<string, string>,
  seen: readonly string[],
): ComposeMap {
  const at = `services.${name}`;
  const service = file.services[name];
  if (service === null || service === undefined) return {};
  if (!isPlainObject(service)) throw new ComposeError(`${at}: must be a map of settings`);
  const ext = service.extends;
  if (ext === undefined) return service;
  const { extends: _, ...own } = service;
  const spec = typeof ext === "string" ? { service: ext } : isPlainObject(ext) ? ext : undefined;
  if (!spec || typeof spec.service !== "string") {
    throw new ComposeError(`${at}.extends: must name a service (extends: base, or {service: base, file: other.yaml})`);
  }
  let baseFile = file;
  if (spec.file !== undefined) {
    const other = path.resolve(file.dir, String(spec.file));
    baseFile = readComposeFile(other, variables, unset);
  }
  const key = `${baseFile.file}#${spec.service}`;
  if (seen.includes(key)) throw new ComposeError(`${at}.extends: services extend each other in a circle`);
  if (!(spec.service in baseFile.services)) {
    throw new ComposeError(`${at}.extends: no service "${spec.service}"${spec.file ? ` in ${String(spec.file)}` : ""}`);
  }
  let base = resolveExtends(spec.service, baseFile, variables, unset, [...seen, key]);
  if (baseFile.dir !== file.dir) base = rebase(base, baseFile.dir);
  return mergeService(base, own);
}
