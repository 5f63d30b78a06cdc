/**
 * What a cluster makes of each key only a service on a Docker host has: a value that asks for something a cluster
 * has no form for is refused, with the reason and the way out. One table, complete by its type: the cluster's
 * checks report from it (clusterChecks.ts), and the Deployment's per-key table gives it as the reason it carries
 * none of these keys (kubernetes/kubeInputs.ts).
 */
import type { z } from "zod";
import { CLUSTER_RESTART_POLICIES } from "../../formats";
import type { ServiceFields } from "../../stackConfig";
import type { DockerOnlyKey } from "../types";

type Fields = typeof ServiceFields.shape;

/** The value of a key of a service's config, as its schema parses it. */
export type FieldValue<Key extends keyof Fields> = z.output<Fields[Key]>;

/** How a cluster refuses a key of a service's config. */
export interface ClusterRefusal<Value> {
  /** Whether a value given for the key asks for what a cluster has no form for; undefined where it does not parse. */
  refuses(value: Value | undefined): boolean;
  /** Why, said after `host "<name>" is a cluster, `: what a cluster does instead, and the way out. */
  readonly reason: string;
  /** Whether the error ends with the value given (`(got "on-failure")`). */
  readonly quotesValue?: true;
}

/** The way out of every refusal on a cluster: the service on a Docker host. */
export const TO_DOCKER = "or run the service on a Docker host";

/** Every key only a Docker host has (a config key of the same name), as a cluster refuses it, in the order reported. */
export const CLUSTER_REFUSALS: { readonly [Key in DockerOnlyKey]: ClusterRefusal<FieldValue<Key>> } = {
  binds: {
    refuses: (binds) => (binds ?? []).length > 0,
    reason: `whose pods have no host folders to bind: use a volume (volumes[]: a PersistentVolumeClaim), ${TO_DOCKER}`,
  },
  shareGpu: {
    refuses: (shareGpu) => shareGpu === true,
    reason:
      "where each pod gets its GPUs for itself; sharing a GPU is the device plugin's (time-slicing, MPS): " +
      `remove it, ${TO_DOCKER}`,
  },
  ulimits: {
    refuses: (ulimits) => ulimits !== undefined && Object.keys(ulimits).length > 0,
    reason: `and Kubernetes has no per-container ulimits: remove it (the nodes' container runtime sets them), ${TO_DOCKER}`,
  },
  restart: {
    refuses: (restart) => restart !== undefined && !(CLUSTER_RESTART_POLICIES as readonly string[]).includes(restart),
    reason: `whose pods are always restarted: use ${CLUSTER_RESTART_POLICIES.join(" or ")}`,
    quotesValue: true,
  },
  // Any hold given, even one that does not parse: nothing on a cluster would read it.
  hold: {
    refuses: () => true,
    reason: `which has no switch to hold requests (its Service sends them to ready pods only); remove it, ${TO_DOCKER}`,
  },
};

/** The error for a refused value of `key`, on the cluster `host`. */
export function clusterRefusal<Key extends DockerOnlyKey>(
  host: string,
  key: Key,
  value: FieldValue<Key> | undefined,
): string {
  const { reason, quotesValue } = CLUSTER_REFUSALS[key];
  return `host "${host}" is a cluster, ${reason}${quotesValue ? ` (got "${String(value)}")` : ""}`;
}
