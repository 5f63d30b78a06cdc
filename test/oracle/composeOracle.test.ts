/**
 * import-compose against an oracle no one here wrote: Debian's docker-compose 1.29 (`docker-compose config`),
 * on real GPU compose files of public AI-serving projects (test/fixtures/compose-corpus, each byte for byte
 * with its source in source.json). For every file and service 1.29 accepts, what import-compose writes must
 * evaluate (through the stack's model) to what the oracle resolves: ports, named volumes by their real names,
 * absolute binds, environment, GPU reservation, command, entrypoint, user, restart, stop grace period,
 * healthcheck, shm, ipc and ulimits; whatever is not carried over must be named in a warning. Files 1.29 refuses
 * (compose v2 syntax) or reads otherwise than compose v2 are still imported, and checked for what they are made of.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { buildModel, type DockerServiceSpec } from "../../model";
import { durationSeconds, sizeBytes, isPlainObject } from "../../formats";
import { importCompose, splitCommand, type ImportResult } from "../../compose/import";
import { tempDir } from "../support/gitRepos";
import { dockerOnly } from "../support/models";
import { PROJECT_DIR } from "../support/harness";

const CORPUS = path.join(PROJECT_DIR, "test", "fixtures", "compose-corpus");
const HOME = "/home/agnes";
const oracleAvailable = spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0;
const requireOracle = process.env.CI === "true" || process.env.CI === "1";

interface Case {
  readonly dir: string;
  /** Which run of the file this is, when there are several (one per profile). */
  readonly run?: string;
  readonly file: string;
  /** Variables set in the environment of both (besides HOME and PATH). */
  readonly env?: Record<string, string>;
  readonly profiles?: string[];
  /** Files copied under another name first, as the project's README says to (`cp sample.env speech.env`). */
  readonly copy?: Record<string, string>;
  /** `--env-file` given to both instead of the `.env` beside the file. */
  readonly envFile?: string;
  /** Files written into the folder first (variables for --env-file, not part of the corpus). */
  readonly write?: Record<string, string>;
  /** Whether docker-compose 1.29 accepts the file (a compose v2 feature otherwise: said in `why`). */
  readonly oracle: true | { readonly why: string };
}

