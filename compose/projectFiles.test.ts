/**
 * What compose reads from a project's files besides the compose file, as `docker compose` v2 reads it and
 * docker-compose 1.29 did not or read differently, each on a small project of its own and checked against
 * compose-go's behaviour (the compose specification's reference loader): COMPOSE_* variables from `.env`,
 * interpolation inside env files, `include`, extends by file, interpolated specs that come out empty, and env_file
 * keys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { project, imp } from "../test/support/composeProjects";
import { interpolate } from "./interpolate";

describe("COMPOSE_PROFILES from .env", () => {
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

describe("interpolation inside env files, as compose-go's dotenv does", () => {
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

describe("extends across files", () => {
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

describe("top-level include, as compose 2.20+ reads it", () => {
  const files = {
    "compose.yaml":
      "include:\n  - rag/compose.yaml\n  - path: llm/compose.yaml\n    env_file: llm/custom.env\n" +
      "services:\n  ui:\n    image: x/ui:1\n    ports: ['${UI_PORT:-3000}:3000']\n",
    ".env": "LLM_TAG=7\n",
    "rag/compose.yaml":
      "services:\n  embed:\n    image: nvcr.io/nim/embed:${EMBED_TAG}\n    volumes: [./models:/models, cache:/cache]\n" +
      "    env_file: embed.env\nvolumes:\n  cache: {}\n",
    "rag/.env": "EMBED_TAG=1.2\n",
    "rag/embed.env": "MODEL=${MODEL_NAME:-e5}\n",
    "llm/compose.yaml":
      "services:\n  llm:\n    image: x/llm:${LLM_TAG}\n    volumes: [{type: bind, source: ./cache, target: /c}]\n",
    "llm/custom.env": "LLM_TAG=2\n",
  };

  it("its services are part of the project, with their own relative paths and .env; the including file's variables win", () => {
    const dir = project(files);
    const r = imp(dir);
    expect(Object.keys(r.services).sort()).toEqual(["embed", "llm", "ui"]);
    expect(r.services.embed.config).toMatchObject({
      image: { repository: "nvcr.io/nim/embed", tag: "1.2" },
      binds: [{ source: path.join(dir, "rag", "models"), target: "/models" }],
      volumes: [{ name: "proj_cache", target: "/cache", external: true }],
      env: { MODEL: "e5" },
    });
    expect(r.services.llm.config).toMatchObject({
      image: { repository: "x/llm", tag: "7" },
      binds: [{ source: path.join(dir, "llm", "cache"), target: "/c" }],
    });
    expect(r.warnings.join("\n")).not.toContain("include");
  });

  it("project_directory: the included file's paths and .env are those of the folder it names", () => {
    const dir = project({
      "compose.yaml": "include:\n  - path: [nim/compose.yaml, nim/override.yaml]\n    project_directory: data\n",
      "nim/compose.yaml": "services:\n  nim:\n    image: x/nim:${NIM_TAG}\n    volumes: ['./cache:/opt/nim/.cache']\n",
      "nim/override.yaml": "services:\n  nim:\n    environment: {NIM_LOG: debug}\n",
      "data/.env": "NIM_TAG=1.8\n",
    });
    expect(imp(dir).services.nim.config).toMatchObject({
      image: { repository: "x/nim", tag: "1.8" },
      binds: [{ source: path.join(dir, "data", "cache"), target: "/opt/nim/.cache" }],
      env: { NIM_LOG: "debug" },
    });
  });

  it("a service both included and local is refused, as compose refuses it", () => {
    const dir = project({ ...files, "rag/compose.yaml": "services:\n  ui:\n    image: x/other-ui:1\n" });
    expect(() => imp(dir)).toThrow(
      "services.ui: the included file include[0] (rag/compose.yaml) defines it too; compose refuses a conflict",
    );
  });

  it("refuses an include that is not a list, a file that includes itself, and a missing file", () => {
    expect(() => imp(project({ "compose.yaml": "include: a.yaml\nservices: {}\n" }))).toThrow(
      "include: must be a list of files or {path, project_directory, env_file}",
    );
    const loop = project({
      "compose.yaml": "include: [a.yaml]\nservices:\n  x: {image: x/x:1}\n",
      "a.yaml": "include: [b/b.yaml]\nservices: {}\n",
      "b/b.yaml": "include: [../a.yaml]\nservices: {}\n",
    });
    expect(() => imp(loop)).toThrow("include[0]: include cycle: ../a.yaml includes b.yaml includes ../a.yaml");
    expect(() => imp(project({ "compose.yaml": "include: [nope.yaml]\nservices: {}\n" }))).toThrow(
      "include[0]: cannot read the included file",
    );
    expect(() => imp(project({ "compose.yaml": "include: [oci://docker.io/x/rag:1]\nservices: {}\n" }))).toThrow(
      'include[0].path: "oci://docker.io/x/rag:1" is a remote file; include a local copy instead',
    );
  });
});

describe("an interpolated volume or port that comes out empty", () => {
  const photos = (env: string, volume = "${UPLOAD_LOCATION}:/usr/src/app/upload") =>
    project({
      "compose.yaml": `services:\n  server:\n    image: x/immich:1\n    volumes: ['${volume}']\n`,
      ".env": env,
    });

  it("a volume whose source is empty is refused as compose refuses it, naming the key path and the variable", () => {
    expect(() => imp(photos("UPLOAD_LOCATION=\n"))).toThrow(
      'services.server.volumes[0]: ":/usr/src/app/upload" has an empty section between colons (compose refuses it); ' +
        "UPLOAD_LOCATION is empty or unset",
    );
    expect(() => imp(photos(""))).toThrow("empty section between colons");
    expect(() => imp(photos("", "${CACHE}"))).toThrow(
      "services.server.volumes[0]: an empty volume spec (compose refuses it); CACHE is empty or unset",
    );
    expect(() => imp(photos("", "./a:/b:ro:z"))).toThrow('"./a:/b:ro:z" has too many colons (compose refuses it)');
  });

  it("in an included file too, the variable is named", () => {
    const dir = project({
      "compose.yaml": "include: [photos/compose.yaml]\n",
      "photos/compose.yaml": "services:\n  server:\n    image: x/immich:1\n    volumes: ['${UPLOAD_LOCATION}:/data']\n",
    });
    expect(() => imp(dir)).toThrow(
      'services.server.volumes[0]: ":/data" has an empty section between colons (compose refuses it); ' +
        "UPLOAD_LOCATION is empty or unset",
    );
  });

  it("set, the same volume is the user's library, a bind", () => {
    const dir = photos("UPLOAD_LOCATION=./library\n");
    expect(imp(dir).services.server.config.binds).toEqual([
      { source: path.join(dir, "library"), target: "/usr/src/app/upload" },
    ]);
  });

  it("a port without its container part is refused as compose refuses it; one without its host part is random, said", () => {
    const ports = (port: string, env = "") =>
      imp(project({ "compose.yaml": `services:\n  a:\n    image: x/a:1\n    ports: ['${port}']\n`, ".env": env }));
    expect(() => ports("${PORT}")).toThrow(
      "services.a.ports[0]: an empty port spec (compose refuses it); PORT is empty or unset",
    );
    expect(() => ports("8000:${TARGET}")).toThrow(
      'services.a.ports[0]: "8000:" has no container port (compose refuses it); TARGET is empty or unset',
    );
    expect(ports("${HOST_PORT}:8000").warnings).toContain(
      'services.a.ports[0]: ":8000" publishes on a random host port; not carried over; HOST_PORT is empty or unset',
    );
  });
});

describe("a $ before no name stays as it is, as compose-go's template leaves it", () => {
  it("`$(id -u)` in the NVIDIA RAG blueprint's .env is no error", () => {
    expect(interpolate("$(id -u) costs $5 and $", { lookup: () => undefined, onUnset: () => {} })).toBe(
      "$(id -u) costs $5 and $",
    );
  });
});

describe("COMPOSE_PROJECT_NAME from .env or the environment, as every COMPOSE_ variable compose reads", () => {
  it("names the project over the top-level name:, so named volumes are the ones compose made", () => {
    const dir = project({
      "compose.yaml":
        "name: photos\nservices:\n  a:\n    image: x/a:1\n    volumes: [data:/data]\nvolumes:\n  data: {}\n",
      ".env": "COMPOSE_PROJECT_NAME=library\n",
    });
    const r = imp(dir);
    expect(r.project).toBe("library");
    expect(r.services.a.config.volumes).toEqual([{ name: "library_data", target: "/data", external: true }]);
    expect(imp(dir, { environment: { COMPOSE_PROJECT_NAME: "shell" } }).project).toBe("shell");
    expect(() => imp(dir, { environment: { COMPOSE_PROJECT_NAME: "My.Library" } })).toThrow(
      'COMPOSE_PROJECT_NAME: "My.Library" is not a project name compose takes (lowercase letters, digits, _ and -, ' +
        "starting with a letter or digit)",
    );
  });
});

describe("env_file keys besides path and required", () => {
  it("are named in a warning (the file is read as a dotenv file), never dropped silently", () => {
    const dir = project({
      "compose.yaml": "services:\n  a:\n    image: x/a:1\n    env_file: [{path: app.env, format: raw}]\n",
      "app.env": "A=1\n",
    });
    expect(imp(dir).warnings).toContain(
      "services.a.env_file[0].format: not carried over (the file is read as a dotenv file)",
    );
  });
});
