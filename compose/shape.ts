/**
 * Values of the shape compose expects, or a `ComposeError` naming the compose key path and what was found.
 */
import { ComposeError } from "./errors";
import { listToMap } from "./extends";
import { type ComposeMap } from "./read";
import { isPlainObject } from "../formats";

export const describeValue = (value: unknown) =>
  value === null
    ? "null"
    : Array.isArray(value)
      ? "a list"
      : typeof value === "object"
        ? "a map"
        : `${typeof value} ${JSON.stringify(value)}`;

export function shapeError(at: string, expected: string, value: unknown): ComposeError {
  return new ComposeError(`${at}: must be ${expected} (got ${describeValue(value)})`);
}

export const isScalar = (value: unknown) => ["string", "number", "boolean"].includes(typeof value);

/** A list, or an error naming the key. */
export function list(value: unknown, at: string, what: string): unknown[] {
  if (!Array.isArray(value)) throw shapeError(at, what, value);
  return value;
}

export function map(value: unknown, at: string, what = "a map"): ComposeMap {
  if (!isPlainObject(value)) throw shapeError(at, what, value);
  return value;
}

/**
 * environment, labels or build args: a list of KEY=value or a map. An environment variable without a value comes
 * from the shell running compose; a label without one is empty.
 */
export function keyValues(
  value: unknown,
  at: string,
  shell: Readonly<Record<string, string | undefined>>,
  warnings: string[],
  bare: "from-shell" | "empty" = "from-shell",
) {
  if (value === undefined || value === null) return {};
  let entries: ComposeMap;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (!isScalar(item)) throw shapeError(`${at}[${i}]`, "KEY=value", item);
    });
    entries = listToMap(value);
  } else entries = map(value, at, "a list of KEY=value or a map");
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(entries)) {
    if ((item === null || item === undefined) && bare === "empty") {
      out[key] = "";
      continue;
    }
    if (item === null || item === undefined) {
      const fromShell = shell[key];
      if (fromShell !== undefined) out[key] = fromShell;
      else
        warnings.push(
          `${at}.${key}: takes its value from the shell running compose, where it is not set; not carried over`,
        );
      continue;
    }
    if (!isScalar(item)) throw shapeError(`${at}.${key}`, "a string, number or boolean", item);
    out[key] = String(item);
  }
  return out;
}