export const CASES: readonly Case[] = [
  { dir: "fastchat", file: "docker-compose.yml", oracle: true },
  { dir: "fooocus", file: "docker-compose.yml", oracle: true },
  { dir: "localai", file: "docker-compose.yaml", oracle: true },
  { dir: "ollama-docker-gpu", file: "docker-compose-ollama-gpu.yaml", oracle: true },
  // The services of the default (empty) profile; then the CUDA alternative, which takes the same ports.
  { dir: "private-gpt", file: "docker-compose.yaml", oracle: true },
  {
    dir: "private-gpt",
    run: "--profile ollama-cuda",
    file: "docker-compose.yaml",
    profiles: ["ollama-cuda"],
    oracle: true,
  },
  { dir: "whisper-asr-gpu", file: "docker-compose.gpu.yml", oracle: true },
  // The command's environment over --env-file: HOST_PORT from the shell, CONTAINER_PORT from the file.
  {
    dir: "xtts-api-server",
    file: "docker-compose.yml",
    env: { HOST_PORT: "18020" },
    write: { "custom.env": "HOST_PORT=18021\nCONTAINER_PORT=8021\n" },
    envFile: "custom.env",
    oracle: true,
  },
  {
    dir: "h2ogpt",
    file: "docker-compose.yml",
    env: { H2OGPT_PORT: "7860", H2OGPT_ARGS: "--base_model=h2oai/h2o-danube3-4b-chat" },
    oracle: true,
  },
  {
    dir: "h2ogpt-vllm",
    file: "docker-compose-vllm.yml",
    env: {
      H2OGPT_PORT: "7860",
      H2OGPT_BASE_MODEL: "meta-llama/Llama-3.1-8B-Instruct",
      H2OGPT_VLLM_ARGS: "--model meta-llama/Llama-3.1-8B-Instruct",
    },
    oracle: true,
  },
  // Alternatives on one port and GPU, one profile at a time, as the project's README runs them.
  {
    dir: "sd-webui-docker",
    run: "--profile auto",
    file: "docker-compose.yml",
    profiles: ["auto"],
    env: { WEBUI_PORT: "7861" },
    oracle: true,
  },
  { dir: "sd-webui-docker", run: "--profile comfy", file: "docker-compose.yml", profiles: ["comfy"], oracle: true },
  { dir: "text-generation-webui-nvidia", file: "docker-compose.yml", copy: { ".env.example": ".env" }, oracle: true },
  {
    dir: "openedai-speech",
    file: "docker-compose.yml",
    copy: { "sample.env": "speech.env" },
    oracle: { why: "build without context (v2 defaults it to the file's folder)" },
  },
  {
    dir: "invokeai",
    file: "docker-compose.yml",
    copy: { ".env.sample": ".env" },
    oracle: { why: "bind: create_host_path" },
  },
  { dir: "kokoro-fastapi-gpu", file: "docker-compose.yml", oracle: { why: "env_file with path/required" } },
  {
    dir: "speaches-cuda",
    file: "compose.cuda.yaml",
    oracle: { why: "develop, build.platforms, env_file with path/required (in the extended file)" },
  },
  { dir: "tabbyapi", file: "docker-compose.yml", oracle: { why: "gpus: all" } },
  { dir: "xinference", file: "docker-compose.yml", oracle: { why: "env_file with path/required" } },
  // What compose v2 reads that 1.29 did not (include, COMPOSE_ variables in .env, shared GPUs), in files of
  // well-known projects. A dozen NIM services, five of them pinned to GPU 0, and
  // the blueprint's .env (`export USERID=$(id -u)`, `${NGC_API_KEY}` inside it).
  // USERID as the blueprint's README has it: `source deploy/compose/.env` first, so the shell ran `$(id -u)`.
  {
    dir: "nvidia-rag",
    file: "nims.yaml",
    env: { NGC_API_KEY: "nvapi-test", USERID: "1000" },
    oracle: { why: "nested defaults ${A:-${B:-c}} (1.29 reads ${B:-c as the default and appends })" },
  },
  {
    dir: "nvidia-rag",
    run: "--profile elasticsearch",
    file: "vectordb.yaml",
    profiles: ["elasticsearch"],
    oracle: { why: "$(mktemp) in milvus's command (compose v2 leaves a $ before no name as it is)" },
  },
  {
    dir: "nvidia-rag-include",
    file: "docker-compose.yaml",
    env: { NVIDIA_API_KEY: "nvapi-test" },
    oracle: { why: "top-level include" },
  },
  // The photo library's folder comes from .env (the project's example.env, trimmed to what the file uses).
  {
    dir: "immich",
    file: "docker-compose.yml",
    write: {
      ".env":
        "UPLOAD_LOCATION=./library\nDB_DATA_LOCATION=./postgres\nIMMICH_VERSION=v2\nDB_PASSWORD=postgres\n" +
        "DB_USERNAME=postgres\nDB_DATABASE_NAME=immich\n",
    },
    oracle: { why: "healthcheck: {disable: false} (1.29 disables the healthcheck; v2 keeps the image's)" },
  },
];

/** A case's files in a fresh folder (the oracle wants the build folders to exist: they are made, empty). */
function workdir(c: Case): string {
  const dir = path.join(tempDir("corpus"), c.dir);
  fs.cpSync(path.join(CORPUS, c.dir), dir, { recursive: true });
  for (const [from, to] of Object.entries(c.copy ?? {})) fs.copyFileSync(path.join(dir, from), path.join(dir, to));
  for (const [name, text] of Object.entries(c.write ?? {})) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const envOf = (c: Case) => ({ HOME, PATH: process.env.PATH ?? "", ...(c.env ?? {}) });

function projectOf(dir: string, file: string): string {
  const name = (parse(fs.readFileSync(path.join(dir, file), "utf8")) as { name?: string }).name;
  return name ?? path.basename(dir);
}

/** `docker-compose config` writes a `$` of a value as `$$` (so that its output reads back): the value itself. */
function unescapeDollars<T>(value: T): T {
  if (typeof value === "string") return value.replace(/\$\$/g, "$") as T;
  if (Array.isArray(value)) return value.map(unescapeDollars) as T;
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unescapeDollars(v)])) as T;
  return value;
}

