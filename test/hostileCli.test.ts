/**
 * The CLIs under careless and hostile input: stack names that climb out of the project, outputs that are
 * stack files or symbolic links, git that cannot vouch for a file, remotes that never answer, registries that
 * misbehave, stack files that are not YAML. Each gives a message and a documented exit code, and leaves every
 * file as it was. Each case failed before its fix.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main as compose } from "../cli/compose";
import { main as doctor } from "../cli/doctor";
import { main as plan } from "../cli/plan";
import { main as release } from "../cli/release";
import { main as status } from "../cli/status";
import { EXIT } from "../cli/errors";
import { resolveDigest } from "../clients/registry";
import { makeProjectRepo, tempDir } from "./support/gitRepos";
import { PROJECT_DIR } from "./support/harness";

const REAL = (name: string) => fs.readFileSync(path.join(PROJECT_DIR, name), "utf8");
const COMPOSE = path.join(PROJECT_DIR, "test", "fixtures", "compose", "tts-v2-service", "compose.yaml");
const DIGEST = `sha256:${"c".repeat(64)}`;

interface Run {
  code: number;
  out: string;
  err: string;
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    deps: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) },
    result: (code: number): Run => ({ code, out: out.join("\n"), err: err.join("\n") }),
  };
}

async function releaseCli(dir: string, args: string[], env: NodeJS.ProcessEnv = {}, fake?: typeof resolveDigest) {
  const c = capture();
  return c.result(await release(args, { projectDir: dir, ...c.deps, env, ...(fake ? { resolveDigest: fake } : {}) }));
}

async function composeCli(dir: string, args: string[]) {
  const c = capture();
  return c.result(await compose(args, { projectDir: dir, ...c.deps, findContainerId: () => "abc123" }));
}

/** Every file under a folder with its bytes, to prove nothing changed. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (full.includes(`${path.sep}.git`)) continue;
    if (entry.isFile()) files.set(path.relative(dir, full), fs.readFileSync(full, "latin1"));
    if (entry.isSymbolicLink()) files.set(path.relative(dir, full), `-> ${fs.readlinkSync(full)}`);
  }
  return files;
}

describe("stack names", () => {
  it("a name that climbs out of the project is refused by every CLI, and nothing is read or written outside", async () => {
    const root = tempDir("traversal");
    const dir = path.join(root, "project");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), REAL("Pulumi.prod.yaml"));
    const before = snapshot(root);
    const evil = "x/../../outside/evil";
    for (const run of [
      () => composeCli(dir, ["import-compose", COMPOSE, "--stack", evil, "--host", "gpu-server"]),
      () => composeCli(dir, ["export-compose", "--stack", evil, "--out", path.join(root, "out")]),
      () => releaseCli(dir, ["release", evil, "tts", "v1"]),
      () => releaseCli(dir, ["status", evil]),
    ]) {
      const result = await run();
      expect(result.code).toBe(EXIT.usage);
      expect(result.err).toContain(`"${evil}" is not a stack name`);
    }
    expect(snapshot(root)).toEqual(before);
  });
});

describe("outputs are checked before anything is written", () => {
  function migrateProject(): string {
    const dir = tempDir("outputs");
    fs.writeFileSync(
      path.join(dir, "Pulumi.migrate.yaml"),
      "config:\n  gpu-services:hosts:\n    gpu-server:\n      dockerHost: ssh://agnes@10.30.11.45\n",
    );
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), REAL("Pulumi.prod.yaml"));
    fs.writeFileSync(path.join(dir, "Pulumi.test.yaml"), REAL("Pulumi.test.yaml"));
    return dir;
  }

  it("an import file in a folder that does not exist: exit 2, the stack file unchanged", async () => {
    const dir = migrateProject();
    const before = snapshot(dir);
    const result = await composeCli(dir, [
      "import-compose",
      COMPOSE,
      "--stack",
      "migrate",
      "--import-file",
      "/nonexistent/dir/imp.json",
    ]);
    expect(result).toMatchObject({ code: EXIT.usage });
    expect(result.err).toContain("cannot write /nonexistent/dir/imp.json: there is no folder /nonexistent/dir");
    expect(snapshot(dir)).toEqual(before);
  });

  it("an import file that is a stack file: exit 4, every stack file unchanged", async () => {
    const dir = migrateProject();
    const before = snapshot(dir);
    const target = path.join(dir, "Pulumi.prod.yaml");
    const result = await composeCli(dir, ["import-compose", COMPOSE, "--stack", "migrate", "--import-file", target]);
    expect(result.code).toBe(EXIT.refused);
    expect(result.err).toContain(`${target} is a stack file; refusing to write anything else over it; nothing written`);
    expect(snapshot(dir)).toEqual(before);
  });

  it("export-compose: a symbolic link planted at the second output refuses the export, writing neither file", async () => {
    const dir = tempDir("export");
    fs.writeFileSync(
      path.join(dir, "Pulumi.two.yaml"),
      REAL("Pulumi.test.yaml")
        .replace("gpu-services:sharesHostsWith: [prod]", "gpu-services:sharesHostsWith: []")
        .replace(
          "  gpu-services:services:",
          "    lab:\n      dockerHost: unix:///var/run/docker.sock\n  gpu-services:services:\n    web:\n      host: lab\n      image:\n        repository: nginx\n        tag: '1.27'\n",
        ),
    );
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    const victim = path.join(dir, "victim.txt");
    fs.writeFileSync(victim, "do not touch\n");
    fs.symlinkSync(victim, path.join(out, "two-lab.compose.yaml"));
    const before = snapshot(dir);
    const result = await composeCli(dir, ["export-compose", "--stack", "two", "--out", out]);
    expect(result.code).toBe(EXIT.refused);
    expect(result.err).toContain("two-lab.compose.yaml is a symbolic link; refusing to write through it");
    expect(snapshot(dir)).toEqual(before);
  });

  it("export-compose --out naming an existing file: exit 2, the file unchanged", async () => {
    const dir = tempDir("export-file");
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), REAL("Pulumi.prod.yaml"));
    fs.writeFileSync(path.join(dir, "Pulumi.test.yaml"), REAL("Pulumi.test.yaml"));
    const existing = path.join(dir, "notes.txt");
    fs.writeFileSync(existing, "mine\n");
    const before = snapshot(dir);
    const result = await composeCli(dir, ["export-compose", "--stack", "prod", "--out", existing]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toContain(`--out ${existing} is not a folder`);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe("import-compose and secret values", () => {
  it("puts secret-looking env into secretEnv, writes no value anywhere, prints the commands without the value", async () => {
    const dir = tempDir("secret-import");
    const file = path.join(dir, "Pulumi.migrate.yaml");
    fs.writeFileSync(
      file,
      "config:\n  gpu-services:hosts:\n    gpu-server:\n      dockerHost: ssh://agnes@10.30.11.45\n",
    );
    const composeDir = path.join(dir, "stacks", "stt");
    fs.mkdirSync(composeDir, { recursive: true });
    const compose = path.join(composeDir, "compose.yaml");
    fs.writeFileSync(
      compose,
      "services:\n  stt:\n    image: x/stt:1\n    environment:\n      HF_TOKEN: hf_plain_s3cr3t\n      MODEL: large-v3\n",
    );
    const result = await composeCli(dir, [
      "import-compose",
      compose,
      "--stack",
      "migrate",
      "--import-file",
      path.join(dir, "imp.json"),
    ]);
    expect(result.code).toBe(EXIT.ok);
    const written = fs.readFileSync(file, "utf8") + fs.readFileSync(path.join(dir, "imp.json"), "utf8");
    expect(written).not.toContain("hf_plain_s3cr3t");
    expect(written).toContain("secretEnv:\n        HF_TOKEN: hfToken");
    expect(result.out).toContain(
      "pulumi config set --stack migrate --secret --path 'gpu-services:secrets.hfToken' <the value of services.stt.environment.HF_TOKEN>",
    );
    expect(result.out + result.err).not.toContain("hf_plain_s3cr3t");
  });
});

describe("the local-edits refusal fails closed", () => {
  const fakeResolve: typeof resolveDigest = async () => DIGEST;

  it("refuses a stack file git does not track", async () => {
    const dir = makeProjectRepo({
      "Pulumi.prod.yaml": REAL("Pulumi.prod.yaml"),
      "Pulumi.test.yaml": REAL("Pulumi.test.yaml"),
    });
    fs.writeFileSync(
      path.join(dir, "Pulumi.new.yaml"),
      REAL("Pulumi.prod.yaml").replace("sharesHostsWith: [test]", "sharesHostsWith: []"),
    );
    const before = snapshot(dir);
    const result = await releaseCli(dir, ["release", "new", "tts", "sha-1"], {}, fakeResolve);
    expect(result.code).toBe(EXIT.refused);
    expect(result.err).toContain("Pulumi.new.yaml is not committed to git (untracked)");
    expect(snapshot(dir)).toEqual(before);
  });

  it("refuses when git cannot answer (here: a GIT_DIR that is not a repository), with git's reason", async () => {
    const dir = makeProjectRepo({
      "Pulumi.prod.yaml": REAL("Pulumi.prod.yaml"),
      "Pulumi.test.yaml": REAL("Pulumi.test.yaml"),
    });
    const before = snapshot(dir);
    const saved = process.env.GIT_DIR;
    process.env.GIT_DIR = path.join(dir, "not-a-git-dir");
    try {
      const result = await releaseCli(dir, ["release", "prod", "tts", "sha-1"], {}, fakeResolve);
      expect(result.code).toBe(EXIT.refused);
      expect(result.err).toMatch(
        /git cannot tell whether Pulumi\.prod\.yaml has local edits \(fatal: not a git repository/,
      );
    } finally {
      if (saved === undefined) delete process.env.GIT_DIR;
      else process.env.GIT_DIR = saved;
    }
    expect(snapshot(dir)).toEqual(before);
  });

  it("history and rollback outside a git checkout: exit 3 with a message", async () => {
    const dir = tempDir("no-git");
    fs.writeFileSync(
      path.join(dir, "Pulumi.prod.yaml"),
      REAL("Pulumi.prod.yaml").replace("sharesHostsWith: [test]", "sharesHostsWith: []"),
    );
    const history = await releaseCli(dir, ["history", "prod", "tts"]);
    expect(history.code).toBe(EXIT.unresolved);
    expect(history.err).toMatch(/^release: no history for Pulumi\.prod\.yaml: fatal: not a git repository/);
    const rollback = await releaseCli(dir, ["rollback", "prod", "tts"]);
    expect(rollback.code).toBe(EXIT.refused);
    expect(rollback.err).toContain("git cannot tell whether Pulumi.prod.yaml has local edits");
  });
});

describe("a release changes the released value and no other byte", () => {
  const ORIGINAL = [
    "# prod, hand-kept    (two spaces before this comment's words are kept)",
    "config:",
    "  gpu-services:requirePinnedImages: true     # aligned comment",
    "  gpu-services:hosts:",
    "    gpu-server:",
    "      dockerHost: ssh://agnes@10.30.11.45",
    "      sshOpts: [ -o, StrictHostKeyChecking=yes ]",
    "  gpu-services:services:",
    "    tts:",
    "      host: gpu-server",
    "      image:",
    "        repository: ghcr.io/jim0237/tts-v2-api-server   # GHCR",
    "        tag: sha-c15893a73dc64eb5437e398a5fbf587947cd4d5c",
    "      labels:",
    "        description: >-",
    "          text to speech,",
    "          folded",
    "        build: 010",
    "",
  ];

  async function releaseInto(text: string, value: string, digest = DIGEST) {
    const dir = makeProjectRepo({ "Pulumi.prod.yaml": text });
    const result = await releaseCli(dir, ["release", "prod", "tts", value], {}, async () => digest);
    return { result, after: fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8") };
  }

  it("LF: only the tag changes and the digest line is added; 010, >-, flow spacing and comment spacing stay", async () => {
    const { result, after } = await releaseInto(ORIGINAL.join("\n"), "v2");
    expect(result.code).toBe(EXIT.ok);
    const expected = [...ORIGINAL];
    expected.splice(12, 1, "        tag: v2", `        digest: ${DIGEST}`);
    expect(after).toBe(expected.join("\n"));
  });

  it("CRLF stays CRLF", async () => {
    const { result, after } = await releaseInto(ORIGINAL.join("\r\n"), "v2");
    expect(result.code).toBe(EXIT.ok);
    const expected = [...ORIGINAL];
    expected.splice(12, 1, "        tag: v2", `        digest: ${DIGEST}`);
    expect(after).toBe(expected.join("\r\n"));
  });

  it("a tag a YAML 1.1 reader would read as a number or a date is quoted", async () => {
    for (const tag of ["1_000", "2024-01-01", "010", "1e3"]) {
      const { result, after } = await releaseInto(ORIGINAL.join("\n"), tag);
      expect(result.code).toBe(EXIT.ok);
      expect(after).toContain(`        tag: "${tag}"\n`);
    }
  });
});

describe("remotes that never answer", () => {
  let silent: net.Server;
  let port: number;
  beforeAll(async () => {
    silent = net.createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    port = (silent.address() as net.AddressInfo).port;
  });
  afterAll(() => silent.close());

  it("git ls-remote gives up after --timeout, naming the remote: exit 3, file unchanged", async () => {
    const url = `git://127.0.0.1:${port}/stt.git`;
    const dir = makeProjectRepo({
      "Pulumi.prod.yaml": REAL("Pulumi.prod.yaml")
        .replace("https://github.com/jim0237/STT-API-Server.git", url)
        .replace("sharesHostsWith: [test]", "sharesHostsWith: []"),
    });
    const before = snapshot(dir);
    const started = Date.now();
    const result = await releaseCli(dir, ["release", "prod", "stt", "main", "--timeout", "1"]);
    expect(result.code).toBe(EXIT.unresolved);
    expect(result.err).toContain(`git remote ${url} did not answer within 1 s (--timeout <seconds> to wait longer)`);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(snapshot(dir)).toEqual(before);
  });

  it("a registry that never answers: exit 3 after --timeout, naming it", async () => {
    const dir = makeProjectRepo({
      "Pulumi.prod.yaml": REAL("Pulumi.prod.yaml")
        .replace("ghcr.io/jim0237/tts-v2-api-server", `127.0.0.1:${port}/jim0237/tts`)
        .replace("sharesHostsWith: [test]", "sharesHostsWith: []"),
    });
    const before = snapshot(dir);
    const result = await releaseCli(dir, ["release", "prod", "tts", "v2", "--timeout", "1"]);
    expect(result.code).toBe(EXIT.unresolved);
    expect(result.err).toContain(`127.0.0.1:${port} for 127.0.0.1:${port}/jim0237/tts did not answer within 1 s`);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe("registries that misbehave", () => {
  /** A registry that challenges with `realm`, hands out `tokenBody` and answers manifests with `digest`. */
  async function fakeRegistry(opts: { realm: (self: string) => string; tokenBody?: string; digest?: string }) {
    const seen: { path: string; authorization?: string }[] = [];
    const server = http.createServer((req, res) => {
      seen.push({ path: req.url ?? "", authorization: req.headers.authorization });
      if (req.url?.startsWith("/token")) {
        res.writeHead(200, { "content-type": "application/json" }).end(opts.tokenBody ?? '{"token":"t"}');
      } else if (req.headers.authorization?.startsWith("Bearer")) {
        res.writeHead(200, { "docker-content-digest": opts.digest ?? DIGEST }).end();
      } else {
        res.writeHead(401, { "www-authenticate": `Bearer realm="${opts.realm(self)}",service="x"` }).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const self = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    return { self, seen, close: () => server.close() };
  }
  const creds = { username: "jim0237", password: "ghp_never_leaked" };

  it("credentials go only to the registry's own token service: never to a realm on another host over http", async () => {
    const other = await fakeRegistry({ realm: () => "" });
    const registry = await fakeRegistry({
      realm: () => `http://localhost.evil.example:${other.self.split(":")[1]}/token`,
    });
    await expect(resolveDigest(`${registry.self}/a/b`, "v1", { credentials: creds })).rejects.toThrow(
      "names a token service that is not https (http://localhost.evil.example",
    );
    expect(JSON.stringify([...registry.seen, ...other.seen])).not.toContain("Basic");
    registry.close();
    other.close();
  });

  it("per registry host: credentials for one registry are not offered to another", async () => {
    const registry = await fakeRegistry({ realm: (self) => `http://${self}/token` });
    const digest = await resolveDigest(`${registry.self}/a/b`, "v1", {
      credentialsFor: (host) => (host === "ghcr.io" ? creds : undefined),
    });
    expect(digest).toBe(DIGEST);
    expect(registry.seen.some((s) => s.authorization?.startsWith("Basic"))).toBe(false);
    registry.close();
  });

  it("a token service that answers something that is not JSON: exit 3 with a message", async () => {
    const registry = await fakeRegistry({ realm: (self) => `http://${self}/token`, tokenBody: "<html>oops</html>" });
    await expect(resolveDigest(`${registry.self}/a/b`, "v1")).rejects.toMatchObject({
      kind: "unresolved",
      message: `${registry.self}'s token service answered something that is not JSON`,
    });
    registry.close();
  });

  it("a realm that cannot be reached: exit 3 naming it", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve)); // nothing listens there now
    const registry = await fakeRegistry({ realm: () => `http://127.0.0.1:${closedPort}/token` });
    const error = await resolveDigest(`${registry.self}/a/b`, "v1").catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "unresolved" });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^cannot reach ${registry.self.replace(/\./g, "\\.")}'s token service \\(127\\.0\\.0\\.1:${closedPort}\\): ECONNREFUSED`,
      ),
    );
    registry.close();
  });

  it("a digest that differs from the one asked for is refused", async () => {
    const registry = await fakeRegistry({
      realm: (self) => `http://${self}/token`,
      digest: `sha256:${"d".repeat(64)}`,
    });
    await expect(resolveDigest(`${registry.self}/a/b`, DIGEST)).rejects.toMatchObject({
      kind: "unresolved",
      message: expect.stringContaining(`answered sha256:${"d".repeat(64)} when asked for ${DIGEST}`),
    });
    registry.close();
  });
});

