/**
 * Property-based tests (fast-check) of what reads untrusted input: the stack-config loader and buildModel,
 * import-compose, the release CLI's arguments and the registry's answers. For arbitrary input and for
 * mutations of the real stack and compose files, the outcome is a result or a documented error (a message, an
 * exit code of 2, 3 or 4), never an uncaught exception, never a file changed after a refusal, never a secret
 * value in any output. CI runs a fixed seed; `npm run fuzz` runs many more cases (FUZZ_RUNS, FUZZ_SEED).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { main as release } from "../cli/release";
import { buildModel } from "../model";
import { StackConfigError, parseStackText, StackFileError } from "../stackConfig";
import { ComposeError } from "../compose/load";
import { importCompose } from "../compose/import";
import { ReportedError } from "../errors";
import { EXIT, EXIT_OF_KIND } from "../cli/errors";
import { resolveDigest } from "../clients/registry";
import { makeProjectRepo, tempDir } from "./support/gitRepos";
import { PROJECT_DIR } from "./support/harness";

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const params = { numRuns: RUNS, seed: SEED };
/** A secret value planted in the input: it must never come out. */
const SECRET = "s3cr3t-Fuzz-V4lue-9917";

const REAL = (name: string) => fs.readFileSync(path.join(PROJECT_DIR, name), "utf8");
const CORPUS = path.join(PROJECT_DIR, "test", "fixtures", "compose-corpus");
const COMPOSE_FILES = fs.readdirSync(CORPUS).flatMap((dir) =>
  fs
    .readdirSync(path.join(CORPUS, dir))
    .filter((f) => /compose.*\.ya?ml$/.test(f))
    .map((f) => path.join(CORPUS, dir, f)),
);

/** An arbitrary JSON-ish value, the kind a careless edit puts anywhere (the secret is planted apart). */
const junk = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    "8080:80",
    "../../etc/passwd",
    "${UNSET:?boom}",
    "$$",
    "16g",
    "-1",
    "sha256:abc",
    "ssh://u:p@h/r.git",
  ),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
);

/** Every path into a value. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  }
  return out;
}

type Mutation = { kind: "set" | "delete" | "add"; pick: number; value: unknown; key: string };
const mutation = fc.record({
  kind: fc.constantFrom<"set" | "delete" | "add">("set", "delete", "add"),
  pick: fc.nat(),
  value: junk,
  key: fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.constantFrom("image", "build", "ports", "<<", "x-a", "secrets", "env"),
  ),
});

/** The value with a few random edits. */
function mutate(value: unknown, edits: Mutation[]): unknown {
  const copy = structuredClone(value);
  for (const edit of edits) {
    const all = paths(copy).filter((p) => p.length > 0);
    if (all.length === 0) break;
    const at = all[edit.pick % all.length];
    let parent: any = copy;
    for (const step of at.slice(0, -1)) parent = parent[step];
    const last = at[at.length - 1];
    if (edit.kind === "set") parent[last] = edit.value;
    else if (edit.kind === "delete") {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (parent[last] !== null && typeof parent[last] === "object" && !Array.isArray(parent[last])) {
      parent[last][edit.key] = edit.value;
    }
  }
  return copy;
}

const isDocumented = (error: unknown) =>
  error instanceof StackConfigError || error instanceof StackFileError || error instanceof ComposeError;

describe("the stack-config loader and buildModel", () => {
  const stacks = ["Pulumi.prod.yaml", "Pulumi.test.yaml"].map((f) => parse(REAL(f)));

  it("mutations of the real stack files give a model or a StackConfigError, and never print a secret", () => {
    fc.assert(
      fc.property(fc.nat(1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, edits) => {
        const doc = structuredClone(stacks[which]);
        doc.config["gpu-services:secrets"] = { token: { secure: "v1:abc" }, fuzz: SECRET };
        const text = stringify(mutate(doc, edits));
        try {
          const raw = parseStackText(text, undefined, "Pulumi.fuzz.yaml");
          buildModel(raw.values, { stack: "fuzz", secretKeys: raw.secretKeys, secretPaths: raw.secretPaths });
        } catch (error) {
          if (!isDocumented(error)) throw error;
          expect((error as Error).message).not.toContain(SECRET);
        }
      }),
      params,
    );
  });

  it("arbitrary text as a stack file gives a model or a documented error", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `config:\n  gpu-services:hosts: ${s}\n`),
        ),
        (text) => {
          try {
            const raw = parseStackText(text, undefined, "Pulumi.fuzz.yaml");
            buildModel(raw.values, { stack: "fuzz", secretKeys: raw.secretKeys });
          } catch (error) {
            if (!isDocumented(error)) throw error;
          }
        },
      ),
      params,
    );
  });
});

