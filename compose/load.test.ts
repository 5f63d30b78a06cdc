/**
 * Compose semantics as the compose specification and `docker compose config` define them: interpolation,
 * variables from .env, --env-file and the environment (in that order of precedence), merge keys, extends,
 * profiles; and what import-compose makes of env files, secrets, image beside build and the GPU-serving keys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildModel } from "../model";
import { tempDir } from "../test/support/gitRepos";
import { ComposeError, loadCompose } from "./load";
import { importCompose } from "./import";
import { interpolate, InterpolationError } from "./interpolate";

function scope(vars: Record<string, string>) {
  const unset: string[] = [];
  return { scope: { lookup: (n: string) => vars[n], onUnset: (n: string) => void unset.push(n) }, unset };
}

describe("interpolation", () => {
  const vars = { SET: "value", EMPTY: "", PORT: "7860" };
  const cases: [string, string][] = [
    ["$SET", "value"],
    ["${SET}", "value"],
    ["a-${SET}-b", "a-value-b"],
    ["${UNSET:-d}", "d"],
    ["${EMPTY:-d}", "d"],
    ["${EMPTY-d}", ""],
    ["${UNSET-d}", "d"],
    ["${SET:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET+alt}", ""],
    ["${UNSET:-${OTHER:-${PORT}}}", "7860"],
    ["${UNSET:-~/.cache/huggingface}", "~/.cache/huggingface"],
    ["$$HOME and $${SET}", "$HOME and ${SET}"],
    ["${SET:?needed}", "value"],
  ];
  for (const [template, expected] of cases) {
    it(`${template} -> ${JSON.stringify(expected)}`, () => {
      expect(interpolate(template, scope(vars).scope)).toBe(expected);
    });
  }

  it("an unset variable with no default is an empty string, reported", () => {
    const { scope: s, unset } = scope(vars);
    expect(interpolate("${NOPE}:$ALSO", s)).toBe(":");
    expect(unset).toEqual(["NOPE", "ALSO"]);
  });

  it("a required variable unset is an error naming it; a malformed template too", () => {
    expect(() => interpolate("${TOKEN:?set TOKEN first}", scope(vars).scope)).toThrow(
      new InterpolationError("required variable TOKEN is missing a value: set TOKEN first"),
    );
    expect(() => interpolate("${EMPTY?x}", scope(vars).scope)).not.toThrow();
    expect(() => interpolate("${EMPTY:?}", scope(vars).scope)).toThrow("required variable EMPTY is missing a value");
    expect(() => interpolate("${OPEN", scope(vars).scope)).toThrow('an unclosed "${"');
    expect(() => interpolate("${1BAD}", scope(vars).scope)).toThrow("invalid interpolation format");
  });
});

function project(files: Record<string, string>): string {
  const dir = path.join(tempDir("compose-load"), "stack");
  fs.mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe("variables", () => {
  const compose = "services:\n  a:\n    image: x/a:${TAG}\n    ports: ['${PORT:-7860}:7860']\n";

  it("come from the .env beside the file, and the command's environment wins over it", () => {
    const dir = project({ "compose.yaml": compose, ".env": "TAG=1.0\nPORT=9000\n" });
    const fromFile = loadCompose(compose, { composeDir: dir });
    expect(fromFile.services.a).toEqual({ image: "x/a:1.0", ports: ["9000:7860"] });
    const fromShell = loadCompose(compose, { composeDir: dir, environment: { PORT: "9100" } });
    expect(fromShell.services.a.ports).toEqual(["9100:7860"]);
  });

  it("--env-file replaces .env; several are read in order, the later winning", () => {
    const dir = project({ ".env": "TAG=dotenv\n", "one.env": "TAG=one\nPORT=1\n", "two.env": "PORT=2\n" });
    const loaded = loadCompose(compose, {
      composeDir: dir,
      envFiles: [path.join(dir, "one.env"), path.join(dir, "two.env")],
    });
    expect(loaded.services.a).toEqual({ image: "x/a:one", ports: ["2:7860"] });
  });

  it("an unset variable is a warning naming it and the key; a required one is an error naming it, nothing read", () => {
    const dir = project({});
    expect(loadCompose(compose, { composeDir: dir }).warnings).toEqual([
      "services.a.image: variable TAG is not set; compose substitutes an empty string",
    ]);
    expect(() =>
      loadCompose("services:\n  a:\n    image: x\n    environment: {K: '${KEY:?give KEY}'}\n", { composeDir: dir }),
    ).toThrow(new ComposeError("services.a.environment.K: required variable KEY is missing a value: give KEY"));
  });
});

describe("merge keys, extends and profiles", () => {
  it("resolves merge keys: chained, and lists of merges, the service's own keys winning", () => {
    const text = `
x-gpu: &gpu
  deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]}}}
x-ports: &ports
  ports: ["7860:7860"]
x-base: &base
  <<: [*gpu, *ports]
  restart: always
services:
  a:
    <<: *base
    image: x/a
  b:
    <<: *base
    image: x/b
    restart: "no"
`;
    const { services } = loadCompose(text, { composeDir: project({}) });
    expect(services.a).toEqual({
      deploy: { resources: { reservations: { devices: [{ driver: "nvidia", count: 1, capabilities: ["gpu"] }] } } },
      ports: ["7860:7860"],
      restart: "always",
      image: "x/a",
    });
    expect(services.b.restart).toBe("no");
  });

  it("extends a service of the same file and of another file (its relative paths kept relative to it)", () => {
    const dir = project({
      "base/compose.yaml":
        "services:\n  web:\n    build: ./src\n    environment: [A=1, B=1]\n    ports: ['80:80']\n    volumes: [./data:/data]\n",
    });
    const text = `
services:
  common:
    image: x/common
    environment: {A: base}
    command: [serve]
  a:
    extends: common
    environment: {B: own}
  b:
    extends: {file: base/compose.yaml, service: web}
    environment: [B=2]
    ports: ['81:81']
`;
    const { services } = loadCompose(text, { composeDir: dir });
    expect(services.a).toEqual({ image: "x/common", environment: { A: "base", B: "own" }, command: ["serve"] });
    expect(services.b).toEqual({
      build: path.join(dir, "base", "src"),
      environment: { A: "1", B: "2" },
      ports: ["80:80", "81:81"],
      volumes: [`${path.join(dir, "base", "data")}:/data`],
    });
  });

  it("refuses extends in a circle, or of a service that is not there", () => {
    const dir = project({});
    expect(() => loadCompose("services:\n  a: {extends: b}\n  b: {extends: a}\n", { composeDir: dir })).toThrow(
      "extend each other in a circle",
    );
    expect(() => loadCompose("services:\n  a: {extends: nope}\n", { composeDir: dir })).toThrow('no service "nope"');
  });

  it("starts what docker compose up starts: no profiles, or an asked one; --service picks exactly", () => {
    const text = "services:\n  a: {image: x}\n  b: {image: x, profiles: [gpu]}\n  c: {image: x, profiles: [cpu]}\n";
    const dir = project({});
    expect(Object.keys(loadCompose(text, { composeDir: dir }).services)).toEqual(["a"]);
    expect(loadCompose(text, { composeDir: dir }).skipped).toEqual({ b: ["gpu"], c: ["cpu"] });
    expect(Object.keys(loadCompose(text, { composeDir: dir, profiles: ["gpu"] }).services)).toEqual(["a", "b"]);
    expect(
      Object.keys(loadCompose(text, { composeDir: dir, environment: { COMPOSE_PROFILES: "cpu" } }).services),
    ).toEqual(["a", "c"]);
    expect(Object.keys(loadCompose(text, { composeDir: dir, services: ["c"] }).services)).toEqual(["c"]);
  });
});

describe("import-compose on what GPU serving needs", () => {
  const hosts = { gpu: { dockerHost: "unix:///var/run/docker.sock" } };

  it("carries entrypoint, shm_size, ipc and ulimits, and the model renders them for Docker", () => {
    const text = `
services:
  vllm:
    image: vllm/vllm-openai:v0.9.0
    entrypoint: python3 -m vllm.entrypoints.openai.api_server
    command: ["--model", "Qwen/Qwen2.5-7B-Instruct"]
    shm_size: 16g
    ipc: host
    ulimits: {memlock: -1, stack: 67108864, nofile: {soft: 65536, hard: 1048576}}
    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: all, capabilities: [gpu]}]}}}
`;
    const result = importCompose(text, { composeDir: project({}), host: "gpu" });
    expect(result.services.vllm.config).toMatchObject({
      entrypoint: ["python3", "-m", "vllm.entrypoints.openai.api_server"],
      command: ["--model", "Qwen/Qwen2.5-7B-Instruct"],
      shmSize: "16g",
      ipc: "host",
      ulimits: { memlock: -1, stack: 67108864, nofile: { soft: 65536, hard: 1048576 } },
      gpus: { count: "all", capabilities: ["gpu"] },
    });
    const spec = buildModel({ hosts, services: { vllm: result.services.vllm.config } }, { stack: "dev" }).services[0];
    expect(spec).toMatchObject({
      shmSizeBytes: 16 * 2 ** 30,
      ipc: "host",
      ulimits: {
        memlock: { soft: -1, hard: -1 },
        nofile: { soft: 65536, hard: 1048576 },
        stack: { soft: 67108864, hard: 67108864 },
      },
    });
  });

  it("reads env_file beside the environment; secret-looking values go to secretEnv and are never in the config", () => {
    const dir = project({ "app.env": "MODEL=large-v3\nHF_TOKEN=hf_from_file_s3cr3t\n" });
    const text =
      "services:\n  stt:\n    image: x/stt:1\n    env_file: app.env\n    environment: {MODEL: small, API_KEY: k3y-s3cr3t}\n";
    const result = importCompose(text, { composeDir: dir, host: "gpu" });
    expect(result.services.stt.config.env).toEqual({ MODEL: "small" });
    expect(result.services.stt.config.secretEnv).toEqual({ HF_TOKEN: "hfToken", API_KEY: "apiKey" });
    expect(result.secrets.map(({ value: _, ...s }) => s)).toEqual([
      // The value is in the env file, not in environment: the source said is the file and its key.
      {
        name: "hfToken",
        from: `HF_TOKEN in ${path.join(dir, "app.env")} (services.stt.env_file)`,
        env: "HF_TOKEN",
        service: "stt",
      },
      { name: "apiKey", from: "services.stt.environment.API_KEY", env: "API_KEY", service: "stt" },
    ]);
    expect(JSON.stringify(result.services)).not.toMatch(/s3cr3t/);
  });

  it("tags a build with the image compose names it", () => {
    const result = importCompose("services:\n  a:\n    build: .\n    image: sd-auto:78\n", {
      composeDir: project({}),
      host: "gpu",
    });
    expect(result.services.a.config.build).toMatchObject({ tag: "sd-auto:78" });
  });

  const shapes: [string, string, string][] = [
    ["ports as a string", "ports: '8080:80'", 'services.a.ports: must be a list of ports (got string "8080:80")'],
    ["volumes as a string", "volumes: './a:/b'", "services.a.volumes: must be a list of mounts (got string"],
    [
      "a bind without source",
      "volumes: [{type: bind, target: /b}]",
      "services.a.volumes[0]: a bind mount needs source",
    ],
    ["a healthcheck test that is a number", "healthcheck: {test: 5}", "services.a.healthcheck.test: must be a list"],
    [
      "a null device request",
      "deploy: {resources: {reservations: {devices: [null]}}}",
      "devices[0]: must be a device request",
    ],
    [
      "devices as a map",
      "deploy: {resources: {reservations: {devices: {a: 1}}}}",
      "devices: must be a list of device requests (got a map)",
    ],
    [
      "capabilities as a string",
      "deploy: {resources: {reservations: {devices: [{driver: nvidia, capabilities: gpu}]}}}",
      "devices[0].capabilities: must be a list such as [gpu]",
    ],
  ];
  for (const [what, yaml, message] of shapes) {
    it(`refuses ${what}, naming the key`, () => {
      expect(() =>
        importCompose(`services:\n  a:\n    image: x\n    ${yaml}\n`, { composeDir: project({}), host: "gpu" }),
      ).toThrow(message);
    });
  }

  it("a healthcheck with timings and no test keeps the image's test in compose: a warning, not an error", () => {
    const result = importCompose("services:\n  a:\n    image: x\n    healthcheck: {interval: 10s}\n", {
      composeDir: project({}),
      host: "gpu",
    });
    expect(result.services.a.config.healthcheck).toBeUndefined();
    expect(result.warnings).toContain(
      "services.a.healthcheck: has no test, so compose keeps the image's HEALTHCHECK test with these timings; not carried over (a stack healthcheck names its test)",
    );
  });
});