/** docker-compose 1.29's resolved config of the file (top-level name: dropped, the project given instead). */
function oracle(c: Case, dir: string): { services: Record<string, Record<string, any>>; volumes: Record<string, any> } {
  const text = fs.readFileSync(path.join(dir, c.file), "utf8").replace(/^name:.*\n/m, "");
  fs.writeFileSync(path.join(dir, ".oracle.yml"), text);
  const args = ["-f", ".oracle.yml", "-p", projectOf(dir, c.file), ...(c.envFile ? ["--env-file", c.envFile] : [])];
  for (let attempt = 0; attempt < 20; attempt++) {
    const run = spawnSync("docker-compose", [...args, "config"], { cwd: dir, env: envOf(c), encoding: "utf8" });
    const missing = /^[Bb]uild path (.+?) either does not exist/m.exec(run.stderr)?.[1];
    if (missing) {
      fs.mkdirSync(missing, { recursive: true });
      continue;
    }
    if (run.status !== 0) throw new Error(`docker-compose config refused ${c.dir}: ${run.stderr}`);
    return unescapeDollars(parse(run.stdout));
  }
  throw new Error("too many missing build folders");
}

function ours(c: Case, dir: string): ImportResult {
  return importCompose(fs.readFileSync(path.join(dir, c.file), "utf8"), {
    composeDir: dir,
    host: "gpu",
    environment: envOf(c),
    ...(c.profiles ? { profiles: c.profiles } : {}),
    ...(c.envFile ? { envFiles: [path.join(dir, c.envFile)] } : {}),
  });
}

/** What a service runs as, in one shape for both sides. */
interface Effective {
  ports: string[];
  volumes: string[];
  binds: string[];
  env: Record<string, string>;
  gpus?: { count?: number | "all"; deviceIds?: string[]; capabilities: string[] };
  command?: string[];
  entrypoint?: string[];
  user?: string;
  restart: string;
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number; startPeriod: string };
  shmSizeBytes?: number;
  ipc?: string;
  ulimits?: Record<string, { soft: number; hard: number }>;
  /** Docker's whole seconds; compose sets none without stop_grace_period, and Docker's default is 10 s. */
  stopGraceSeconds: number;
  /** Containers of the service: compose's deploy.replicas (1 without it), the model's copies. */
  replicas: number;
}

/** Keys the comparison covers; any other key the oracle shows must be named in a warning. */
const COMPARED = new Set([
  "ports",
  "volumes",
  "environment",
  "deploy",
  "command",
  "entrypoint",
  "user",
  "restart",
  "healthcheck",
  "shm_size",
  "ipc",
  "ulimits",
  "build",
  "image",
  "container_name",
  "labels",
  "stop_grace_period",
  "profiles",
]);

const argvOf = (v: unknown) => (typeof v === "string" ? splitCommand(v) : (v as unknown[]).map(String));

function fromOracle(
  svc: Record<string, any>,
  volumes: Record<string, any>,
  project: string,
  warn: (key: string, why: string) => void,
): Effective {
  const ports: string[] = [];
  for (const [i, p] of ((svc.ports ?? []) as any[]).entries()) {
    if (p.published === undefined) {
      warn(`ports[${i}]`, "no published port");
      continue;
    }
    ports.push(`${p.host_ip ?? "0.0.0.0"}:${p.published}:${p.target}/${p.protocol ?? "tcp"}`);
  }
  const named: string[] = [];
  const binds: string[] = [];
  for (const [i, v] of ((svc.volumes ?? []) as any[]).entries()) {
    const [source, target, mode = "rw"] =
      typeof v === "string" ? v.split(":") : [v.source, v.target, v.read_only ? "ro" : "rw"];
    const ro = mode.split(",").includes("ro");
    if (target === undefined) {
      warn(`volumes[${i}]`, "anonymous volume");
      continue;
    }
    if (source.startsWith("/")) binds.push(`${source}:${target}:${ro ? "ro" : "rw"}`);
    else {
      const top = volumes[source] ?? {};
      const real = top.name ?? (top.external ? (top.external.name ?? source) : `${project}_${source}`);
      named.push(`${real}:${target}:${ro ? "ro" : "rw"}`);
    }
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.environment ?? {})) if (v !== null) env[k] = String(v);
  const device = (svc.deploy?.resources?.reservations?.devices ?? []).find(
    (d: any) => (d.driver ?? "nvidia") === "nvidia",
  );
  const hc = svc.healthcheck;
  const test =
    hc?.test === undefined ? undefined : typeof hc.test === "string" ? ["CMD-SHELL", hc.test] : hc.test.map(String);
  return {
    ports: ports.sort(),
    volumes: named.sort(),
    binds: binds.sort(),
    env,
    ...(device
      ? {
          gpus: {
            ...(device.device_ids
              ? { deviceIds: device.device_ids.map(String) }
              : { count: device.count === undefined || device.count === "all" ? "all" : Number(device.count) }),
            capabilities: (device.capabilities ?? ["gpu"]).map(String),
          },
        }
      : {}),
    ...(svc.command !== undefined ? { command: argvOf(svc.command) } : {}),
    ...(svc.entrypoint !== undefined ? { entrypoint: argvOf(svc.entrypoint) } : {}),
    ...(svc.user !== undefined ? { user: String(svc.user) } : {}),
    restart: String(svc.restart ?? "no"),
    stopGraceSeconds: svc.stop_grace_period === undefined ? 10 : Math.trunc(durationSeconds(svc.stop_grace_period)),
    replicas: svc.deploy?.replicas === undefined ? 1 : Number(svc.deploy.replicas),
    ...(test && !hc.disable
      ? {
          // Docker's defaults where compose leaves a timing out.
          healthcheck: {
            test,
            interval: hc.interval ?? "30s",
            timeout: hc.timeout ?? "30s",
            retries: hc.retries ?? 3,
            startPeriod: hc.start_period ?? "0s",
          },
        }
      : {}),
    ...(svc.shm_size !== undefined ? { shmSizeBytes: sizeBytes(String(svc.shm_size)) } : {}),
    ...(svc.ipc !== undefined ? { ipc: String(svc.ipc) } : {}),
    ...(svc.ulimits
      ? {
          ulimits: Object.fromEntries(
            Object.entries(svc.ulimits as Record<string, any>).map(([k, v]) => [
              k,
              typeof v === "object" ? { soft: v.soft, hard: v.hard } : { soft: Number(v), hard: Number(v) },
            ]),
          ),
        }
      : {}),
  };
}

