/**
 * A stand-in `docker` CLI for unit tests of the commands that read hosts (`logs`, `metrics`): a shell script,
 * first on the PATH, that answers from files in a folder what the real CLI would print for one daemon, and
 * answers as an unreachable daemon for a DOCKER_HOST that names `down`. Each call's arguments are appended to
 * `calls` in the folder, one line each, with the DOCKER_HOST.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./gitRepos";

/** The stack of the stand-in's project (fakeStackProject). */
export const FAKE_STACK = "dev";

/** Two hosts as the stand-in answers them, `lab` reached and `far` not (its socket names `down`), a service on each. */
const FAKE_STACK_FILE = `config:
  gpu-services:hosts:
    lab:
      dockerHost: unix:///var/run/fake.sock
    far:
      dockerHost: unix:///var/run/down.sock
  gpu-services:services:
    stt:
      host: lab
      image: { repository: ghcr.io/example/stt, digest: sha256:${"b".repeat(64)} }
    tts:
      host: far
      image: { repository: ghcr.io/example/tts, digest: sha256:${"c".repeat(64)} }
`;

/** A new project folder (`name` in its path) holding the stand-in's stack file, `Pulumi.<FAKE_STACK>.yaml`. */
export function fakeStackProject(name: string): string {
  const dir = tempDir(name);
  fs.writeFileSync(path.join(dir, `Pulumi.${FAKE_STACK}.yaml`), FAKE_STACK_FILE);
  return dir;
}

/** A container as `docker container inspect` prints the fields the readers use. */
export interface FakeContainer {
  readonly name: string;
  readonly labels?: Record<string, string>;
  readonly startedAt?: string;
  readonly cmd?: string[];
  /** Lines `docker logs --timestamps` prints, on stdout and stderr. */
  readonly stdout?: string[];
  readonly stderr?: string[];
}

const SCRIPT = `#!/bin/sh
dir="$FAKE_DOCKER_DIR"
echo "$DOCKER_HOST $*" >> "$dir/calls"
case "$DOCKER_HOST" in *down*)
  echo "Cannot connect to the Docker daemon at $DOCKER_HOST. Is the docker daemon running?" >&2; exit 1 ;;
esac
case "$1" in
  version) echo '{"Version":"27.5.1","ApiVersion":"1.47"}' ;;
  info) echo '{"Runtimes":{"runc":{}},"DockerRootDir":"/var/lib/docker"}' ;;
  ps) cat "$dir/ids" ;;
  container) cat "$dir/inspect.json" ;;
  volume) ;;
  top) echo PID ;;
  logs) for last; do :; done; cat "$dir/logs/$last.out"; cat "$dir/logs/$last.err" >&2 ;;
  exec) [ -f "$dir/history.json" ] || { echo "Error response from daemon: No such container: $2" >&2; exit 1; }
        cat "$dir/history.json" ;;
  *) echo "fake docker: $1 is not answered" >&2; exit 1 ;;
esac
`;

export interface FakeDocker {
  readonly dir: string;
  /** Each call so far: `<DOCKER_HOST> <args…>`. */
  calls(): string[];
  /** Put the folder's docker first on the PATH of this process until `restore`. */
  restore(): void;
}

export function fakeDocker(containers: readonly FakeContainer[], history?: unknown): FakeDocker {
  const dir = tempDir("fake-docker");
  fs.mkdirSync(path.join(dir, "bin"));
  fs.mkdirSync(path.join(dir, "logs"));
  fs.writeFileSync(path.join(dir, "bin", "docker"), SCRIPT, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "ids"), containers.map((c) => `id-${c.name}\n`).join(""));
  const inspect = containers.map((c) => ({
    Id: `id-${c.name}`,
    Name: `/${c.name}`,
    Image: "sha256:1",
    Config: { Image: "img", Labels: c.labels ?? {}, Cmd: c.cmd ?? null },
    State: { Status: "running", Running: true, StartedAt: c.startedAt ?? "2026-07-01T09:00:00Z" },
    RestartCount: 0,
    NetworkSettings: { Ports: {} },
    HostConfig: { DeviceRequests: null },
  }));
  fs.writeFileSync(path.join(dir, "inspect.json"), JSON.stringify(inspect));
  for (const c of containers) {
    fs.writeFileSync(path.join(dir, "logs", `${c.name}.out`), (c.stdout ?? []).map((l) => `${l}\n`).join(""));
    fs.writeFileSync(path.join(dir, "logs", `${c.name}.err`), (c.stderr ?? []).map((l) => `${l}\n`).join(""));
  }
  if (history !== undefined) fs.writeFileSync(path.join(dir, "history.json"), JSON.stringify(history));
  const saved = { path: process.env.PATH, dir: process.env.FAKE_DOCKER_DIR };
  process.env.PATH = `${path.join(dir, "bin")}:${saved.path ?? ""}`;
  process.env.FAKE_DOCKER_DIR = dir;
  return {
    dir,
    calls: () =>
      fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [],
    restore() {
      process.env.PATH = saved.path;
      if (saved.dir === undefined) delete process.env.FAKE_DOCKER_DIR;
      else process.env.FAKE_DOCKER_DIR = saved.dir;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
