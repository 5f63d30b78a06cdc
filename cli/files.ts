/**
 * How the CLIs touch files: stack names checked before they become paths, every output checked before any is
 * written, each written whole (a temporary file in the same folder, then a rename), never through a symbolic
 * link and never over a stack file it was not asked to edit.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ReportedError, type ErrorKind } from "../errors";

/** Stack names as Pulumi allows them in a file name: letters, digits, `_`, `.`, `-`; not starting with a dot. */
export const STACK_NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/;

export function checkStackName(stack: string): void {
  if (!STACK_NAME_RE.test(stack)) {
    throw new ReportedError(
      "invalid",
      `${JSON.stringify(stack)} is not a stack name: letters, digits, _ . - (at most 100, not starting with a dot)`,
    );
  }
}

const STACK_FILE_RE = /^Pulumi\..+\.ya?ml$/;

export interface PlannedWrite {
  readonly path: string;
  readonly text: string;
  /** This write edits the stack file it names (release, import-compose); any other stack file is refused. */
  readonly editsStackFile?: boolean;
}

/** Why a file cannot be written where it was asked to be, or undefined. */
function refusal(write: PlannedWrite): { kind: ErrorKind; message: string } | undefined {
  const folder = path.dirname(path.resolve(write.path));
  const folderStat = fs.statSync(folder, { throwIfNoEntry: false });
  if (!folderStat?.isDirectory()) {
    return { kind: "invalid", message: `cannot write ${write.path}: there is no folder ${folder}` };
  }
  const stat = fs.lstatSync(write.path, { throwIfNoEntry: false });
  if (stat?.isSymbolicLink()) {
    return { kind: "refused", message: `${write.path} is a symbolic link; refusing to write through it` };
  }
  if (stat?.isDirectory()) return { kind: "invalid", message: `${write.path} is a folder, not a file` };
  if (STACK_FILE_RE.test(path.basename(write.path)) && !write.editsStackFile) {
    return { kind: "refused", message: `${write.path} is a stack file; refusing to write anything else over it` };
  }
  return undefined;
}

/** Write a file whole: a temporary file beside it, flushed, then renamed over it (the old mode kept). */
function writeWhole(file: string, text: string): void {
  const mode = fs.statSync(file, { throwIfNoEntry: false })?.mode ?? 0o644;
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = fs.openSync(temp, "wx", mode & 0o777);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/** Check every output, then write each whole; a refused output means nothing was written. */
export function writeAll(writes: readonly PlannedWrite[]): void {
  const seen = new Set<string>();
  for (const write of writes) {
    const resolved = path.resolve(write.path);
    if (seen.has(resolved)) throw new ReportedError("invalid", `${write.path} would be written twice`);
    seen.add(resolved);
    const refused = refusal(write);
    if (refused) throw new ReportedError(refused.kind, `${refused.message}; nothing written`);
  }
  for (const write of writes) writeWhole(write.path, write.text);
}
