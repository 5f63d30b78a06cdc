/** The host's file system, through its shell (ssh or local): bind sources' folders and disk space for images. */
import * as path from "node:path";
import { runOnHost } from "../../clients";
import { fail, ok, warn, type HostCheck } from "./types";

const GIB = 2 ** 30;
/** Free space below which image pulls and builds (GPU images are several GB) will fail, or soon. */
export const DISK_FAIL_GIB = 5;
export const DISK_WARN_GIB = 20;

export const bindSourcesCheck: HostCheck = async ({ services, cli, host }) => {
  const binds = services.flatMap((s) => s.binds.map((b) => ({ s, b })));
  if (binds.length === 0) return ok("no bind mounts");
  const problems: string[] = [];
  for (const { s, b } of binds) {
    // Docker creates a missing source folder: its parent must exist, and be writable.
    const folder = path.posix.dirname(b.source);
    const result = runOnHost(cli, ["test", "-d", folder, "-a", "-w", folder]);
    if (!result) return warn("bind sources not checked: no shell on a tcp:// host", "check the folders by hand");
    if ((await result).code !== 0)
      problems.push(`${folder} (parent of services.${s.name} bind ${b.source}) does not exist or is not writable`);
  }
  if (problems.length > 0)
    return fail(problems.join("; "), `create the folder(s) on ${host.name} as the deploy user (mkdir -p)`);
  return ok(
    `bind sources' parent folders exist and are writable: ${binds.map(({ b }) => path.posix.dirname(b.source)).join(", ")}`,
  );
};

export const diskSpaceCheck: HostCheck = async ({ cli, snapshot, host }) => {
  const root = snapshot.engine.rootDir;
  const result = runOnHost(cli, ["df", "-Pk", root]);
  if (!result) return warn(`disk space of ${root} not checked: no shell on a tcp:// host`, "check it by hand (df -h)");
  const { code, stdout, stderr } = await result;
  const fields = stdout.trim().split("\n").at(-1)?.split(/\s+/) ?? [];
  const freeKiB = Number(fields[3]);
  if (code !== 0 || !Number.isFinite(freeKiB))
    return warn(`disk space of ${root} not read: ${stderr.trim() || stdout.trim()}`, "check it by hand (df -h)");
  const gib = (freeKiB * 1024) / GIB;
  const summary = `${gib.toFixed(1)} GiB free for images in ${root} on ${host.name}`;
  if (gib < DISK_FAIL_GIB)
    return fail(summary, `free space (docker -H ${host.dockerHost} image prune) or grow the disk`);
  if (gib < DISK_WARN_GIB) return warn(summary, `GPU images take several GB: free space (docker image prune)`);
  return ok(summary);
};
