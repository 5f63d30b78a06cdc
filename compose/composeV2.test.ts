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
import { buildModel } from "../model";
import { tempDir } from "../test/support/gitRepos";
import { exportCompose } from "./export";
import { CARRIED, FROM_COMPOSE, importCompose, type ImportOptions } from "./import";
import { interpolate } from "./interpolate";

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

describe("top-level include, as compose 2.20+ reads it (issue 20, 2)", () => {
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

describe("env names that are not shell identifiers (issue 20, 4)", () => {
  it("Elasticsearch's and Java's dotted names come over, through the stack schema, as Docker takes them", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  es:\n    image: x/es:8\n    environment:\n      - node.name=es01\n      - discovery.type=single-node\n" +
        "      - cluster.routing.allocation.disk.watermark.low=85%\n      - ES_JAVA_OPTS=-Xms1g\n      - xpack.security.enabled=false\n",
    });
    const spec = modelOf(imp(dir)).services[0];
    expect(spec.env).toEqual({
      ES_JAVA_OPTS: "-Xms1g",
      "cluster.routing.allocation.disk.watermark.low": "85%",
      "discovery.type": "single-node",
      "node.name": "es01",
      "xpack.security.enabled": "false",
    });
  });

  it("what Docker refuses stays refused: an empty name, a name with =, a name with NUL", () => {
    for (const bad of ["", "A=B", "A\0B"]) {
      expect(() =>
        buildModel(
          { hosts: HOSTS, services: { a: { host: "gpu", image: { repository: "x/a" }, env: { [bad]: "1" } } } },
          { stack: "dev" },
        ),
      ).toThrow("is not a valid env name");
    }
  });
});

describe("export-compose with env names that are not shell identifiers (issue 20, 4)", () => {
  it("a secret env value is written as a variable compose can interpolate", () => {
    const model = buildModel(
      {
        hosts: HOSTS,
        services: { es: { host: "gpu", image: { repository: "x/es" }, secretEnv: { "elastic.password": "esPass" } } },
        secrets: { esPass: "s3cret" },
      },
      { stack: "dev", secretKeys: new Set(["secrets"]) },
    );
    const text = [...exportCompose(model).values()][0];
    expect(text).toContain("elastic.password: ${elastic_password}");
  });
});

describe("what goes to secretEnv (issue 20, 7; issue 19, defects 1 and 2)", () => {
  it("a flag, a number or an empty value stays plain, whatever its name; a credential goes to secretEnv", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  ui:\n    image: x/ui:1\n    environment:\n      DISABLE_PASSWORD_LOGIN: 'false'\n" +
        "      API_KEY_REQUIRED: 'True'\n      MAX_TOKENS: 4096\n      SECRET_KEY: ''\n      TOKEN_TTL: '1.5'\n" +
        "      HF_TOKEN: hf_abc\n      WEBUI_SECRET_KEY: t0p-s3cret\n",
    });
    const r = imp(dir);
    expect(r.services.ui.config.env).toEqual({
      DISABLE_PASSWORD_LOGIN: "false",
      API_KEY_REQUIRED: "True",
      MAX_TOKENS: "4096",
      SECRET_KEY: "",
      TOKEN_TTL: "1.5",
    });
    expect(r.services.ui.config.secretEnv).toEqual({ HF_TOKEN: "hfToken", WEBUI_SECRET_KEY: "webuiSecretKey" });
  });

  it("secret names are unique by construction: each service is bound to its own value, every value listed", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  a: {image: x/a:1, environment: [Y_HF_TOKEN=three]}\n" +
        "  x: {image: x/x:1, environment: [HF_TOKEN=one]}\n  y: {image: x/y:1, environment: [HF_TOKEN=two]}\n" +
        "  z: {image: x/z:1, environment: [HF_TOKEN=one]}\n",
    });
    const r = imp(dir);
    const value = Object.fromEntries(r.secrets.map((s) => [s.name, s.value]));
    const bound = (svc: string) =>
      value[(r.services[svc].config.secretEnv as Record<string, string>)[svc === "a" ? "Y_HF_TOKEN" : "HF_TOKEN"]];
    expect({ a: bound("a"), x: bound("x"), y: bound("y"), z: bound("z") }).toEqual({
      a: "three",
      x: "one",
      y: "two",
      z: "one",
    });
    expect(r.secrets.map((s) => s.value).sort()).toEqual(["one", "three", "two"]);
    expect(new Set(r.secrets.map((s) => s.name)).size).toBe(3);
  });

  it("a secret name can be set with pulumi config --path: no dots from an env name", () => {
    const dir = project({ "compose.yaml": "services:\n  es: {image: x/es:8, environment: [elastic.password=pw]}\n" });
    expect(imp(dir).services.es.config.secretEnv).toEqual({ "elastic.password": "elasticPassword" });
  });

  it("a secret from an env_file is reported with its real source: the file and the key", () => {
    const dir = project({
      "compose.yaml": "services:\n  a:\n    image: x/a:1\n    env_file: [common.env, app.env]\n",
      "common.env": "PLAIN=1\n",
      "app.env": "HF_TOKEN=hf_file\n",
    });
    const [secret] = imp(dir).secrets;
    expect(secret.from).toBe(`HF_TOKEN in ${path.join(dir, "app.env")} (services.a.env_file[1])`);
  });
});

