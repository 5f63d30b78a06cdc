/** What every host check of `doctor` takes and gives. */
import type { DeploymentModel, DockerServiceSpec, HostSpec } from "../../model";
import type { DockerCli } from "../../clients";
import type { GpuFigures } from "../gpuProbe";
import type { HostSnapshot } from "../hostSnapshot";
import type { SecretReader } from "../stackSecrets";

export type CheckLevel = "ok" | "warn" | "fail";

/** The checks, in the order doctor runs and prints them. */
export const CHECK_IDS = [
  "ssh",
  "docker-version",
  "nvidia-runtime",
  "gpus-declared",
  "gpu-memory",
  "gpu-memory-held",
  "ports",
  "external-volumes",
  "bind-sources",
  "disk-space",
  "buildkit",
  "registry-credentials",
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export interface Check {
  readonly id: CheckId;
  readonly level: CheckLevel;
  /** What was found, naming the host and what was checked. */
  readonly summary: string;
  /** What to do about a warn or fail. */
  readonly fix?: string;
}

export interface CheckContext {
  readonly model: DeploymentModel;
  readonly host: HostSpec;
  /** This stack's services placed on the host. */
  readonly services: readonly DockerServiceSpec[];
  readonly cli: DockerCli;
  readonly snapshot: HostSnapshot;
  readonly gpus: GpuFigures;
  readonly env: NodeJS.ProcessEnv;
  /** The stack's secrets (for `registryAuth`'s `passwordSecret`). */
  readonly readSecret: SecretReader;
}

export type HostCheck = (ctx: CheckContext) => Promise<Omit<Check, "id">> | Omit<Check, "id">;

export const ok = (summary: string): Omit<Check, "id"> => ({ level: "ok", summary });
export const warn = (summary: string, fix: string): Omit<Check, "id"> => ({ level: "warn", summary, fix });
export const fail = (summary: string, fix: string): Omit<Check, "id"> => ({ level: "fail", summary, fix });
