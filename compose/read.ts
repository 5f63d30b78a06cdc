/**
 * One compose file's text as data: YAML with merge keys (duplicate keys refused, aliases capped), and every
 * string value interpolated with the project's variables. Errors are `ComposeError`s naming the file or the
 * compose key path.
 */
import * as fs from "node:fs";
import { appendPath, isPlainObject, yamlData, type PlainObject } from "../formats";
import { ComposeError } from "./errors";
import { interpolate, InterpolationError } from "./interpolate";

export type ComposeMap = PlainObject;

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
export function readText(file: string, cannotRead: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ComposeError(`${cannotRead} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/**
 * Every string value interpolated (keys are not, as in compose). `empty`, when given, hears of each key path
 * whose value used a variable that is empty or unset (to name it when the value is refused).
 */
export function interpolateAll(
  value: unknown,
  at: string,
  variables: Readonly<Record<string, string>>,
  unset: Map<string, string>,
  empty?: Map<string, string[]>,
): unknown {
  if (typeof value === "string") {
    try {
      return interpolate(value, {
        lookup: (name) => {
          if (empty && !variables[name]) empty.set(at, [...new Set([...(empty.get(at) ?? []), name])]);
          return variables[name];
        },
        onUnset: (name) => void (unset.has(name) || unset.set(name, at)),
      });
    } catch (e) {
      if (e instanceof InterpolationError) throw new ComposeError(`${at}: ${e.message}`);
      throw e;
    }
  }
  if (Array.isArray(value))
    return value.map((item, i) => interpolateAll(item, appendPath(at, i), variables, unset, empty));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateAll(v, appendPath(at, k), variables, unset, empty)]),
    );
  }
  return value;
}