function fromModel(spec: DockerServiceSpec, secretValues: Record<string, string>): Effective {
  return {
    ports: spec.ports.map((p) => `${p.hostIp}:${p.host}:${p.container}/${p.protocol}`).sort(),
    volumes: spec.volumes.map((v) => `${v.name}:${v.target}:${v.readOnly ? "ro" : "rw"}`).sort(),
    binds: spec.binds.map((b) => `${b.source}:${b.target}:${b.readOnly ? "ro" : "rw"}`).sort(),
    // Secret env values are not written to the stack: the import names where they are, and they are these.
    env: { ...spec.env, ...Object.fromEntries(Object.keys(spec.secretEnv).map((k) => [k, secretValues[k]])) },
    ...(spec.gpus
      ? {
          gpus: {
            ...(spec.gpus.deviceIds ? { deviceIds: [...spec.gpus.deviceIds] } : { count: spec.gpus.count }),
            capabilities: [...spec.gpus.capabilities],
          },
        }
      : {}),
    ...(spec.command ? { command: [...spec.command] } : {}),
    ...(spec.entrypoint ? { entrypoint: [...spec.entrypoint] } : {}),
    ...(spec.user ? { user: spec.user } : {}),
    restart: spec.restart,
    stopGraceSeconds: spec.stopGraceSeconds,
    replicas: spec.copies.length,
    ...(spec.healthcheck
      ? {
          healthcheck: {
            test: [...spec.healthcheck.test],
            interval: spec.healthcheck.interval,
            timeout: spec.healthcheck.timeout,
            retries: spec.healthcheck.retries,
            startPeriod: spec.healthcheck.startPeriod,
          },
        }
      : {}),
    ...(spec.shmSizeBytes !== undefined ? { shmSizeBytes: spec.shmSizeBytes } : {}),
    ...(spec.ipc ? { ipc: spec.ipc } : {}),
    ...(spec.ulimits ? { ulimits: { ...spec.ulimits } } : {}),
  };
}

/** The import, through the stack schema and model (secrets to be set counted as set). */
function modelOf(result: ImportResult) {
  const services = Object.fromEntries(Object.entries(result.services).map(([name, s]) => [name, s.config]));
  const secrets = Object.fromEntries(result.secrets.map((s) => [s.name, "(set by hand)"]));
  return dockerOnly(
    buildModel(
      { hosts: { gpu: { dockerHost: "unix:///var/run/docker.sock" } }, services, secrets },
      { stack: "corpus", secretKeys: new Set(["secrets"]) },
    ),
  );
}

