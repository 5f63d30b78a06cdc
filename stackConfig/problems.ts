/**
 * Config problems: what is wrong at which key path, the one error that reports all of a stack's problems, and
 * the translation of zod issues into those problems. Nothing here needs the Pulumi runtime.
 */
import { z } from "zod";
import { ReportedError } from "../errors";
import { formatPath } from "../formats";
import { CONFIG_NAMESPACE } from "./namespace";

export interface ConfigProblem {
  /** Full key path below the config namespace, for example `services.stt.ports[0].host`. */
  readonly path: string;
  readonly message: string;
}

/**
 * Every problem in a stack's config, reported at once. Its message names the stack, each key path and what is
 * allowed; it is all a person needs to read (the program hands it to Pulumi as a `RunError`, printed alone).
 */
export class StackConfigError extends ReportedError {
  constructor(
    /** The stack whose config is invalid (not `stack`: that is Error's stack trace). */
    readonly stackName: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    const lines = problems.map((problem) => `  - ${problem.path || "(root)"}: ${problem.message}`);
    const count = `${problems.length} config problem${problems.length === 1 ? "" : "s"}`;
    super(
      "config",
      `Stack "${stackName}" has ${count} (keys under "${CONFIG_NAMESPACE}:" in Pulumi.${stackName}.yaml); ` +
        `nothing was deployed:\n${lines.join("\n")}`,
    );
    this.name = "StackConfigError";
  }
}

/**
 * A custom zod issue may name a second key path (relative to the same schema root) in its message, as
 * `params.related`; the message then ends with that path written in full (`… by services.stt.volumes[0]`).
 */
export interface RelatedPathParams {
  readonly related: readonly PropertyKey[];
}

function valueAt(root: unknown, segments: readonly PropertyKey[]): unknown {
  let value: unknown = root;
  for (const segment of segments) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** The keys a strict object schema allows at a path, for "unknown key" messages. */
function allowedKeys(schema: z.ZodType, segments: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  const unwrap = () => {
    for (;;) {
      const def = (current as { def?: { type?: string; innerType?: unknown; in?: unknown } }).def;
      if (["optional", "default", "prefault", "nullable"].includes(def?.type ?? "")) current = def!.innerType;
      else if (def?.type === "pipe") current = def.in;
      else return;
    }
  };
  for (const segment of segments) {
    unwrap();
    const def = (
      current as { def: { type: string; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown } }
    ).def;
    if (def.type === "object" && def.shape) current = def.shape[String(segment)];
    else if (def.type === "array") current = def.element;
    else if (def.type === "record") current = def.valueType;
    else return [];
    if (!current) return [];
  }
  unwrap();
  const def = (current as { def?: { shape?: Record<string, unknown>; type?: string; keyType?: unknown } }).def;
  if (def?.type === "record") {
    // A record keyed by an enum (ulimits): its keys are the enum's values.
    const keyOptions = (def.keyType as { options?: unknown[] } | undefined)?.options;
    return keyOptions ? keyOptions.map(String) : [];
  }
  return def?.shape ? Object.keys(def.shape) : [];
}

/** ` (got 70000)` for a short scalar, nothing for objects, long values and values that must not be printed. */
function describe(value: unknown): string {
  if (value === undefined) return "";
  const json = JSON.stringify(value);
  if (json === undefined || json.length > 60 || (typeof value === "object" && value !== null)) return "";
  return ` (got ${json})`;
}

export interface ZodProblemOptions {
  /** Key paths (full, as formatPath writes them) whose values must never appear in a message. */
  readonly sensitive?: (path: readonly PropertyKey[]) => boolean;
}

/** The zod issues of parsing `input` with `schema`, as problems at full key paths below `prefix`. */
export function zodProblems(
  error: z.ZodError,
  schema: z.ZodType,
  input: unknown,
  prefix: readonly PropertyKey[],
  options: ZodProblemOptions = {},
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const relative = issue.path;
    const full = [...prefix, ...relative];
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeys(schema, relative);
      for (const key of issue.keys) {
        problems.push({
          path: formatPath([...full, key]),
          message: `unknown key; allowed here: ${allowed.join(", ")}`,
        });
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      problems.push({ path: formatPath(full), message: issue.issues.map((inner) => inner.message).join("; ") });
      continue;
    }
    if (issue.code === "custom") {
      const related = (issue.params as RelatedPathParams | undefined)?.related;
      const message = related ? `${issue.message} ${formatPath([...prefix, ...related])}` : issue.message;
      problems.push({ path: formatPath(full), message });
      continue;
    }
    const value = valueAt(input, relative);
    const shown = options.sensitive?.(full) ? "" : describe(value);
    const message =
      value === undefined && (issue.code === "invalid_type" || issue.code === "invalid_union")
        ? `is required: ${issue.message.replace(/^Invalid input: expected (\w+), received undefined$/, "a $1")}`
        : `${issue.message}${shown}`;
    problems.push({ path: formatPath(full), message });
  }
  return problems;
}