describe("compose durations, strictly (issue 19, defect 3; issue 20, 8)", () => {
  const grace = (value: string) =>
    imp(project({ "compose.yaml": `services:\n  a:\n    image: x/a:1\n    stop_grace_period: ${value}\n` }));

  it("takes Go durations as compose does: 1m30s, 500ms, 2h, 0", () => {
    expect(grace("1m30s").services.a.config.stopGraceSeconds).toBe(90);
    expect(grace("2m").services.a.config.stopGraceSeconds).toBe(120);
    expect(grace('"0"').services.a.config.stopGraceSeconds).toBe(0);
  });

  it("refuses what compose refuses, naming the key path: a number without unit, a unit missing at the end, words", () => {
    for (const bad of ['"10"', "10", '"abc"', '"1m30"', '"-5s"', '""']) {
      expect(() => grace(bad), bad).toThrow(
        /^services\.a\.stop_grace_period: .* is not a compose duration \(a number and a unit: 10s, 1m30s, 500ms\)$/,
      );
    }
    expect(() =>
      imp(
        project({
          "compose.yaml": "services:\n  a:\n    image: x/a:1\n    healthcheck: {test: [CMD, 'true'], interval: '30'}\n",
        }),
      ),
    ).toThrow('services.a.healthcheck.interval: "30" is not a compose duration');
  });

  it("a part of a second is cut as compose cuts it, and said", () => {
    const r = grace("1500ms");
    expect(r.services.a.config.stopGraceSeconds).toBe(1);
    expect(r.warnings).toContain("services.a.stop_grace_period: 1500ms is taken as 1 s (Docker takes whole seconds)");
  });

  it("without stop_grace_period, compose's 10 s, not the stack's 30 s", () => {
    const r = imp(project({ "compose.yaml": "services:\n  a:\n    image: x/a:1\n" }));
    expect(r.services.a.config.stopGraceSeconds).toBe(10);
    expect(modelOf(r).services[0].stopGraceSeconds).toBe(10);
  });
});

describe("restart as compose runs it (issue 20, 9)", () => {
  const restartOf = (svc: string) => {
    const r = imp(project({ "compose.yaml": `services:\n  a:\n    image: x/a:1\n${svc}` }));
    return { restart: modelOf(r).services[0].restart, warnings: r.warnings };
  };

  it("without restart: compose's no, whatever the stack's default", () => {
    expect(restartOf("").restart).toBe("no");
  });

  it("deploy.restart_policy is what compose v2 runs, over restart: (its conditions mapped to Docker's policies)", () => {
    expect(restartOf("    deploy: {restart_policy: {condition: any}}\n").restart).toBe("always");
    expect(restartOf("    deploy: {restart_policy: {condition: none}}\n").restart).toBe("no");
    expect(restartOf("    restart: always\n    deploy: {restart_policy: {condition: on-failure}}\n").restart).toBe(
      "on-failure",
    );
    const limited = restartOf("    deploy: {restart_policy: {condition: on-failure, max_attempts: 3, delay: 5s}}\n");
    expect(limited.restart).toBe("on-failure");
    expect(limited.warnings).toEqual([
      "services.a.deploy.restart_policy.max_attempts: the retry limit 3 is not carried over",
      "services.a.deploy.restart_policy.delay: not carried over (Docker restarts with its own back-off)",
    ]);
  });
});