describe.runIf(oracleAvailable || requireOracle)(
  "import-compose against docker-compose 1.29 on real GPU compose files",
  () => {
    it("the corpus: at least 15 files, each with its source", () => {
      expect(new Set(CASES.map((c) => c.dir)).size).toBeGreaterThanOrEqual(15);
      for (const c of CASES) {
        const source = JSON.parse(fs.readFileSync(path.join(CORPUS, c.dir, "source.json"), "utf8"));
        expect(source.repository).toMatch(/^[\w.-]+\/[\w.-]+$/);
        expect(source.commit).toMatch(/^[0-9a-f]{40}$/);
        expect(Object.keys(source.files)).toContain(c.file);
      }
    });

    for (const c of CASES.filter((x) => x.oracle === true)) {
      it(`${c.dir}${c.run ? ` (${c.run})` : ""}: every service imported evaluates to what docker-compose 1.29 resolves`, () => {
        const dir = workdir(c);
        const resolved = oracle(c, dir);
        const result = ours(c, dir);
        const model = modelOf(result);
        const project = projectOf(dir, c.file);
        expect(Object.keys(result.services).length).toBeGreaterThan(0);
        for (const [name, imported] of Object.entries(result.services)) {
          const svc = resolved.services[imported.composeName];
          expect(svc, `the oracle has ${imported.composeName}`).toBeDefined();
          const expectedWarnings: string[] = [];
          const warn = (key: string) => expectedWarnings.push(`services.${imported.composeName}.${key}`);
          const want = fromOracle(svc, resolved.volumes ?? {}, project, warn);
          const spec = model.services.find((s) => s.name === name)!;
          // A value several services use is one secret, listed with the first of them: found by its name.
          const byName = Object.fromEntries(result.secrets.map((s) => [s.name, s.value]));
          const secretValues = Object.fromEntries(
            Object.entries(spec.secretEnv).map(([env, secret]) => [env, byName[secret]]),
          );
          expect(fromModel(spec, secretValues), `${c.dir}/${imported.composeName}`).toEqual(want);
          for (const key of Object.keys(svc)) if (!COMPARED.has(key)) warn(key);
          for (const prefix of expectedWarnings) {
            expect(
              result.warnings.some((w) => w.startsWith(prefix)),
              `a warning names ${prefix}`,
            ).toBe(true);
          }
        }
      });
    }
  },
);

