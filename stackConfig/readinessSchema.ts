/**
 * The schemas of `services.<name>.readiness` (the HTTP request the switch probes a copy with before it sends it
 * client requests, and a cluster's readiness probe) and `services.<name>.hold` (how long and how many requests the
 * switch holds while the service is not ready). The body file is read, and the defaults that need the healthcheck
 * or the switch are resolved, by the model (model/readiness.ts).
 */
import { z } from "zod";
import {
  FORM_FIELD_RE,
  HTTP_HEADER_VALUE_RE,
  HTTP_TOKEN_RE,
  MEDIA_TYPE_RE,
  READINESS_BODY_MAX_BYTES,
  READINESS_METHODS,
  URL_PATH_RE,
} from "../formats";
import { issue, port, positiveDuration, projectFile } from "./fields";

/** What a readiness check takes when the key is not given (a check derived from a healthcheck too). */
export const READINESS_DEFAULTS = { timeout: "10s", interval: "1s", passes: 2 } as const;

/** Passes in a row of the check that every service has without a declaration or an HTTP healthcheck: a TCP connect. */
export const TCP_READINESS_PASSES = 1;

/** Requests held at once per route, by default. */
export const HOLD_QUEUE_DEFAULT = 256;

/** Seconds a held request waits beyond the expected load time, by default. */
export const HOLD_SLACK_SECONDS = 30;

const STATUS = "must be an HTTP status from 100 to 599";
const status = z.int({ error: STATUS }).min(100, { error: STATUS }).max(599, { error: STATUS });
const MIB_TEXT = `${READINESS_BODY_MAX_BYTES / 2 ** 20} MiB`;

const headerName = z.string().regex(HTTP_TOKEN_RE, {
  error: "is not an HTTP header name: letters, digits and ! # $ % & ' * + . ^ _ ` | ~ -",
});
const headerValue = z
  .union([z.string(), z.number(), z.boolean()], { error: "must be a string" })
  .transform(String)
  .pipe(z.string().regex(HTTP_HEADER_VALUE_RE, { error: "must be one line of text (no line break)" }));

export const MultipartSchema = z.strictObject({
  /** The form field the file is sent in (`audio` for STT's /transcribe). */
  field: z.string().regex(FORM_FIELD_RE, { error: "must be a form field name: letters, digits, _ . -" }),
  file: projectFile,
  contentType: z
    .string()
    .regex(MEDIA_TYPE_RE, { error: "must be a media type such as audio/wav" })
    .default("application/octet-stream"),
});

export const ReadinessBodySchema = z
  .strictObject({
    text: z
      .string()
      .min(1, { error: "must not be empty" })
      .refine((text) => Buffer.byteLength(text) <= READINESS_BODY_MAX_BYTES, {
        error: `must be at most ${MIB_TEXT}`,
      })
      .optional(),
    file: projectFile.optional(),
    multipart: MultipartSchema.optional(),
  })
  .superRefine((body, ctx) => {
    const given = (["text", "file", "multipart"] as const).filter((key) => body[key] !== undefined);
    if (given.length !== 1) {
      issue(ctx, [], `give exactly one of text, file, multipart (got ${given.join(" and ") || "none"})`);
    }
  });

/** The fields of a readiness check (fieldDocs.ts documents them in the row of `readiness`). */
export const ReadinessFields = z.strictObject({
  method: z.enum(READINESS_METHODS, { error: `must be one of ${READINESS_METHODS.join(", ")}` }).default("GET"),
  path: z.string().regex(URL_PATH_RE, {
    error: "must be a URL path starting with /, such as /health (no spaces, no #)",
  }),
  port: port("a container port listed in ports").optional(),
  scheme: z.enum(["http", "https"], { error: "must be http or https" }).optional(),
  headers: z.record(headerName, headerValue).default({}),
  body: ReadinessBodySchema.optional(),
  expectStatus: z
    .union([status, z.array(status).min(1, { error: "must list at least one status" })], {
      error: `${STATUS}, or a list of them`,
    })
    .optional(),
  timeout: positiveDuration.default(READINESS_DEFAULTS.timeout),
  interval: positiveDuration.default(READINESS_DEFAULTS.interval),
  passes: z
    .int({ error: "must be a whole number of checks from 1 to 100" })
    .min(1, { error: "must be a whole number of checks from 1 to 100" })
    .max(100, { error: "must be a whole number of checks from 1 to 100" })
    .default(READINESS_DEFAULTS.passes),
});

export const ReadinessSchema = ReadinessFields.superRefine((readiness, ctx) => {
  if (readiness.body !== undefined && (readiness.method === "GET" || readiness.method === "HEAD")) {
    issue(ctx, ["body"], `needs method POST or PUT (a ${readiness.method} carries no body)`);
  }
  if (readiness.body?.multipart === undefined) return;
  for (const name of Object.keys(readiness.headers)) {
    if (name.toLowerCase() === "content-type") {
      issue(
        ctx,
        ["headers", name],
        "is set by the multipart body (multipart/form-data with its boundary); remove it, or give " +
          "body.multipart.contentType for the file's part",
      );
    }
  }
});

const HOLD_SECONDS = "must be a whole number of seconds from 0 to 3600";
const HOLD_QUEUE = "must be a whole number of requests from 1 to 100000";

/** The fields of a hold (fieldDocs.ts documents them in the row of `hold`). */
export const HoldSchema = z.strictObject({
  seconds: z.int({ error: HOLD_SECONDS }).min(0, { error: HOLD_SECONDS }).max(3600, { error: HOLD_SECONDS }).optional(),
  queue: z
    .int({ error: HOLD_QUEUE })
    .min(1, { error: HOLD_QUEUE })
    .max(100000, { error: HOLD_QUEUE })
    .default(HOLD_QUEUE_DEFAULT),
  replay: z.boolean({ error: "must be true or false" }).default(true),
});

type ReadinessConfig = z.output<typeof ReadinessSchema>;
type PortConfig = { readonly container: number; readonly protocol: "tcp" | "udp" };

/** A declared check probes a tcp container port the service lists (the switch dials it, a cluster probes it). */
export function checkReadinessPort(
  service: { readonly readiness?: ReadinessConfig; readonly ports: readonly PortConfig[] },
  ctx: z.RefinementCtx,
): void {
  const { readiness, ports } = service;
  if (!readiness) return;
  const tcp = ports.filter((p) => p.protocol === "tcp").map((p) => p.container);
  if (readiness.port === undefined) {
    if (tcp.length === 0) {
      issue(ctx, ["readiness"], "has no port to probe: list a tcp port in ports (the first one is probed)");
    }
  } else if (!tcp.includes(readiness.port)) {
    issue(
      ctx,
      ["readiness", "port"],
      `must be a container port listed in ports over tcp (listed: ${[...new Set(tcp)].join(", ") || "none"})`,
    );
  }
}
