/**
 * Where raw stack config comes from: the Pulumi runtime (during `pulumi preview`/`up`) or a
 * `Pulumi.<stack>.yaml` file (for tests and tools that run without the Pulumi CLI). Both give the same
 * `RawConfig`, which `buildModel` turns into the deployment model.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { CONFIG_NAMESPACE } from "./schema";
import { buildModel } from "./model";
import type { DeploymentModel } from "./specs";

export interface RawConfig {
  /** Values under the namespace, keys without the `gpu-services:` prefix. */
  readonly values: Record<string, unknown>;
  /** Keys (without prefix) whose values were set with --secret. */
  readonly secretKeys: ReadonlySet<string>;
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

function stripSecure(v: unknown): { value: unknown; secret: boolean } {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "secure") return { value: SECRET_PLACEHOLDER, secret: true };
    let secret = false;
    const out: Record<string, unknown> = {};
    for (const [k, inner] of Object.entries(v)) {
      const r = stripSecure(inner);
      out[k] = r.value;
      secret ||= r.secret;
    }
    return { value: out, secret };
  }
  if (Array.isArray(v)) {
    const parts = v.map(stripSecure);
    return { value: parts.map((p) => p.value), secret: parts.some((p) => p.secret) };
  }
  return { value: v, secret: false };
}

/** Read `Pulumi.<stack>.yaml`; encrypted (`secure:`) values read as SECRET_PLACEHOLDER. */
export function readStackFile(file: string, namespace = CONFIG_NAMESPACE): RawConfig {
  return parseStackText(fs.readFileSync(file, "utf8"), namespace);
}

/** The config in the text of a stack file. */
export function parseStackText(text: string, namespace = CONFIG_NAMESPACE): RawConfig {
  const doc = parseYaml(text) as { config?: Record<string, unknown> } | null;
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  const prefix = `${namespace}:`;
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    if (!key.startsWith(prefix)) continue;
    const short = key.slice(prefix.length);
    const r = stripSecure(value);
    // As the engine hands config to the program: a top-level value is a string, which the program reads as JSON
    // where it is JSON (readRuntimeConfig). `pulumi config set` writes `requirePinnedImages: "true"`.
    values[short] = typeof r.value === "string" ? parseValue(r.value) : r.value;
    if (r.secret) secretKeys.add(short);
  }
  return { values, secretKeys };
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

/**
 * The model of a stack from its raw config, checked against the stacks it names in `sharesHostsWith` (read
 * from their files in the project folder).
 */
export function modelFromRaw(raw: RawConfig, stack: string, projectDir: string): DeploymentModel {
  const names = Array.isArray(raw.values.sharesHostsWith)
    ? raw.values.sharesHostsWith.filter((n) => typeof n === "string")
    : [];
  const neighbours = new Map<string, DeploymentModel | Error>();
  for (const name of names as string[]) {
    const file = path.join(projectDir, `Pulumi.${name}.yaml`);
    if (name === stack || !fs.existsSync(file)) continue;
    try {
      const theirs = readStackFile(file);
      neighbours.set(name, buildModel(theirs.values, { stack: name, secretKeys: theirs.secretKeys }));
    } catch (e) {
      neighbours.set(name, e as Error);
    }
  }
  return buildModel(raw.values, { stack, secretKeys: raw.secretKeys, neighbours });
}

/** Model of a stack straight from its file in the project folder. */
export function loadStackModel(stack: string, projectDir: string): DeploymentModel {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    throw new Error(
      `Stack "${stack}" has no ${path.basename(file)}; stacks here: ${listStacks(projectDir).join(", ")}`,
    );
  }
  return modelFromRaw(readStackFile(file), stack, projectDir);
}

/** Stacks that have a Pulumi.<stack>.yaml in the project folder. */
export function listStacks(projectDir: string): string[] {
  return fs
    .readdirSync(projectDir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}
