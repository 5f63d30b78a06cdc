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
import {
  buildModel,
  CLUSTER_REFUSALS,
  isOnCluster,
  isOnDocker,
  type ClusterServiceSpec,
  type DockerServiceSpec,
  type EveryKey,
  type PerKey,
  type ServiceSpec,
} from "../model";
import { POLICY_VIEW, type CheckedBy } from "../policy/serviceView";

/** Each kind of service with one more optional key, as a newcomer would add one. */
type DockerWider = DockerServiceSpec & { readonly extra?: number };
type ClusterWider = ClusterServiceSpec & { readonly extra?: number };
type Wider = DockerWider | ClusterWider;

// Each table is complete for the kind it reads: one of them, or both.
export const containerExact: PerKey<
  DockerServiceSpec,
  Partial<docker.ContainerArgs>,
  ContainerSource
> = CONTAINER_INPUTS;
export const deploymentExact: PerKey<ServiceSpec, DeploymentPart, KubeSource> = DEPLOYMENT_INPUTS;
export const planExact: PerKey<ServiceSpec, Readonly<Record<string, string>>, PlannedService> = PLAN_COLUMNS;
export const composeExact: PerKey<DockerServiceSpec, Readonly<Record<string, unknown>>, ComposeSource> = COMPOSE_KEYS;
export const policyExact: EveryKey<ServiceSpec, CheckedBy> = POLICY_VIEW;

// tsc must say each of these misses `extra` (an unused @ts-expect-error is itself an error).
// @ts-expect-error the container inputs say nothing about `extra`
export const containerWider: PerKey<DockerWider, Partial<docker.ContainerArgs>, ContainerSource> = CONTAINER_INPUTS;
// @ts-expect-error the Deployment's inputs say nothing about `extra`
export const deploymentWider: PerKey<Wider, DeploymentPart, KubeSource> = DEPLOYMENT_INPUTS;
// @ts-expect-error the plan's columns say nothing about `extra`
export const planWider: PerKey<Wider, Readonly<Record<string, string>>, PlannedService> = PLAN_COLUMNS;
// @ts-expect-error the compose export says nothing about `extra`
export const composeWider: PerKey<DockerWider, Readonly<Record<string, unknown>>, ComposeSource> = COMPOSE_KEYS;
// @ts-expect-error the policy pack's view says nothing about `extra`
export const policyWider: EveryKey<Wider, CheckedBy> = POLICY_VIEW;

/** What the compose export reads of a service. */
type ComposeSource = { service: DockerServiceSpec; stack: string };

/**
 * Every optional key of the spec set, over two services: one on a Docker host with every key a container takes
 * (ulimits, ...), one on a cluster with every key a Deployment takes (scheduling, ...); no one service can have
 * both.
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
          ports: [{ host: 8080, container: 80 }],
          gpus: { count: 1 },
          healthcheck: { test: "true" },
          entrypoint: ["e"],
          command: ["c"],
          user: "1000",
          shmSize: "1g",
          ipc: "host",
          cpus: 1.5,
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
  const services = fullServices();
  const onDocker = services.find(isOnDocker)!;
  const onCluster = services.find(isOnCluster)!;
  const keysOf = (...services: ServiceSpec[]) => [...new Set(services.flatMap((s) => Object.keys(s)))].sort();
  for (const [what, table, kinds, services] of [
    ["container inputs", CONTAINER_INPUTS, "on a Docker host", [onDocker]],
    ["Deployment inputs", DEPLOYMENT_INPUTS, "on a cluster, or refused there", [onDocker, onCluster]],
    ["plan columns", PLAN_COLUMNS, "on a Docker host or a cluster", [onDocker, onCluster]],
    ["compose export", COMPOSE_KEYS, "on a Docker host", [onDocker]],
    ["policy view", POLICY_VIEW, "on a Docker host or a cluster", [onDocker, onCluster]],
  ] as const) {
    it(`${what}: an entry for every key of a service with every key set (${kinds}), and no other`, () => {
      expect(Object.keys(table).sort()).toEqual(keysOf(...services));
    });
  }

  it("the two kinds share every key but their own", () => {
    const [docker, cluster] = [keysOf(onDocker), keysOf(onCluster)];
    expect(docker.filter((key) => !cluster.includes(key))).toEqual(["binds", "hold", "restart", "shareGpu", "ulimits"]);
    // Each one refused on a cluster, in one table.
    expect(Object.keys(CLUSTER_REFUSALS).sort()).toEqual(["binds", "hold", "restart", "shareGpu", "ulimits"]);
    expect(cluster.filter((key) => !docker.includes(key))).toEqual(["scheduling"]);
  });
});
