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

describe("interpolation inside env files, as compose-go's dotenv does (issue 20, 3)", () => {
  it("the .env file and a service's env_file interpolate ${VAR:-default}; single quotes stay literal", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  a:\n    image: x/a:1\n    ports: ['${PORT}:8000']\n" +
        "    environment: {FROM_SERVICE: svc}\n    env_file: app.env\n",
      ".env": "BASE=/models\nMODEL_DIR=${BASE}/whisper\nPORT=${PORT_OVERRIDE:-8060}\n",
      "app.env":
        "URL=http://${HOSTNAME:-localhost}:8000\nLITERAL='${BASE}'\nQUOTED=\"${MODEL_DIR}/x\"\n" +
        "FIRST=one\nSECOND=${FIRST}-two\nFROM_ENV=${FROM_SERVICE}\n",
    });
    const r = imp(dir);
    expect(r.services.a.config.env).toEqual({
      URL: "http://localhost:8000",
      LITERAL: "${BASE}",
      QUOTED: "/models/whisper/x",
      FIRST: "one",
      SECOND: "one-two",
      FROM_ENV: "svc",
      FROM_SERVICE: "svc",
    });
    expect(r.services.a.config.ports).toEqual([{ host: 8060, container: 8000 }]);
  });

  it("the command's environment wins inside env files too; a required variable unset is an error naming the file", () => {
    const dir = project({
      "compose.yaml": "services:\n  a:\n    image: x/a:1\n    env_file: app.env\n",
      "app.env": "MODEL=${MODEL:-small}\n",
    });
    expect(imp(dir, { environment: { MODEL: "large" } }).services.a.config.env).toEqual({ MODEL: "large" });
    fs.writeFileSync(path.join(dir, "app.env"), "TOKEN=${TOKEN:?set TOKEN}\n");
    expect(() => imp(dir)).toThrow(
      `services.a.env_file: ${path.join(dir, "app.env")}: required variable TOKEN is missing a value: set TOKEN`,
    );
  });
});

describe("extends (issue 19, defect 4)", () => {
  it("services of the same name in two files of one folder are not a circle: the check keys on the resolved file", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  web:\n    extends: {service: base}\n  base:\n    extends: {file: other.yaml, service: web}\n",
      "other.yaml": "services:\n  web:\n    extends: {service: base}\n  base:\n    image: x/other:1\n",
    });
    const r = imp(dir);
    expect(r.services.web.config.image).toEqual({ repository: "x/other", tag: "1" });
    expect(r.services.base.config.image).toEqual({ repository: "x/other", tag: "1" });
  });

  it("a real circle through another file is still one", () => {
    const dir = project({
      "compose.yaml": "services:\n  web:\n    extends: {file: other.yaml, service: web}\n",
      "other.yaml": "services:\n  web:\n    extends: {file: ./sub/../other.yaml, service: web}\n",
    });
    expect(() => imp(dir)).toThrow("services extend each other in a circle");
  });
});
