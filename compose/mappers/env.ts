/**
 * `env_file` and `environment`: plain env, and env that looks secret moved to `secretEnv`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { looksSecret, secretNameFor, isPlainObject } from "../../formats";
import { readEnvFile } from "../envFile";
import { ComposeError } from "../errors";
import { type ComposeMap } from "../read";
import { keyValues, list, shapeError } from "../shape";
import type { Mapper, ServiceScope } from "./scope";

/** Env values with where each one is in the compose input (for the person who sets a secret by hand). */
interface EnvValues {
  readonly values: Record<string, string>;
  readonly from: Record<string, string>;
}

/**
 * `env_file`: a path or a list of paths or {path, required}; values in file order, later files winning. Values
 * interpolate as compose-go does: the project's variables first, then the service's `environment`.
 */
function envFiles(
  value: unknown,
  at: string,
  composeDir: string,
  lookup: (name: string) => string | undefined,
  warnings: string[],
): EnvValues {
  const out: EnvValues = { values: {}, from: {} };
  if (value === undefined || value === null) return out;
  const entries = typeof value === "string" ? [value] : list(value, at, "a path or a list of paths");
  entries.forEach((entry, i) => {
    const where = `${at}${typeof value === "string" ? "" : `[${i}]`}`;
    const spec = typeof entry === "string" ? { path: entry, required: true } : isPlainObject(entry) ? entry : undefined;
    if (!spec || typeof spec.path !== "string") throw shapeError(where, "a path or {path, required}", entry);
    for (const key of Object.keys(spec).filter((k) => k !== "path" && k !== "required"))
      warnings.push(`${where}.${key}: not carried over (the file is read as a dotenv file)`);
    const file = path.resolve(composeDir, spec.path);
    if (!fs.existsSync(file)) {
      if (spec.required === false) return;
      throw new ComposeError(`${where}: env file ${file} does not exist`);
    }
    for (const [key, v] of Object.entries(readEnvFile(file, where, lookup, out.values))) {
      out.values[key] = v;
      out.from[key] = `${key} in ${file} (${where})`;
    }
  });
  return out;
}

/**
 * The `secrets` entry for a value: the env's own name (`hfToken`), else the service's (`yHfToken`), else that with
 * a number; a name already bound to the same value is shared, one bound to another value (or already in the
 * stack) is never taken.
 */
function secretFor(key: string, value: string, from: string, { name, found }: ServiceScope): string {
  const word = key.replace(/[^A-Za-z0-9]+/g, "_");
  const own = secretNameFor(`${name}_${word}`);
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? secretNameFor(word) : n === 1 ? own : `${own}${n}`;
    if (found.taken.has(candidate)) continue;
    const bound = found.values.get(candidate);
    if (bound === value) return candidate;
    if (bound === undefined) {
      found.values.set(candidate, value);
      found.list.push({ name: candidate, from, env: key, service: name, value });
      return candidate;
    }
  }
}

/** `env_file` then `environment` over it, as compose does; values that look secret go to `secretEnv`. */
function envConfig(svc: ComposeMap, scope: ServiceScope): Record<string, unknown> {
  const { at, composeDir, shell, variables, warnings } = scope;
  const environment = keyValues(svc.environment, `${at}.environment`, shell, warnings);
  const files = envFiles(svc.env_file, `${at}.env_file`, composeDir, (v) => variables[v] ?? environment[v], warnings);
  const plain: Record<string, string> = {};
  const secretEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...files.values, ...environment })) {
    const from = key in environment ? `${at}.environment.${key}` : files.from[key];
    if (looksSecret(key, value)) secretEnv[key] = secretFor(key, value, from, scope);
    else plain[key] = value;
  }
  return {
    ...(Object.keys(plain).length > 0 ? { env: plain } : {}),
    ...(Object.keys(secretEnv).length > 0 ? { secretEnv } : {}),
  };
}

export const envMapper: Mapper = { compose: ["environment", "env_file"], map: envConfig };