describe("an interpolated volume or port that comes out empty (issue 20, 6)", () => {
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

describe("several services on one GPU (issue 20, 5)", () => {
  const gpu = (id: string) =>
    `    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ['${id}'], capabilities: [gpu]}]}}}\n`;
  const dir = () =>
    project({
      "compose.yaml":
        "services:\n" +
        ["embed", "rerank", "ocr", "parse", "vlm"].map((s) => `  ${s}:\n    image: x/${s}:1\n${gpu("0")}`).join("") +
        `  llm:\n    image: x/llm:1\n${gpu("1")}`,
    });

  it("a device the compose file itself shares is imported with shareGpu on each service, and said", () => {
    const r = imp(dir());
    const shared = Object.entries(r.services)
      .filter(([, s]) => s.config.shareGpu === true)
      .map(([n]) => n);
    expect(shared).toEqual(["embed", "rerank", "ocr", "parse", "vlm"]);
    expect(r.warnings).toContain(
      'services.embed, services.rerank, services.ocr, services.parse, services.vlm: share GPU "0" (device_ids), as ' +
        "compose runs them; imported with shareGpu: true",
    );
    const model = modelOf(r);
    expect(model.services.filter((s) => s.shareGpu).map((s) => s.name)).toEqual([
      "embed",
      "ocr",
      "parse",
      "rerank",
      "vlm",
    ]);
  });

  it("a service picked alone shares with nothing", () => {
    const r = imp(dir(), { only: ["embed"] });
    expect(r.services.embed.config.shareGpu).toBeUndefined();
  });
});

describe("a $ before no name stays as it is, as compose-go's template leaves it", () => {
  it("`$(id -u)` in the NVIDIA RAG blueprint's .env is no error", () => {
    expect(interpolate("$(id -u) costs $5 and $", { lookup: () => undefined, onUnset: () => {} })).toBe(
      "$(id -u) costs $5 and $",
    );
  });
});

describe("COMPOSE_PROJECT_NAME from .env or the environment (issue 20, 1: every COMPOSE_ variable compose reads)", () => {
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

describe("secret names the stack already has (issue 19, defect 1, across imports)", () => {
  it("are never given to a new value: its printed command cannot overwrite another service's secret", () => {
    const dir = project({ "compose.yaml": "services:\n  b: {image: x/b:1, environment: [HF_TOKEN=two]}\n" });
    const r = imp(dir, { takenSecretNames: ["hfToken"] });
    expect(r.services.b.config.secretEnv).toEqual({ HF_TOKEN: "bHfToken" });
    expect(r.secrets.map((s) => s.name)).toEqual(["bHfToken"]);
  });
});

describe("FROM_COMPOSE: how import-compose fills each field of the deployed service", () => {
  it("names every field a built service has (tsc holds it to ServiceSpec; this holds it to what the model builds)", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  a:\n    image: x/a:1\n    ports: ['8000:8000']\n    healthcheck: {test: [CMD, 'true']}\n" +
        "    command: [serve]\n    entrypoint: [python]\n    user: '1000'\n    shm_size: 1g\n    cpus: 2\n    ipc: host\n" +
        "    ulimits: {memlock: -1}\n    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]}}}\n",
    });
    const spec = modelOf(imp(dir)).services[0];
    // `scheduling` is built only for a service on a cluster, which cannot have this one's ulimits.
    expect(Object.keys(FROM_COMPOSE).sort()).toEqual([...Object.keys(spec), "scheduling"].sort());
    expect([...CARRIED].sort()).toEqual(
      [
        ...["build", "command", "container_name", "cpus", "deploy", "entrypoint", "env_file", "environment"],
        ...["extends"],
        ...["gpus", "healthcheck", "image", "ipc", "labels", "ports", "profiles", "restart", "shm_size"],
        ...["stop_grace_period", "ulimits", "user", "volumes"],
      ].sort(),
    );
  });
});

describe("cpus, compose's CPU limit", () => {
  const withCpus = (value: string) =>
    imp(project({ "compose.yaml": `services:\n  a:\n    image: x/a:1\n    cpus: ${value}\n` }));

  it("comes over as the service's cpus, from a number or a numeric string, and reaches the model", () => {
    expect(withCpus("1.5").services.a.config.cpus).toBe(1.5);
    expect(withCpus('"0.5"').services.a.config.cpus).toBe(0.5);
    expect(modelOf(withCpus("2")).services[0].cpus).toBe(2);
  });

  it("a value that is no number of CPUs above 0 is refused with its key path", () => {
    for (const bad of ['"abc"', "0", "-1", '""']) {
      expect(() => withCpus(bad), bad).toThrow(/^services\.a\.cpus: /);
    }
  });
});
