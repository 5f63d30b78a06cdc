/**
 * `npm run compose -- import-compose` on the seed's compose files into a stack file in a temporary folder:
 * services written with comments and layout kept elsewhere, an import file for adoption, and bad input
 * refused with the stack file byte-for-byte unchanged.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { main } from "./compose";
import { parseStackText } from "../stackConfig";
import { EXIT } from "./errors";
import { tempDir } from "../test/support/gitRepos";
import { PROJECT_DIR } from "../test/support/harness";

const FIXTURES = path.join(PROJECT_DIR, "test", "fixtures", "compose");
const MIGRATE = [
  "# Services moved over from Dockge.",
  "config:",
  "  gpu-services:hosts:",
  "    gpu-server:",
  "      dockerHost: ssh://agnes@10.30.11.45 # the GPU server",
  "  gpu-services:services: {}",
  "",
].join("\n");

function project(extraHost = false): { dir: string; file: string } {
  const dir = tempDir("migrate");
  const file = path.join(dir, "Pulumi.migrate.yaml");
  fs.writeFileSync(
    file,
    extraHost
      ? MIGRATE.replace(
          "  gpu-services:services",
          "    lab:\n      dockerHost: unix:///var/run/docker.sock\n  gpu-services:services",
        )
      : MIGRATE,
  );
  return { dir, file };
}

async function cli(dir: string, args: string[], ids: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    projectDir: dir,
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    findContainerId: (_host, names) => names.map((n) => ids[n]).find(Boolean),
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("import-compose", () => {
  it("writes the STT and TTS Dockge services into the stack, keeping its comments, and warns about what it left", async () => {
    const { dir, file } = project();
    const stt = await cli(dir, [
      "import-compose",
      path.join(FIXTURES, "stt-service", "compose.yaml"),
      "--stack",
      "migrate",
      "--rename",
      "stt-api=stt",
    ]);
    expect(stt.code).toBe(EXIT.ok);
    expect(stt.out).toBe('wrote services stt into Pulumi.migrate.yaml (compose project "stt-service")');
    expect(stt.err).toContain("warning: services.stt-api.build.context:");
    const tts = await cli(dir, [
      "import-compose",
      path.join(FIXTURES, "tts-v2-service", "compose.yaml"),
      "--stack",
      "migrate",
      "--rename",
      "tts-api=tts",
    ]);
    expect(tts.code).toBe(EXIT.ok);

    const text = fs.readFileSync(file, "utf8");
    expect(text.startsWith("# Services moved over from Dockge.\nconfig:\n")).toBe(true);
    expect(text).toContain("      dockerHost: ssh://agnes@10.30.11.45 # the GPU server\n");
    const services = (parseStackText(text).values as any).services;
    expect(Object.keys(services)).toEqual(["stt", "tts"]);
    expect(services.stt.volumes).toEqual([
      { name: "stt-service_stt_models", target: "/app/models", external: true },
      { name: "stt-service_stt_cache", target: "/app/cache", external: true },
    ]);
    expect(services.stt.build).toEqual({ context: path.resolve(FIXTURES, "stt-service", "../../../STT-API-Server") });
    expect(services.tts.image).toEqual({ repository: "ghcr.io/bmv234/tts-v2-api-server", tag: "latest" });
  });

  it("writes an import file adopting the running Dockge containers", async () => {
    const { dir } = project();
    const importPath = path.join(dir, "import.json");
    const id = "c".repeat(64);
    const r = await cli(
      dir,
      [
        "import-compose",
        path.join(FIXTURES, "tts-v2-service", "compose.yaml"),
        "--stack",
        "migrate",
        "--rename",
        "tts-api=tts",
        "--import-file",
        importPath,
      ],
      { "tts-v2-service-tts-api-1": id },
    );
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(fs.readFileSync(importPath, "utf8"))).toEqual({
      nameTable: {
        "gpu-server-docker":
          "urn:pulumi:migrate::gpu-services::gpu-services:index:DockerHost$pulumi:providers:docker::gpu-server-docker",
      },
      resources: [
        { type: "gpu-services:index:GpuService", name: "tts", component: true },
        {
          type: "docker:index/container:Container",
          name: "tts-container",
          id,
          parent: "tts",
          provider: "gpu-server-docker",
        },
      ],
    });
    const missing = await cli(dir, [
      "import-compose",
      path.join(FIXTURES, "stt-service", "compose.yaml"),
      "--stack",
      "migrate",
      "--rename",
      "stt-api=stt",
      "--import-file",
      importPath,
    ]);
    expect(missing.err).toContain(
      "warning: no running container stt-service-stt-api-1 on ssh://agnes@10.30.11.45: services.stt is not in the import file",
    );
  });

  it("writes the NVIDIA RAG blueprint's NIMs: six sharing GPU 0, Elasticsearch's dotted env names, one secret", async () => {
    const { dir, file } = project();
    const corpus = path.join(PROJECT_DIR, "test", "fixtures", "compose-corpus", "nvidia-rag");
    const nims = await main(["import-compose", path.join(corpus, "nims.yaml"), "--stack", "migrate"], {
      projectDir: dir,
      out: () => {},
      err: () => {},
      environment: { NGC_API_KEY: "nvapi-test", USERID: "1000", HOME: "/home/agnes" },
    });
    expect(nims).toBe(EXIT.ok);
    const services = (parseStackText(fs.readFileSync(file, "utf8")).values as any).services;
    expect(Object.keys(services).filter((name) => services[name].shareGpu === true)).toHaveLength(6);
    expect(services["nemotron-ocr"].secretEnv).toEqual({ NGC_API_KEY: "ngcApiKey" });
    // In a stack of its own (the NIMs' secret is not set yet in the first).
    const other = project();
    const es = await cli(other.dir, [
      "import-compose",
      path.join(corpus, "vectordb.yaml"),
      "--stack",
      "migrate",
      "--profile",
      "elasticsearch",
      "--service",
      "elasticsearch",
    ]);
    expect(es.code).toBe(EXIT.ok);
    const written = (parseStackText(fs.readFileSync(other.file, "utf8")).values as any).services;
    expect(written.elasticsearch.env["discovery.type"]).toBe("single-node");
  });

  it("gives a new secret value no name the stack already has, so its printed command overwrites nothing", async () => {
    const { dir, file } = project();
    fs.writeFileSync(file, MIGRATE + "  gpu-services:secrets:\n    hfToken:\n      secure: v1:abc\n");
    const compose = path.join(dir, "compose.yaml");
    fs.writeFileSync(compose, "services:\n  tts: {image: x/tts:1, environment: [HF_TOKEN=another]}\n");
    const r = await cli(dir, ["import-compose", compose, "--stack", "migrate"]);
    expect(r.code).toBe(EXIT.ok);
    expect((parseStackText(fs.readFileSync(file, "utf8")).values as any).services.tts.secretEnv).toEqual({
      HF_TOKEN: "ttsHfToken",
    });
    expect(r.out).toContain("'gpu-services:secrets.ttsHfToken' <the value of services.tts.environment.HF_TOKEN>");
  });

  const refused: [string, (dir: string) => string[], number, string, boolean?][] = [
    [
      "a compose file that does not exist",
      () => ["import-compose", "/nope/compose.yaml", "--stack", "migrate"],
      EXIT.usage,
      "no compose file at /nope/compose.yaml",
    ],
    [
      "a file whose every service is in a profile not active (COMPOSE_PROFILES from .env names none of them)",
      (dir) => {
        fs.mkdirSync(path.join(dir, "gpu"));
        fs.writeFileSync(path.join(dir, "gpu", "compose.yaml"), "services:\n  a: {image: x/a:1, profiles: [cuda]}\n");
        fs.writeFileSync(path.join(dir, "gpu", ".env"), "COMPOSE_PROFILES=rocm\n");
        return ["import-compose", path.join(dir, "gpu", "compose.yaml"), "--stack", "migrate"];
      },
      EXIT.usage,
      "no service to import: every service is in a profile that is not active (profiles: cuda)",
    ],
    [
      "a YAML syntax error",
      (dir) => {
        fs.writeFileSync(path.join(dir, "broken.yaml"), "services:\n  a:\n    image: [x\n");
        return ["import-compose", path.join(dir, "broken.yaml"), "--stack", "migrate"];
      },
      EXIT.usage,
      "broken.yaml: not valid YAML",
    ],
    [
      "an unknown compose service",
      () => [
        "import-compose",
        path.join(FIXTURES, "tts-v2-service", "compose.yaml"),
        "--stack",
        "migrate",
        "--service",
        "stt-api",
      ],
      EXIT.usage,
      'no service "stt-api" in the compose file; services: tts-api',
    ],
    [
      "an unknown stack",
      () => ["import-compose", path.join(FIXTURES, "tts-v2-service", "compose.yaml"), "--stack", "prod"],
      EXIT.usage,
      'unknown stack "prod": no Pulumi.prod.yaml; stacks: migrate',
    ],
    [
      "no host named with two in the stack",
      () => ["import-compose", path.join(FIXTURES, "tts-v2-service", "compose.yaml"), "--stack", "migrate"],
      EXIT.usage,
      'say which host the services run on with --host; hosts in stack "migrate": gpu-server, lab',
      true,
    ],
    [
      "two services on one host port",
      (dir) => {
        const other = path.join(dir, "other.yaml");
        fs.writeFileSync(
          other,
          "services:\n  a:\n    image: x/a:1\n    ports: ['8055:80']\n  b:\n    image: x/b:1\n    ports: ['8055:80']\n",
        );
        return ["import-compose", other, "--stack", "migrate"];
      },
      EXIT.refused,
      'services.b.ports[0].host: host port 8055/tcp on host "gpu-server" (ssh://agnes@10.30.11.45) is already published by services.a.ports[0]',
    ],
  ];
  for (const [what, args, code, message, twoHosts] of refused) {
    it(`refuses ${what} and writes nothing`, async () => {
      const { dir, file } = project(twoHosts);
      const before = fs.readFileSync(file);
      const r = await cli(dir, args(dir));
      expect(r.code).toBe(code);
      expect(r.err).toContain(message);
      expect(fs.readFileSync(file).equals(before)).toBe(true);
    });
  }

  it("refuses to overwrite a service the stack has unless --replace", async () => {
    const { dir, file } = project();
    const seed = path.join(FIXTURES, "tts-v2-service", "compose.yaml");
    expect((await cli(dir, ["import-compose", seed, "--stack", "migrate"])).code).toBe(EXIT.ok);
    const before = fs.readFileSync(file);
    const again = await cli(dir, ["import-compose", seed, "--stack", "migrate"]);
    expect(again.code).toBe(EXIT.refused);
    expect(again.err).toContain('stack "migrate" already has services.tts-api; --replace to overwrite it, or --rename');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect((await cli(dir, ["import-compose", seed, "--stack", "migrate", "--replace"])).code).toBe(EXIT.ok);
  });
});

describe("compose and clusters", () => {
  /** The migrate stack with a cluster host `k8s` beside the Docker host. */
  function withCluster(): { dir: string; file: string } {
    const { dir, file } = project();
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, "utf8")
        .replace(
          "  gpu-services:services",
          "    k8s:\n      kubernetes:\n        namespace: speech\n  gpu-services:services",
        ),
    );
    return { dir, file };
  }
  const TTS = path.join(FIXTURES, "tts-v2-service", "compose.yaml");

  it("imports a compose service onto a cluster, checked by the cluster's rules", async () => {
    const { dir, file } = withCluster();
    const r = await cli(dir, ["import-compose", TTS, "--stack", "migrate", "--host", "k8s", "--rename", "tts-api=tts"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(EXIT.ok);
    expect((parseStackText(fs.readFileSync(file, "utf8")).values as any).services.tts).toEqual({
      host: "k8s",
      image: { repository: "ghcr.io/bmv234/tts-v2-api-server", tag: "latest" },
      restart: "unless-stopped",
      ports: [{ host: 8055, container: 8000 }],
      gpus: { count: 1, capabilities: ["gpu"] },
      stopGraceSeconds: 10,
    });
  });

  it("refuses what a cluster does not take (a bind), and writes nothing", async () => {
    const { dir, file } = withCluster();
    const before = fs.readFileSync(file);
    const bound = path.join(dir, "bound.yaml");
    fs.writeFileSync(bound, "services:\n  a:\n    image: x/a:1\n    volumes: ['/srv/a:/data']\n");
    const r = await cli(dir, ["import-compose", bound, "--stack", "migrate", "--host", "k8s"]);
    expect(r.code).toBe(EXIT.refused);
    expect(r.err).toContain(
      'services.a.binds: host "k8s" is a cluster, whose pods have no host folders to bind: use a volume ' +
        "(volumes[]: a PersistentVolumeClaim), or run the service on a Docker host",
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it("refuses --import-file for a cluster (there are no containers to adopt), and writes nothing", async () => {
    const { dir, file } = withCluster();
    const before = fs.readFileSync(file);
    const importPath = path.join(dir, "import.json");
    const r = await cli(dir, [
      "import-compose",
      TTS,
      "--stack",
      "migrate",
      "--host",
      "k8s",
      "--import-file",
      importPath,
    ]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toBe(
      'compose: --import-file adopts the running containers of a Docker host, and host "k8s" is a cluster ' +
        "(hosts.k8s.kubernetes): import without --import-file; the first pulumi up creates its objects",
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.existsSync(importPath)).toBe(false);
  });

  it("export-compose writes the Docker host's file and names each cluster service it leaves out", async () => {
    const out = tempDir("export-cluster");
    const r = await cli(path.join(PROJECT_DIR, "test", "fixtures", "cluster"), [
      "export-compose",
      "--stack",
      "mixed",
      "--out",
      out,
    ]);
    expect(r.code).toBe(EXIT.ok);
    expect(fs.readdirSync(out)).toEqual(["mixed-gpu-box.compose.yaml"]);
    const exported = parseYaml(fs.readFileSync(path.join(out, "mixed-gpu-box.compose.yaml"), "utf8"));
    expect(Object.keys(exported.services)).toEqual(["asr"]);
    // No warning about secret env values: stt's are not exported, asr has none.
    expect(r.err.split("\n")).toEqual(
      ["stt", "tts", "vad", "web"].map(
        (s) =>
          `note: services.${s} runs on cluster "cluster-a" (Kubernetes objects, not a container): not exported; ` +
          "compose files are for the Docker hosts",
      ),
    );
  });
});
