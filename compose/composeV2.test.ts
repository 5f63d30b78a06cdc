/**
 * What `docker compose` v2 reads that docker-compose 1.29 does not, or reads differently, each on a small file of
 * its own and checked against compose-go's behaviour (the compose specification's reference loader): COMPOSE_*
 * variables from `.env`, `include`, interpolation inside env files, env names that are not shell identifiers,
 * GPUs shared on purpose, interpolated specs that come out empty, compose's defaults (restart, stop grace period),
 * and the import's own rules (secret names, where a secret came from, strict durations, extends by file).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildModel } from "../config/model";
import { tempDir } from "../test/gitRepos";
import { importCompose, type ImportOptions } from "./import";

/** A folder holding these files; the compose file is `compose.yaml`. */
function project(files: Record<string, string>, name = "proj"): string {
  const dir = path.join(tempDir("compose-v2"), name);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

const imp = (dir: string, extra: Partial<ImportOptions> = {}) =>
  importCompose(fs.readFileSync(path.join(dir, "compose.yaml"), "utf8"), { composeDir: dir, host: "gpu", ...extra });

const HOSTS = { gpu: { dockerHost: "unix:///var/run/docker.sock" } };
const modelOf = (r: ReturnType<typeof imp>) =>
  buildModel(
    {
      hosts: HOSTS,
      services: Object.fromEntries(Object.entries(r.services).map(([k, v]) => [k, v.config])),
      secrets: Object.fromEntries(r.secrets.map((s) => [s.name, "set"])),
    },
    { stack: "dev", secretKeys: new Set(["secrets"]) },
  );

describe("COMPOSE_PROFILES from .env (issue 20, 1)", () => {
  const files = {
    "compose.yaml": "services:\n  cpu: {image: x/a:1, profiles: [cpu]}\n  gpu: {image: x/b:1, profiles: [gpu]}\n",
    ".env": "COMPOSE_PROFILES=gpu\n",
  };

  it("is read from the .env file, as compose reads every COMPOSE_ variable there", () => {
    const r = imp(project(files));
    expect(Object.keys(r.services)).toEqual(["gpu"]);
    expect(r.skipped).toEqual({ cpu: ["cpu"] });
  });

  it("in compose's precedence: --profile over the command's environment over .env", () => {
    const dir = project(files);
    expect(Object.keys(imp(dir, { environment: { COMPOSE_PROFILES: "cpu" } }).services)).toEqual(["cpu"]);
    expect(Object.keys(imp(dir, { environment: { COMPOSE_PROFILES: "gpu" }, profiles: ["cpu"] }).services)).toEqual([
      "cpu",
    ]);
    expect(Object.keys(imp(dir, { environment: { COMPOSE_PROFILES: " cpu , gpu" } }).services)).toEqual(["cpu", "gpu"]);
  });

  it("an import that would write no service is an error naming the profiles there are", () => {
    const dir = project({ "compose.yaml": files["compose.yaml"] });
    expect(() => imp(dir)).toThrow(
      "no service to import: every service is in a profile that is not active (profiles: cpu, gpu); " +
        "--profile <name>, or COMPOSE_PROFILES",
    );
  });
});