describe("import-compose", () => {
  const composes = COMPOSE_FILES.map((file) => ({ file, data: parse(fs.readFileSync(file, "utf8"), { merge: true }) }));

  it("mutations of the corpus give services or a ComposeError, and never write a secret-looking value", () => {
    fc.assert(
      fc.property(fc.nat(composes.length - 1), fc.array(mutation, { maxLength: 4 }), (which, edits) => {
        const { file, data } = composes[which];
        const doc = mutate(data, edits) as any;
        // A secret-looking variable in some service: its value must stay out of the config and the warnings.
        const first = doc?.services && typeof doc.services === "object" ? Object.values(doc.services)[0] : undefined;
        if (first && typeof first === "object" && !Array.isArray(first))
          (first as any).environment = { HF_TOKEN: SECRET };
        try {
          const result = importCompose(stringify(doc), {
            composeDir: path.dirname(file),
            host: "gpu",
            environment: {},
          });
          expect(JSON.stringify(result.services)).not.toContain(SECRET);
          expect(result.warnings.join("\n")).not.toContain(SECRET);
        } catch (error) {
          if (!(error instanceof ComposeError)) throw error;
          expect((error as Error).message).not.toContain(SECRET);
        }
      }),
      params,
    );
  });

  it("arbitrary text gives services or a ComposeError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `services:\n  a:\n    ${s}\n`),
        ),
        (text) => {
          try {
            importCompose(text, { composeDir: tempDir("fuzz-compose"), host: "gpu", environment: {} });
          } catch (error) {
            if (!(error instanceof ComposeError)) throw error;
          }
        },
      ),
      params,
    );
  });
});

describe("the release CLI", () => {
  const dir = makeProjectRepo({
    "Pulumi.prod.yaml": REAL("Pulumi.prod.yaml"),
    "Pulumi.test.yaml": REAL("Pulumi.test.yaml"),
  });
  const before = () =>
    Object.fromEntries(
      fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]),
    );
  const snapshot = before();
  const word = fc.oneof(
    fc.constantFrom(
      "release",
      "history",
      "rollback",
      "status",
      "prod",
      "test",
      "stt",
      "tts",
      "--to",
      "--json",
      "--timeout",
      "0",
    ),
    fc.constantFrom("x/../../evil", "..", ".hidden", "sha256:" + "a".repeat(64), "v1", "main", "-", "--bogus", ""),
    fc.string({ maxLength: 12 }),
  );

  it("any arguments: exit 0, 2, 3 or 4 with a message; the stack files unchanged unless it exited 0", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(word, { maxLength: 5 }),
        fc.oneof(fc.constant(`sha256:${"b".repeat(64)}`), fc.constant("garbage"), fc.constant(undefined)),
        async (argv, answer) => {
          const out: string[] = [];
          const fakeResolve: typeof resolveDigest = async () => {
            if (answer === undefined) throw new ReportedError("unresolved", "registry down (fake)");
            return answer;
          };
          const code = await release(argv, {
            projectDir: dir,
            out: (s) => void out.push(s),
            err: (s) => void out.push(s),
            env: { REGISTRY_USERNAME: "u", REGISTRY_PASSWORD: SECRET },
            resolveDigest: fakeResolve,
          });
          expect([EXIT.ok, EXIT.usage, EXIT.unresolved, EXIT.refused]).toContain(code);
          expect(out.join("\n")).not.toContain(SECRET);
          if (code !== EXIT.ok) expect(before()).toEqual(snapshot);
          // Restore a successful release, so every case starts from the committed files.
          for (const [file, text] of Object.entries(snapshot)) fs.writeFileSync(path.join(dir, file), text);
        },
      ),
      { ...params, numRuns: Math.max(20, Math.floor(RUNS / 3)) },
    );
  });
});

describe("the registry's answers", () => {
  const answer = fc.record({
    status: fc.constantFrom(200, 201, 401, 403, 404, 500, 302),
    digest: fc.oneof(fc.constant(`sha256:${"c".repeat(64)}`), fc.string(), fc.constant(undefined)),
    challenge: fc.oneof(
      fc.constant(undefined),
      fc.constant('Bearer realm="https://ghcr.io/token",service="ghcr.io"'),
      fc.constant('Bearer realm="http://evil.example/token"'),
      fc.constant("Basic realm=x"),
      fc.string(),
    ),
    body: fc.oneof(fc.constant('{"token":"t"}'), fc.constant("not json"), fc.string(), fc.constant('{"token":5}')),
  });

  it("any sequence of answers gives a well-formed digest or an unresolved error (exit 3), never the password", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 4 }), fc.boolean(), async (answers, asDigest) => {
        let i = 0;
        const fake = (async (url: string, init: RequestInit) => {
          const a = answers[Math.min(i++, answers.length - 1)];
          const headers = new Headers();
          if (a.digest !== undefined) headers.set("docker-content-digest", a.digest);
          if (a.challenge !== undefined) headers.set("www-authenticate", a.challenge);
          const authorization = new Headers(init.headers).get("authorization") ?? "";
          // Credentials go to ghcr.io's own token service over https, nowhere else.
          if (authorization.startsWith("Basic")) expect(new URL(String(url)).origin).toBe("https://ghcr.io");
          return new Response(init.method === "HEAD" ? null : a.body, { status: a.status, headers });
        }) as unknown as typeof fetch;
        try {
          const digest = await resolveDigest("ghcr.io/jim0237/tts", asDigest ? `sha256:${"c".repeat(64)}` : "v1", {
            fetch: fake,
            credentialsFor: () => ({ username: "jim0237", password: SECRET }),
            timeoutMs: 1000,
          });
          expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
        } catch (error) {
          if (!(error instanceof ReportedError)) throw error;
          expect(EXIT_OF_KIND[error.kind]).toBe(EXIT.unresolved);
          expect(error.message).not.toContain(SECRET);
        }
      }),
      params,
    );
  });
});
