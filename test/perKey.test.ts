/**
 * Every consumer of `ServiceSpec` says, per key, what it does with it: the container inputs, the Deployment's
 * inputs on a cluster, the plan's columns, the compose export and the policy pack's view. Checked twice: here at run time on a service with every key set,
 * and by tsc (`npm run typecheck`, in CI), which must refuse each table for a spec with one more key.
 */
import type * as docker from "@pulumi/docker";
import { describe, expect, it } from "vitest";
import { CONTAINER_INPUTS, type ContainerSource } from "../docker/containerInputs";
import { DEPLOYMENT_INPUTS, type DeploymentPart, type KubeSource } from "../kubernetes/kubeInputs";
import { PLAN_COLUMNS, type PlannedService } from "../cli/plan";
import { COMPOSE_KEYS } from "../compose/export";
import { buildModel, type EveryKey, type PerKey, type ServiceSpec } from "../model";
import { POLICY_VIEW, type CheckedBy } from "../policy/serviceView";

/** ServiceSpec with one more optional key, as a newcomer would add one. */
type Wider = ServiceSpec & { readonly extra?: number };

// tsc must say each of these misses `extra` (an unused @ts-expect-error is itself an error).
// @ts-expect-error the container inputs say nothing about `extra`
export const containerWider: PerKey<Wider, Partial<docker.ContainerArgs>, ContainerSource> = CONTAINER_INPUTS;
// @ts-expect-error the Deployment's inputs say nothing about `extra`
export const deploymentWider: PerKey<Wider, DeploymentPart, KubeSource> = DEPLOYMENT_INPUTS;
// @ts-expect-error the plan's columns say nothing about `extra`
export const planWider: PerKey<Wider, Readonly<Record<string, string>>, PlannedService> = PLAN_COLUMNS;
// @ts-expect-error the compose export says nothing about `extra`
export const composeWider: PerKey<
  Wider,
  Readonly<Record<string, unknown>>,
  { service: ServiceSpec; stack: string }
> = COMPOSE_KEYS;
// @ts-expect-error the policy pack's view says nothing about `extra`
export const policyWider: EveryKey<Wider, CheckedBy> = POLICY_VIEW;

/**
 * Every optional key of the spec set, over two services: one on a Docker host with every key a container takes
 * (ulimits, a non-numeric user, ...), one on a cluster with what only a cluster takes (scheduling); no one service
 * can have both.
 */
function fullServices(): ServiceSpec[] {
  const model = buildModel(
    {
      hosts: { lab: { dockerHost: "unix:///var/run/docker.sock" }, k8s: { kubernetes: { namespace: "speech" } } },
      secrets: { k: "v" },
      services: {
        web: {
          host: "lab",
          image: { repository: "nginx", tag: "1.27" },
          ports: [{ host: 8080, container: 80 }],
          gpus: { count: 1 },
          healthcheck: { test: "true" },
          entrypoint: ["e"],
          command: ["c"],
          user: "1000",
          shmSize: "1g",
          ipc: "host",
          ulimits: { nofile: 1024 },
          cpus: 1.5,
          secretEnv: { K: "k" },
        },
        pod: {
          host: "k8s",
          image: { repository: "nginx", tag: "1.27" },
          replicas: 2,
          scheduling: { runtimeClassName: "nvidia" },
        },
      },
    },
    { stack: "dev", secretKeys: new Set(["secrets"]) },
  );
  return [...model.services];
}

describe("per-key tables", () => {
  const keys = [...new Set(fullServices().flatMap((service) => Object.keys(service)))].sort();
  for (const [what, table] of [
    ["container inputs", CONTAINER_INPUTS],
    ["Deployment inputs", DEPLOYMENT_INPUTS],
    ["plan columns", PLAN_COLUMNS],
    ["compose export", COMPOSE_KEYS],
    ["policy view", POLICY_VIEW],
  ] as const) {
    it(`${what}: an entry for every key of a service with every key set (on a Docker host or a cluster), and no other`, () => {
      expect(Object.keys(table).sort()).toEqual(keys);
    });
  }
});
