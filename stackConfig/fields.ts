/** The small schemas the stack config's objects are made of: ports, durations, sizes, paths, env names, labels. */
import { z } from "zod";
import { DURATION_RE, durationSeconds, ENV_NAME_RE, MIB, PROJECT_FILE_RE, sizeBytes, LABEL_PREFIX } from "../formats";
import type { RelatedPathParams } from "./problems";

export const port = (what: string) => {
  const error = `must be a whole number from 1 to 65535 (${what})`;
  return z.int({ error }).min(1, { error }).max(65535, { error });
};

export const duration = z.string().regex(DURATION_RE, { error: "must be a duration such as 30s, 1m30s or 500ms" });

/** A duration above 0 (a timeout, a period between checks). */
export const positiveDuration = z
  .string()
  .regex(DURATION_RE, { error: "must be a duration above 0, such as 10s or 500ms", abort: true })
  .refine((d) => durationSeconds(d) > 0, { error: "must be a duration above 0, such as 10s or 500ms" });

/** A file of the project, relative to its folder (read when the model is built). */
export const projectFile = z.string().regex(PROJECT_FILE_RE, {
  error:
    "must be a file of the project, relative to its folder, such as readiness/one-second.wav (letters, digits, " +
    "_ . - and /; no .. and not absolute)",
});

export const scalarValue = z
  .union([z.string(), z.number(), z.boolean()], { error: "must be a string, number or boolean" })
  .transform(String);

export const stringMap = z.record(z.string(), scalarValue);

/** An absolute path (starts with /), `where` being "on the host" or "inside the container". */
export const absolutePath = (where: string) =>
  z
    .string()
    .min(1)
    .refine((p) => p.startsWith("/"), {
      error: (issue) => `must be an absolute path ${where} (got ${JSON.stringify(issue.input)})`,
    });

/** /dev/shm's size: whole MiB from 1 MiB (Docker's provider takes MiB), given as `16g` or in bytes. */
export const shmSize = z.union([z.string(), z.number()]).superRefine((size, ctx) => {
  const bytes = sizeBytes(size);
  if (bytes === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `must be a size such as 16g, 512m or a number of bytes (got ${JSON.stringify(size)})`,
    });
  } else if (bytes < MIB || bytes % MIB !== 0) {
    ctx.addIssue({
      code: "custom",
      message: `must be a whole number of MiB, at least 1m (got ${JSON.stringify(size)})`,
    });
  }
});

const ulimitNumber = z.int({ error: "must be a whole number, or -1 for unlimited" }).min(-1, {
  error: "must be a whole number, or -1 for unlimited",
});

/** One resource limit: a number for soft and hard alike, or {soft, hard}; -1 is unlimited. */
export const ulimit = z
  .union([ulimitNumber, z.strictObject({ soft: ulimitNumber, hard: ulimitNumber })], {
    error: "must be a number (-1 for unlimited) or {soft, hard}",
  })
  .superRefine((limit, ctx) => {
    if (typeof limit === "object" && limit.hard !== -1 && (limit.soft === -1 || limit.soft > limit.hard)) {
      ctx.addIssue({ code: "custom", message: `soft (${limit.soft}) may not exceed hard (${limit.hard})` });
    }
  });

/** Env variable names: the keys of `env` and `secretEnv`. */
export const EnvNameSchema = z
  .string()
  .regex(ENV_NAME_RE, { error: "is not a valid env name: not empty, without = or NUL (what Docker takes)" });

/** Keys of user labels: anything but the prefix this program's own labels use. */
export const LabelKeySchema = z.string().refine((key) => !key.startsWith(LABEL_PREFIX), {
  error: `the "${LABEL_PREFIX}" prefix is reserved for labels this program sets`,
});

/** A custom issue at `path`, optionally naming a second key path in full at the end of its message. */
export function issue(
  ctx: z.RefinementCtx,
  path: readonly PropertyKey[],
  message: string,
  related?: readonly PropertyKey[],
): void {
  const params: RelatedPathParams | undefined = related ? { related } : undefined;
  ctx.addIssue({ code: "custom", path: [...path], message, ...(params ? { params } : {}) });
}
