/**
 * Compose projects for the import's unit tests: a folder of small files, imported as import-compose does, and the
 * model the imported services build.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { importCompose, type ImportOptions } from "../../compose/import";
import { buildModel } from "../../model";
import { dockerOnly } from "./models";
import { tempDir } from "./gitRepos";

/** A folder holding these files; the compose file is `compose.yaml`. */
export function project(files: Record<string, string>, name = "proj"): string {
  const dir = path.join(tempDir("compose-project"), name);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

export const imp = (dir: string, extra: Partial<ImportOptions> = {}) =>
  importCompose(fs.readFileSync(path.join(dir, "compose.yaml"), "utf8"), { composeDir: dir, host: "gpu", ...extra });

export const HOSTS = { gpu: { dockerHost: "unix:///var/run/docker.sock" } };
export const modelOf = (r: ReturnType<typeof imp>) =>
  dockerOnly(
    buildModel(
      {
        hosts: HOSTS,
        services: Object.fromEntries(Object.entries(r.services).map(([k, v]) => [k, v.config])),
        secrets: Object.fromEntries(r.secrets.map((s) => [s.name, "set"])),
      },
      { stack: "dev", secretKeys: new Set(["secrets"]) },
    ),
  );
