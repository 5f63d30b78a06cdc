/**
 * Where raw stack config comes from: the Pulumi runtime (during `pulumi preview`/`up`) or a
 * `Pulumi.<stack>.yaml` file (for tests and tools that run without the Pulumi CLI). Both give the same
 * `RawConfig`, which `buildModel` turns into the deployment model.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./namespace";
import { ReportedError } from "../errors";
import { formatPath, isPlainObject, yamlData } from "../formats";

export interface RawConfig {
  /** Values under the namespace, keys without the `gpu-services:` prefix. */
  readonly values: Record<string, unknown>;
  /** Keys (without prefix) whose values were set with --secret. */
  readonly secretKeys: ReadonlySet<string>;
  /** Full key paths (without prefix) of the values set with --secret, where known (from a stack file). */
  readonly secretPaths?: readonly string[];
}

/** What a `secure:` value reads as when a stack file is read without its secrets provider. */
export const SECRET_PLACEHOLDER = "[secret]";

function parseValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function secretKeysFromEnv(): Set<string> {
  try {
    return new Set<string>(JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]"));
  } catch {
    return new Set();
  }
}

/** The stack's config as the Pulumi engine hands it to the program. */
export function readRuntimeConfig(namespace = CONFIG_NAMESPACE): RawConfig {
  const prefix = `${namespace}:`;
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  const secret = secretKeysFromEnv();
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(prefix)) continue;
    const short = key.slice(prefix.length);
    values[short] = parseValue(value);
    if (secret.has(key)) secretKeys.add(short);
  }
  return { values, secretKeys };
}

/** A value with its `secure:` entries as SECRET_PLACEHOLDER, and the paths (below `at`) where they were. */
function stripSecure(v: unknown, at: readonly PropertyKey[], paths: string[]): unknown {
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "secure") {
      paths.push(formatPath(at));
      return SECRET_PLACEHOLDER;
    }
    return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, stripSecure(inner, [...at, k], paths)]));
  }
  if (Array.isArray(v)) return v.map((inner, i) => stripSecure(inner, [...at, i], paths));
  return v;
}

/** A stack file that cannot be read as one: not YAML, duplicate keys, an alias bomb, no `config` map. */
export class StackFileError extends ReportedError {
  constructor(message: string) {
    super("config", message);
    this.name = "StackFileError";
  }
}

/** Read `Pulumi.<stack>.yaml`; encrypted (`secure:`) values read as SECRET_PLACEHOLDER. */
export function readStackFile(file: string, namespace = CONFIG_NAMESPACE): RawConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new StackFileError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return parseStackText(text, namespace, path.basename(file));
}

/** The YAML of a stack file as plain data, or a StackFileError naming the file and the line. */
export function parseStackYaml(text: string, fileName = "the stack file"): { config?: Record<string, unknown> } | null {
  const data = yamlData(
    text,
    { maxAliasCount: 100 },
    (reason, detail) =>
      new StackFileError(`${fileName} ${reason === "invalid" ? "is not valid YAML" : "cannot be read"}${detail}`),
  );
  if (data !== null && data !== undefined && (typeof data !== "object" || Array.isArray(data))) {
    throw new StackFileError(`${fileName} is not a stack file: expected a map with a config key at the top`);
  }
  const config = (data as { config?: unknown } | null)?.config;
  if (config !== undefined && config !== null && (typeof config !== "object" || Array.isArray(config))) {
    throw new StackFileError(`${fileName}: config must be a map of keys to values`);
  }
  return data as { config?: Record<string, unknown> } | null;
}

/** The config in the text of a stack file. */
export function parseStackText(text: string, namespace = CONFIG_NAMESPACE, fileName?: string): RawConfig {
  const doc = parseStackYaml(text, fileName);
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  const secretPaths: string[] = [];
  const prefix = `${namespace}:`;
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    if (!key.startsWith(prefix)) continue;
    const short = key.slice(prefix.length);
    const before = secretPaths.length;
    const stripped = stripSecure(value, [short], secretPaths);
    // As the engine hands config to the program: a top-level value is a string, which the program reads as JSON
    // where it is JSON (readRuntimeConfig). `pulumi config set` writes `requirePinnedImages: "true"`.
    values[short] = typeof stripped === "string" ? parseValue(stripped) : stripped;
    if (secretPaths.length > before) secretKeys.add(short);
  }
  return { values, secretKeys, secretPaths };
}

/** The config map `pulumi.runtime.setAllConfig` takes, as the engine would build it from a stack file. */
export function toEngineConfig(
  raw: RawConfig,
  namespace = CONFIG_NAMESPACE,
): {
  config: Record<string, string>;
  secretKeys: string[];
} {
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.values)) {
    config[`${namespace}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return { config, secretKeys: [...raw.secretKeys].map((k) => `${namespace}:${k}`) };
}
