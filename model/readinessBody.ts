/**
 * The body of a declared readiness check, as the switch sends it: inline text, a file of the project, or a
 * multipart/form-data body around a file. Files are read when the model is built, so a missing or oversized file
 * is a config problem at its key path before anything is deployed, and the bytes travel in the push's plan.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { READINESS_BODY_MAX_BYTES } from "../formats";
import type { z } from "zod";
import type { ReadinessBodySchema } from "../stackConfig";
import type { ModelContext } from "./context";
import type { ReadinessBodySpec } from "./types";

type BodyConfig = z.output<typeof ReadinessBodySchema>;

/**
 * The boundary of every multipart body: fixed, so the same file gives the same bytes (an unchanged plan), and long
 * and odd enough that no audio file holds it (checked all the same).
 */
export const MULTIPART_BOUNDARY = "gpu-services-readiness-6a1f0c3e9b";

/** The Content-Type of a multipart body. */
export const MULTIPART_CONTENT_TYPE = `multipart/form-data; boundary=${MULTIPART_BOUNDARY}`;

const MAX = `${READINESS_BODY_MAX_BYTES / 2 ** 20} MiB`;

/** The bytes of a project file, or a problem at `at` (missing, not a file, outside the folder, too large). */
function readProjectFile(ctx: ModelContext, at: readonly PropertyKey[], file: string): Buffer | undefined {
  const folder = path.resolve(ctx.projectDir);
  const full = path.join(folder, file);
  let real: string;
  try {
    real = fs.realpathSync(full);
  } catch {
    ctx.add(
      at,
      `no file "${file}" in the project folder (${folder}); add it to the repository, or give the body inline (text)`,
    );
    return undefined;
  }
  if (path.relative(fs.realpathSync(folder), real).startsWith("..")) {
    ctx.add(at, `"${file}" leads outside the project folder (${folder}) through a link; give a file of the project`);
    return undefined;
  }
  const stat = fs.statSync(real);
  if (!stat.isFile()) {
    ctx.add(at, `"${file}" in the project folder (${folder}) is not a file`);
    return undefined;
  }
  if (stat.size > READINESS_BODY_MAX_BYTES) {
    ctx.add(
      at,
      `"${file}" is ${stat.size} bytes; a readiness body is at most ${MAX} (${READINESS_BODY_MAX_BYTES} bytes)`,
    );
    return undefined;
  }
  return fs.readFileSync(real);
}

/** A multipart/form-data body of one part: the file in `field`, under its base name. */
export function multipartBody(field: string, fileName: string, contentType: string, content: Buffer): Buffer {
  const head =
    `--${MULTIPART_BOUNDARY}\r\n` +
    `Content-Disposition: form-data; name="${field}"; filename="${fileName}"\r\n` +
    `Content-Type: ${contentType}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), content, Buffer.from(`\r\n--${MULTIPART_BOUNDARY}--\r\n`)]);
}

const spec = (kind: ReadinessBodySpec["kind"], bytes: Buffer, what: string): ReadinessBodySpec => ({
  kind,
  base64: bytes.toString("base64"),
  bytes: bytes.length,
  what,
});

/** The body as sent, with the problems of its file at `at` (the key path of `body`). */
export function readinessBody(
  ctx: ModelContext,
  at: readonly PropertyKey[],
  body: BodyConfig,
): ReadinessBodySpec | undefined {
  if (body.text !== undefined) return spec("text", Buffer.from(body.text), "text");
  if (body.file !== undefined) {
    const content = readProjectFile(ctx, [...at, "file"], body.file);
    return content && spec("file", content, `file ${body.file}`);
  }
  const part = body.multipart!;
  const content = readProjectFile(ctx, [...at, "multipart", "file"], part.file);
  if (!content) return undefined;
  if (content.includes(`--${MULTIPART_BOUNDARY}`)) {
    ctx.add([...at, "multipart", "file"], `"${part.file}" holds the multipart boundary "${MULTIPART_BOUNDARY}"`);
    return undefined;
  }
  const bytes = multipartBody(part.field, path.posix.basename(part.file), part.contentType, content);
  return spec("multipart", bytes, `multipart ${part.field}=${part.file} (${part.contentType})`);
}
