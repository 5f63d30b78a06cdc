/**
 * `doctor`: per host of a stack, will it take the stack? Each check ok / warn / fail with the fix to make. Reads
 * only (its writes are short-lived containers, removed at once: one that runs nvidia-smi, and one per published
 * port no container holds, which runs nothing: checks/placement.ts). The JSON shape (`DoctorReport`) is
 * documented in docs/reference/json.md and pinned by test/docker/observe.test.ts.
 */
import { isOnDocker, type DeploymentModel, type HostSpec } from "../model";
import { bindSourcesCheck, diskSpaceCheck } from "./checks/hostFiles";
import { buildkitCheck, registryCredentialsCheck } from "./checks/build";
import { dockerVersionCheck, sshCheck } from "./checks/connection";
import { gpuMemoryCheck, gpusDeclaredCheck, nvidiaRuntimeCheck } from "./checks/gpu";
import { gpuMemoryHeldCheck } from "./checks/gpuHeld";
import { externalVolumesCheck, portsCheck } from "./checks/placement";
import { CHECK_IDS, type Check, type CheckContext, type CheckId, type HostCheck } from "./checks/types";
import { probeGpus, probeImages } from "./gpuProbe";
import { DockerCli, DockerCliUnusable, HostUnreachable, sshTarget } from "../clients";
import { readSnapshot } from "./hostSnapshot";
import { noSecretReader, type SecretReader } from "./stackSecrets";

/** Every check by its id: a check missing here is a type error. */
const CHECKS = {
  ssh: sshCheck,
  "docker-version": dockerVersionCheck,
  "nvidia-runtime": nvidiaRuntimeCheck,
  "gpus-declared": gpusDeclaredCheck,
  "gpu-memory": gpuMemoryCheck,
  "gpu-memory-held": gpuMemoryHeldCheck,
  ports: portsCheck,
  "external-volumes": externalVolumesCheck,
  "bind-sources": bindSourcesCheck,
  "disk-space": diskSpaceCheck,
  buildkit: buildkitCheck,
  "registry-credentials": registryCredentialsCheck,
} satisfies Record<CheckId, HostCheck>;

export interface HostDoctor {
  readonly name: string;
  readonly dockerHost: string;
  readonly reachable: boolean;
  readonly seconds: number;
  /** One entry per check; a host that cannot be reached has one failed connection check and `notRun`. */
  readonly checks: readonly Check[];
  /** Checks that could not run because the host could not be reached. */
  readonly notRun: readonly CheckId[];
}

export interface DoctorReport {
  readonly stack: string;
  readonly checkedAt: string;
  /** `ok` (no check failed; warnings may be listed), `fail` (a check failed) or `unreachable`. */
  readonly result: "ok" | "fail" | "unreachable";
  readonly hosts: readonly HostDoctor[];
}

/** Told as a host's checks go, for a person watching a long run (the CLI's progress lines). */
export interface DoctorProgress {
  /** Host `host` has started `what`: reading the host, or a check by its id. */
  step(host: string, what: string): void;
  /** Host `host` is done. */
  done(result: HostDoctor): void;
}

const SILENT: DoctorProgress = { step() {}, done() {} };

async function runChecks(ctx: CheckContext, progress: DoctorProgress): Promise<Check[]> {
  const checks: Check[] = [];
  for (const id of CHECK_IDS) {
    progress.step(ctx.host.name, `check ${id}`);
    try {
      checks.push({ id, ...(await CHECKS[id](ctx)) });
    } catch (error) {
      if (error instanceof HostUnreachable || error instanceof DockerCliUnusable) throw error;
      checks.push({
        id,
        level: "fail",
        summary: `the check itself failed: ${(error as Error).message}`,
        fix: "run doctor again; report it if it persists",
      });
    }
  }
  return checks;
}

function unreachable(host: HostSpec, error: HostUnreachable, seconds: number): HostDoctor {
  const id: CheckId = host.dockerHost.startsWith("ssh://") ? "ssh" : "docker-version";
  const fix =
    id === "ssh"
      ? `\`ssh ${[...host.sshOpts, ...sshTarget(host.dockerHost)].join(" ")} docker version\` must work from here (key, known_hosts, network)`
      : "start the Docker daemon, or correct dockerHost";
  const check: Check = { id, level: "fail", summary: error.message, fix };
  return {
    name: host.name,
    dockerHost: host.dockerHost,
    reachable: false,
    seconds,
    checks: [check],
    notRun: CHECK_IDS.filter((c) => c !== id),
  };
}

async function doctorHost(
  model: DeploymentModel,
  host: HostSpec,
  env: NodeJS.ProcessEnv,
  readSecret: SecretReader,
  opts: { timeoutMs?: number; progress: DoctorProgress },
): Promise<HostDoctor> {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  const cli = new DockerCli(host, opts.timeoutMs);
  const step = (what: string) => opts.progress.step(host.name, what);
  try {
    step(`reading ${host.dockerHost}`);
    const snapshot = await readSnapshot(cli);
    const services = model.services.filter(isOnDocker).filter((s) => s.host === host.name);
    step("looking for nvidia-smi");
    const images = await probeImages(cli, model.stack, snapshot.containers, services);
    const gpus = await probeGpus(cli, snapshot.containers, { allowRun: true, images });
    const ctx = { model, host, services, cli, snapshot, gpus, env, readSecret };
    const checks = await runChecks(ctx, opts.progress);
    return { name: host.name, dockerHost: host.dockerHost, reachable: true, seconds: seconds(), checks, notRun: [] };
  } catch (error) {
    if (error instanceof HostUnreachable) return unreachable(host, error, seconds());
    throw error;
  } finally {
    cli.close();
  }
}

/**
 * Every host's checks. `readSecret` reads the stack's secrets (the CLI's: `pulumi config get`, see
 * stackSecrets.ts); without it a `registryAuth` secret is reported as not read. `progress` is told each step.
 */
export async function runDoctor(
  model: DeploymentModel,
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; readSecret?: SecretReader; progress?: DoctorProgress } = {},
): Promise<DoctorReport> {
  const env = opts.env ?? process.env;
  const readSecret = opts.readSecret ?? noSecretReader;
  const progress = opts.progress ?? SILENT;
  const hostOpts = { timeoutMs: opts.timeoutMs, progress };
  const hosts = await Promise.all(
    model.hosts.map(async (h) => {
      const result = await doctorHost(model, h, env, readSecret, hostOpts);
      progress.done(result);
      return result;
    }),
  );
  const failed = hosts.some((h) => h.checks.some((c) => c.level === "fail"));
  const result = hosts.some((h) => !h.reachable) ? "unreachable" : failed ? "fail" : "ok";
  return { stack: model.stack, checkedAt: new Date().toISOString(), result, hosts };
}
