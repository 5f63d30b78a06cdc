/**
 * `env_file` and `environment`: plain env, and env that looks secret moved to `secretEnv`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { SECRET_ENV_NAME, secretNameFor } from "../../config/specs";
import { readEnvFile } from "../envFile";
import { ComposeError } from "../errors";
import { isMap, type ComposeMap } from "../read";
import { keyValues, list, shapeError } from "../shape";
import type { Mapper, ServiceScope } from "./scope";

/**
 * `env_file`: a path or a list of paths or {path, required}; values in file order, later files winning. Values
 * interpolate as compose-go does: the project's variables first, then the service's `environment`.
 */
function envFiles(
  value: unknown,
  at: string,
  composeDir: string,
  lookup: (name: string) => string | undefined,
): Record<string, string> {
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
    Object.assign(out, readEnvFile(file, where, lookup, out));
  });
  return out;
}

/** `env_file` then `environment` over it, as compose does; values that look secret go to `secretEnv`. */
function envConfig(svc: ComposeMap, scope: ServiceScope): Record<string, unknown> {
  const { at, composeDir, shell, variables, warnings, name, found } = scope;
  const environment = keyValues(svc.environment, `${at}.environment`, shell, warnings);
  const lookup = (name: string) => variables[name] ?? environment[name];
  const env = { ...envFiles(svc.env_file, `${at}.env_file`, composeDir, lookup), ...environment };
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

export const envMapper: Mapper = { compose: ["environment", "env_file"], map: envConfig };
