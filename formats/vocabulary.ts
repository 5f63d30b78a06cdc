/**
 * The words the stack config and the containers share: Docker's restart policies, IPC modes and ulimit names,
 * floating tags, this program's label keys, the switch's daemon name, and the secret name an env variable gets.
 */

/** Label keys this project sets on every container; user labels may not use the prefix. */
export const LABEL_PREFIX = "gpu-services.";

/**
 * The label naming the env variables whose values are secrets (GpuService sets it). The policy pack reads it:
 * under the real engine a policy sees container inputs as the provider checked them, with the secret marks of
 * list elements gone.
 */
export const SECRET_ENV_LABEL = `${LABEL_PREFIX}secret-env`;

/** The label that names a copy's index, on the containers of copies 1 and up (copy 0's is the service's own). */
export const COPY_LABEL = `${LABEL_PREFIX}copy`;

/** The `secrets` entry for an env variable, in camelCase: HF_TOKEN -> hfToken, tts-api_HF_TOKEN -> ttsApiHfToken. */
export function secretNameFor(env: string): string {
  return env.toLowerCase().replace(/[_-]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The daemon name of the switch's network and container on each host of a stack: the switch's components name
 * them, and `logs` and `metrics` find the switch's container by it.
 */
export function switchName(stack: string): string {
  return `gpu-switch-${stack}`;
}

/** Docker restart policies. */
export const RESTART_POLICIES = ["no", "on-failure", "always", "unless-stopped"] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/** Release strategies a service may ask for (`services.<s>.release.strategy`); `auto` is resolved by the model. */
export const RELEASE_STRATEGIES = ["auto", "blue-green", "stop-then-start"] as const;

/** The HTTP methods of a readiness check (`services.<s>.readiness.method`). */
export const READINESS_METHODS = ["GET", "HEAD", "POST", "PUT"] as const;
export type ReadinessMethod = (typeof READINESS_METHODS)[number];

/** IPC namespace modes a container may take. */
export const IPC_MODES = ["private", "shareable", "host"] as const;
export type IpcMode = (typeof IPC_MODES)[number];

/** Resource limits Docker sets (`--ulimit <name>=…`). */
export const ULIMIT_NAMES = [
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
] as const;

/** Tags that move: refused where a stack requires pinned images. */
export const FLOATING_TAGS = ["latest", "main", "master", "develop", "dev", "edge", "nightly", "stable"] as const;
