/** The one plain-object guard: YAML and config values that are maps (not null, not lists). */

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The value if it is a plain object, else an empty one. */
export function asPlainObject(value: unknown): PlainObject {
  return isPlainObject(value) ? value : {};
}
