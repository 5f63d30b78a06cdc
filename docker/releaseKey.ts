/**
 * The release key of a service's container: what tells one release of it from the next. The switch's drain
 * (switch/switchDrain.ts) and push (switch/switchPush.ts) upload it, so both run again exactly when the container is
 * replaced, and neither on an up that leaves it alone; the switch records it per route.
 *
 * It is computed from the container's inputs as the program registers them (the drain must run before the old
 * container stops, so it cannot wait for the new one's outputs): the image actually deployed, then a hash of every
 * input whose change replaces the container.
 */
import { createHash } from "node:crypto";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/**
 * Container inputs whose change is no new release: the docker provider updates them in place (`restart`,
 * `maxRetryCount`, `cpuShares`, `memory`, `memorySwap`, `cpuSet`), or they act only at create or delete (`wait`,
 * `waitTimeout`, `mustRun`, `attach`, `logs`, `rm`, `destroyGraceSeconds`) (docs/design/blue-green-releases.md
 * §1.1.6). `name` too: a blue-green copy's suffix is new every run and ignored on update, and the service's
 * `containerName` stands in for it.
 */
export const NOT_A_RELEASE: readonly string[] = [
  "name",
  "restart",
  "maxRetryCount",
  "cpuShares",
  "memory",
  "memorySwap",
  "cpuSet",
  "wait",
  "waitTimeout",
  "mustRun",
  "attach",
  "logs",
  "rm",
  "destroyGraceSeconds",
];

/** JSON with every object's keys sorted: the same value, the same text. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Hex digits of the inputs' hash in a key: 48 bits, against chance collisions between two releases of a service. */
const HASH_DIGITS = 12;

/**
 * `<image ref>+<12 hex>`: the image deployed (`repository@sha256:…`, or the build's `tag@sha256:…`), and a hash of
 * the container's inputs that replace it (NOT_A_RELEASE left out) with the service's `containerName`. Secret env
 * values count (a new value replaces the container), so the key of a service with secret env is a secret output.
 */
export function releaseKey(
  args: docker.ContainerArgs,
  imageRef: pulumi.Input<string>,
  containerName: string,
): pulumi.Output<string> {
  const inputs = Object.fromEntries(Object.entries(args).filter(([key]) => !NOT_A_RELEASE.includes(key)));
  return pulumi.all([imageRef, pulumi.output(inputs)]).apply(([ref, resolved]) => {
    const digest = createHash("sha256")
      .update(stableJson({ containerName, inputs: resolved }))
      .digest("hex");
    return `${ref}+${digest.slice(0, HASH_DIGITS)}`;
  });
}