describe("compose v2 files docker-compose 1.29 refuses or reads otherwise: imported all the same", () => {
  const byDir = (dir: string, run?: string) => {
    const c = CASES.find((x) => x.dir === dir && x.run === run)!;
    const result = ours(c, workdir(c));
    return { result, model: modelOf(result) };
  };

  it("nvidia-rag: six NIM services pinned to GPU 0 share it, as compose runs them; the LLM keeps GPUs 1 and 2", () => {
    const { result, model } = byDir("nvidia-rag");
    const onZero = model.services.filter((s) => s.gpus?.deviceIds?.includes("0"));
    expect(onZero.map((s) => s.name).sort()).toEqual([
      "graphic-elements",
      "nemotron-ocr",
      "nemotron-ranking-ms",
      "nemotron-vlm-embedding-ms",
      "page-elements",
      "table-structure",
    ]);
    expect(onZero.every((s) => s.shareGpu)).toBe(true);
    const llm = model.services.find((s) => s.name === "nim-llm")!;
    expect({ gpus: llm.gpus, shareGpu: llm.shareGpu }).toEqual({
      gpus: { deviceIds: ["1", "2"], capabilities: ["gpu"] },
      shareGpu: false,
    });
    expect(result.warnings.filter((w) => w.includes('share GPU "0"'))).toHaveLength(1);
    // The nested default ${NIM_NGC_API_KEY:-${NGC_API_KEY:-ngcapikey}} is the shell's key: one secret for all.
    const ocr = model.services.find((s) => s.name === "nemotron-ocr")!;
    expect(ocr.secretEnv).toEqual({ NGC_API_KEY: "ngcApiKey" });
    expect(result.secrets.map((s) => [s.name, s.value])).toEqual([["ngcApiKey", "nvapi-test"]]);
  });

  it("nvidia-rag --profile elasticsearch: Elasticsearch's dotted env names; $(mktemp) in milvus's file is no error", () => {
    const { model } = byDir("nvidia-rag", "--profile elasticsearch");
    const es = model.services.find((s) => s.name === "elasticsearch")!;
    expect(es.env).toMatchObject({
      "discovery.type": "single-node",
      "xpack.security.enabled": "false",
      "cluster.routing.allocation.disk.threshold_enabled": "false",
      "network.host": "0.0.0.0",
    });
    expect(es.volumes.map((v) => v.name)).toEqual(["rag-vol-elasticsearch"]);
  });

  it("nvidia-rag-include: the included vector DB and NIM files are part of the project, read in their folder", () => {
    const c = CASES.find((x) => x.dir === "nvidia-rag-include")!;
    const dir = workdir(c);
    const result = ours(c, dir);
    const model = modelOf(result);
    expect(Object.keys(result.services).sort()).toEqual(["etcd", "milvus", "minio", "rag-playground", "rag-server"]);
    // The NIMs of the included nims.yaml run on --profile local-nim; the vector DB of vectordb.yaml by default.
    expect(result.skipped).toEqual({
      "nemollm-inference": ["local-nim"],
      "embedding-ms": ["local-nim"],
      "ranking-ms": ["local-nim"],
    });
    const milvus = model.services.find((s) => s.name === "milvus")!;
    expect(milvus.binds.map((b) => b.source)).toEqual([path.join(dir, "volumes", "milvus")]);
  });

  it("immich: the photo library is a bind from UPLOAD_LOCATION; left empty, the import refuses the volume", () => {
    const c = CASES.find((x) => x.dir === "immich")!;
    const dir = workdir(c);
    const server = modelOf(ours(c, dir)).services.find((s) => s.name === "immich-server")!;
    expect(server.binds.map((b) => `${b.source}:${b.target}`)).toContain(`${path.join(dir, "library")}:/data`);
    fs.writeFileSync(path.join(dir, ".env"), "DB_DATA_LOCATION=./postgres\n");
    expect(() => ours(c, dir)).toThrow(
      'services.immich-server.volumes[0]: ":/data" has an empty section between colons (compose refuses it); ' +
        "UPLOAD_LOCATION is empty or unset",
    );
  });

  it("invokeai: merge keys of an x- anchor, nested defaults from --env-file, a long bind, profiles", () => {
    const { result, model } = byDir("invokeai");
    expect(Object.keys(result.services)).toEqual(["invokeai-cuda"]);
    expect(result.skipped).toEqual({ "invokeai-cpu": ["cpu"], "invokeai-rocm": ["rocm"] });
    const spec = model.services[0];
    expect(spec.gpus).toEqual({ count: 1, capabilities: ["gpu"] });
    expect(spec.image).toMatchObject({ kind: "build", extraTag: "ghcr.io/invoke-ai/invokeai:latest" });
    expect(spec.binds.map((b) => b.target)).toContain("/invokeai");
  });

  it("speaches-cuda: extends another file (its build, port, healthcheck), over which the CUDA file adds the GPU", () => {
    const { model } = byDir("speaches-cuda");
    const spec = model.services[0];
    expect(spec.containerName).toBe("speaches");
    expect(spec.ports).toEqual([{ host: 8000, container: 8000, protocol: "tcp", hostIp: "0.0.0.0" }]);
    expect(spec.gpus).toEqual({ count: "all", capabilities: ["gpu"] });
    expect(spec.healthcheck?.test).toEqual(["CMD", "curl", "--fail", "http://0.0.0.0:8000/health"]);
    expect(spec.image).toMatchObject({ kind: "build", extraTag: "ghcr.io/speaches-ai/speaches:latest-cuda-12.6.3" });
    expect(spec.volumes).toEqual([
      {
        name: "speaches-cuda_hf-hub-cache",
        target: "/home/ubuntu/.cache/huggingface/hub",
        external: true,
        retainOnDelete: true,
        protect: true,
        readOnly: false,
      },
    ]);
  });

  it("tabbyapi: gpus: all, shm_size and ulimits", () => {
    const { model } = byDir("tabbyapi");
    const spec = model.services[0];
    expect(spec.gpus).toEqual({ count: "all", capabilities: ["gpu"] });
    expect(spec.shmSizeBytes).toBe(8 * 2 ** 30);
    expect(spec.ulimits).toEqual({ memlock: { soft: -1, hard: -1 }, nofile: { soft: 1048576, hard: 1048576 } });
  });

  it("xinference and kokoro: optional env files that are absent are skipped, as compose v2 does", () => {
    expect(byDir("xinference").model.services.map((s) => s.name)).toEqual(["xinference"]);
    expect(byDir("kokoro-fastapi-gpu").model.services[0].user).toBe("1001:1001");
  });

  it("openedai-speech: a build without context builds the file's folder; its env file is read", () => {
    const { result, model } = byDir("openedai-speech");
    expect(model.services[0].image).toMatchObject({ kind: "build", extraTag: "ghcr.io/matatonic/openedai-speech" });
    expect(result.warnings.join("\n")).not.toContain("env_file");
  });
});