describe("no raw stack traces", () => {
  it("release status of a malformed, a duplicate-key and an alias-bomb stack file: EXIT.config naming the file", async () => {
    for (const [text, says] of [
      ["config:\n  gpu-services:hosts: [\n", "Pulumi.bad.yaml is not valid YAML at line"],
      ["config:\n  a: 1\n  a: 2\n", "Map keys must be unique"],
      [
        `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nconfig: {k: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]}\n`,
        "Excessive alias count",
      ],
    ]) {
      const dir = tempDir("bad-stack");
      fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), text);
      const result = await releaseCli(dir, ["status", "bad"]);
      expect(result.code).toBe(EXIT.config);
      expect(result.err).toContain(says);
      expect(result.err).not.toMatch(/\n\s+at /);
    }
  });

  it("import-compose into a stack file with a YAML error: EXIT.config, the file unchanged", async () => {
    const dir = tempDir("bad-target");
    const file = path.join(dir, "Pulumi.migrate.yaml");
    fs.writeFileSync(file, "config:\n  gpu-services:hosts: {gpu-server: {dockerHost: x}\n");
    const result = await composeCli(dir, ["import-compose", COMPOSE, "--stack", "migrate"]);
    expect(result.code).toBe(EXIT.config);
    expect(result.err).toContain("Pulumi.migrate.yaml is not valid YAML");
    expect(fs.readFileSync(file, "utf8")).toBe("config:\n  gpu-services:hosts: {gpu-server: {dockerHost: x}\n");
  });

  it("status and doctor where the docker CLI is missing or cannot be executed: exit 3 saying so, no stack trace", async () => {
    const dir = tempDir("no-docker");
    fs.writeFileSync(
      path.join(dir, "Pulumi.local.yaml"),
      "config:\n  gpu-services:hosts:\n    local:\n      dockerHost: unix:///var/run/docker.sock\n" +
        "  gpu-services:services:\n    web:\n      host: local\n      image:\n        repository: nginx\n        tag: '1'\n",
    );
    // A PATH with no docker on it, then one whose `docker` is a file without the execute bit; and a HOME with no
    // docker config. Nothing but the CLI's own error line may reach stderr.
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    vi.stubEnv("PATH", bin);
    vi.stubEnv("HOME", dir);
    const stderr = vi.spyOn(process.stderr, "write");
    const consoleError = vi.spyOn(console, "error");
    const cases: [string, RegExp][] = [
      ["missing", /no "docker" on the PATH \(.*ENOENT\)/],
      ["not executable", new RegExp(`"${bin}/docker" cannot be executed \\(.*EACCES\\)`)],
    ];
    try {
      for (const [what, says] of cases) {
        if (what === "not executable") fs.writeFileSync(path.join(bin, "docker"), "#!/bin/sh\n", { mode: 0o644 });
        for (const [name, main] of [
          ["status", status],
          ["doctor", doctor],
        ] as const) {
          const c = capture();
          const run = c.result(await main(["--stack", "local"], { projectDir: dir, ...c.deps }));
          expect({ what, name, code: run.code }).toEqual({ what, name, code: EXIT.unresolved });
          expect(run.err).toMatch(new RegExp(`^${name}: the docker CLI`));
          expect(run.err).toMatch(says);
          expect(run.err).not.toMatch(/\n\s+at /);
        }
      }
      expect(stderr).not.toHaveBeenCalled();
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      vi.unstubAllEnvs();
      vi.restoreAllMocks();
    }
  });

  it("plan --help prints help with exit 0; plan --bogus exits 2 with commander's message", () => {
    const out: string[] = [];
    const err: string[] = [];
    const deps = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
    expect(plan(["--help"], deps)).toBe(EXIT.ok);
    expect(out.join("\n")).toContain("Usage: plan [options]");
    expect(plan(["--bogus"], deps)).toBe(EXIT.usage);
    expect(err.join("\n")).toContain("error: unknown option '--bogus'");
  });
});
