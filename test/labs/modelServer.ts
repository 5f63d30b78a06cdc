/**
 * The model-server stand-in (test/fixtures/model-server: Go standard library only, static, FROM scratch): a
 * server that loads for a while, refusing connections or answering 503, then serves STT- and TTS-like requests
 * naming its release and its copy. Built here with the local Go (nothing from the module proxy) and the daemon's
 * classic builder.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "../support/gitRepos";
import { PROJECT_DIR } from "../support/harness";

const SOURCE = path.join(PROJECT_DIR, "test", "fixtures", "model-server");

/** What the stand-in does while it loads: listen only once loaded, or answer 503 until then. */
export type LoadMode = "refuse" | "503";

/** The stand-in's own healthcheck (FROM scratch has no curl): a GET of /health that must answer 200. */
export const MODEL_SERVER_HEALTHCHECK = ["CMD", "/model-server", "-check", "http://localhost:8000/health"];

/**
 * Build the stand-in's image as `ref` (local to the daemon, not pushed), with `env` baked in (e.g. the release
 * name, MODEL_RELEASE: what a new image of a real server brings, where the stack's env stays as it is).
 */
export function buildModelServerImage(ref: string, env: Readonly<Record<string, string>> = {}): void {
  const dir = tempDir("model-server-image");
  try {
    execFileSync("go", ["build", "-trimpath", "-o", path.join(dir, "model-server"), "."], {
      cwd: SOURCE,
      env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const dockerfile = fs.readFileSync(path.join(SOURCE, "Dockerfile"), "utf8");
    const lines = Object.entries(env).map(([name, value]) => `ENV ${name}=${JSON.stringify(value)}\n`);
    fs.writeFileSync(path.join(dir, "Dockerfile"), `${dockerfile}${lines.join("")}`);
    execFileSync("docker", ["build", "-q", "-t", ref, dir], {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The environment of a stand-in container: load time, mode, service time per request, release name. */
export function modelServerEnv(opts: {
  readonly loadSeconds: number;
  readonly mode: LoadMode;
  readonly serviceMs?: number;
  readonly oneAtATime?: boolean;
  readonly release: string;
}): string[] {
  return [
    `MODEL_LOAD=${opts.loadSeconds}s`,
    `MODEL_MODE=${opts.mode}`,
    `MODEL_SERVICE=${opts.serviceMs ?? 0}ms`,
    `MODEL_ONE_AT_A_TIME=${opts.oneAtATime ?? false}`,
    `MODEL_RELEASE=${opts.release}`,
  ];
}
