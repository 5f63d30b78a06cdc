/**
 * The policy pack's view of a service: for every key of `ServiceSpec`, the policies that check what it becomes
 * in the resources the program registers, or why none does. A key added to the spec is a type error here until
 * it says which.
 */
import { notCarried, type EveryKey, type ServiceSpec } from "../model";
import {
  gpuContainerRestartsAndReportsHealth,
  nonRootUser,
  pinnedImages,
  protectedVolumes,
  secretEnvValues,
  switchOwnsPorts,
} from "./policies";
import type { ResourceValidationPolicy } from "@pulumi/policy";

export interface CheckedBy {
  readonly checkedBy: readonly ResourceValidationPolicy[];
  /** Which input of which resource the policies read. */
  readonly as: string;
}

const checkedBy = (as: string, ...policies: ResourceValidationPolicy[]): CheckedBy => ({ checkedBy: policies, as });

const MODEL =
  "the model checks it across the stack and its neighbours (model/docker/hostChecks.ts); no policy repeats that";
const TUNING = "a tuning choice of the service; no rule about it";

export const POLICY_VIEW = {
  restart: checkedBy("the container's restart; a Deployment's restartPolicy", gpuContainerRestartsAndReportsHealth),
  healthcheck: checkedBy(
    "the container's healthcheck.tests; a Deployment container's readinessProbe",
    gpuContainerRestartsAndReportsHealth,
  ),
  gpus: checkedBy(
    "the container's deviceRequests, a Deployment's nvidia.com/gpu limit: which are GPU ones",
    gpuContainerRestartsAndReportsHealth,
  ),
  image: checkedBy(
    "the RemoteImage's name, a Deployment's container images (pinned where the stack requires it)",
    pinnedImages,
  ),
  volumes: checkedBy("each managed Volume's or PersistentVolumeClaim's protect option", protectedVolumes),
  env: checkedBy("the container's envs; a Deployment container's env values", secretEnvValues),
  secretEnv: checkedBy("the container's envs (secrets) and its secret-env label", secretEnvValues),
  user: checkedBy("the container's user; a Deployment container's securityContext.runAsUser", nonRootUser),
  name: notCarried(MODEL),
  host: notCarried(MODEL),
  containerName: notCarried(MODEL),
  ports: checkedBy("the container's ports: none where it is on a gpu-switch-<stack> network", switchOwnsPorts),
  shareGpu: notCarried(MODEL),
  binds: notCarried("host folders are the operator's to choose; no rule about them"),
  command: notCarried(TUNING),
  entrypoint: notCarried(TUNING),
  shmSizeBytes: notCarried(TUNING),
  ipc: notCarried(TUNING),
  ulimits: notCarried(TUNING),
  cpus: notCarried(TUNING),
  stopGraceSeconds: notCarried(TUNING),
  labels: notCarried("user labels are the operator's; the program's own secret-env label is read with secretEnv"),
  scheme: notCarried("part of the endpoint URL, a stack output, not a resource input"),
  endpoint: notCarried("part of the endpoint URL, a stack output, not a resource input"),
  release: notCarried(
    "the model resolves it and refuses what cannot be honoured (model/docker/fitRule.ts, model/cluster/fitRule.ts)",
  ),
  runsOn: notCarried(MODEL),
  replicas: checkedBy(
    "each copy's container (a Docker host), a Deployment's pods: each checked as the one copy is",
    gpuContainerRestartsAndReportsHealth,
    pinnedImages,
    secretEnvValues,
    nonRootUser,
  ),
  copies: checkedBy(
    "each copy's container's deviceRequests (its deviceIds): which are GPU ones",
    gpuContainerRestartsAndReportsHealth,
  ),
  scheduling: notCarried(TUNING),
  readiness: notCarried("the switch probes it (the push's plan) and a cluster's probes carry it; no rule about it"),
  hold: notCarried("the switch holds requests as the push's plan says; the model refuses it on a cluster"),
} satisfies EveryKey<ServiceSpec, CheckedBy>;
