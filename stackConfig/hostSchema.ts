/**
 * The schema of one entry of `hosts`: a Docker host (`dockerHost`, its GPUs and its registry credentials), or a
 * Kubernetes cluster (`kubernetes`: the kubeconfig context or secret, the namespace, how ports are exposed).
 */
import { z } from "zod";
import {
  CLUSTER_SERVICE_TYPES,
  DNS1123_LABEL_RE,
  DNS1123_SUBDOMAIN_RE,
  DOCKER_HOST_RE,
  QUANTITY_RE,
  VOLUME_ACCESS_MODES,
} from "../formats";
import { issue } from "./fields";

export const RegistryAuthSchema = z.strictObject({
  /** Registry host, for example ghcr.io. */
  address: z
    .string()
    .min(1)
    .regex(/^[a-zA-Z0-9.-]+(?::\d+)?$/, { error: "must be a registry host such as ghcr.io" }),
  /** User name at the registry. */
  username: z.string().min(1),
  /** Name of the entry in the `secrets` config key that holds the token. */
  passwordSecret: z.string().min(1),
});

export const GpuInventorySchema = z
  .union(
    [
      z.int().min(0),
      z.strictObject({
        count: z.int().min(0),
        devices: z
          .array(z.strictObject({ id: z.string().min(1), memoryGiB: z.number().positive().optional() }))
          .optional(),
      }),
    ],
    { error: "must be a whole number of GPUs, or {count, devices: [{id, memoryGiB}]}" },
  )
  .superRefine((gpus, ctx) => {
    if (typeof gpus === "number" || !gpus.devices) return;
    if (gpus.devices.length !== gpus.count) {
      issue(ctx, ["devices"], `lists ${gpus.devices.length} devices but count is ${gpus.count}`);
    }
    const seen = new Set<string>();
    gpus.devices.forEach((device, index) => {
      if (seen.has(device.id)) issue(ctx, ["devices", index, "id"], `device "${device.id}" is listed twice`);
      seen.add(device.id);
    });
  });

/** A cluster (`hosts.<h>.kubernetes`), each field documented in fieldDocs.ts. */
export const KubernetesSchema = z.strictObject({
  namespace: z.string().regex(DNS1123_LABEL_RE, {
    error:
      "must be a Kubernetes namespace name: at most 63 lowercase letters, digits and -, a letter or digit at each end",
  }),
  context: z.string().min(1, { error: "must name a context of the kubeconfig" }).optional(),
  kubeconfigSecret: z.string().min(1, { error: "must name an entry of secrets" }).optional(),
  serviceType: z
    .enum(CLUSTER_SERVICE_TYPES, { error: `must be one of ${CLUSTER_SERVICE_TYPES.join(", ")}` })
    .default("LoadBalancer"),
  spareGpus: z
    .int({ error: "must be a whole number of GPUs, 0 or more" })
    .min(0, { error: "must be a whole number of GPUs, 0 or more" })
    .optional(),
  storageClassName: z
    .string()
    .regex(DNS1123_SUBDOMAIN_RE, {
      error: "must be a storage class name: lowercase letters, digits, - and ., at most 253",
    })
    .optional(),
  volumeSize: z
    .string({ error: "must be a Kubernetes quantity such as 10Gi or 500Mi" })
    .regex(QUANTITY_RE, { error: "must be a Kubernetes quantity such as 10Gi or 500Mi" })
    .refine((size) => !QUANTITY_RE.test(size) || Number(/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)/.exec(size)![0]) > 0, {
      error: (issue) => `must be a size above 0, such as 10Gi or 500Mi (got ${JSON.stringify(issue.input)})`,
    })
    .default("10Gi"),
  volumeAccessMode: z
    .enum(VOLUME_ACCESS_MODES, { error: `must be one of ${VOLUME_ACCESS_MODES.join(", ")}` })
    .default("ReadWriteOnce"),
  nodePortRange: z
    .string({ error: "must be a range of port numbers such as 30000-32767" })
    .regex(/^\d{1,5}-\d{1,5}$/, { error: "must be a range of port numbers such as 30000-32767" })
    .refine(
      (range) => {
        const [from, to] = range.split("-").map(Number);
        return from >= 1 && from <= to && to <= 65535;
      },
      { error: (issue) => `must be from-to with 1 ≤ from ≤ to ≤ 65535 (got ${JSON.stringify(issue.input)})` },
    )
    .default("30000-32767"),
});

export type KubernetesConfig = z.output<typeof KubernetesSchema>;

/** The fields of a host, each documented in fieldDocs.ts (the README's config reference is checked against it). */
export const HostFields = z.strictObject({
  dockerHost: z
    .string()
    .regex(DOCKER_HOST_RE, {
      error: "must be a Docker host URI: unix:///var/run/docker.sock, ssh://user@host[:port] or tcp://host:port",
    })
    .optional(),
  kubernetes: KubernetesSchema.optional(),
  address: z.string().min(1).optional(),
  gpus: GpuInventorySchema.optional(),
  sshOpts: z.array(z.string()).optional(),
  registryAuth: z.array(RegistryAuthSchema).optional(),
});

/** What only a Docker host takes, and why a cluster does not. */
const DOCKER_ONLY = {
  gpus:
    "is for Docker hosts: a cluster's scheduler counts the GPUs its nodes advertise (nvidia.com/gpu) and the " +
    "device plugin picks them; remove it, and give kubernetes.spareGpus for surge pods",
  sshOpts: "is for Docker hosts reached over ssh: a cluster is reached through its kubeconfig; remove it",
  registryAuth:
    "is for Docker hosts: a cluster pulls with its own credentials; give the namespace's default ServiceAccount " +
    "an imagePullSecret, and remove it",
} as const;

/** A host is exactly one of a Docker host and a cluster; a cluster takes none of the Docker-only keys. */
export const HostSchema = HostFields.superRefine((host, ctx) => {
  if (host.dockerHost === undefined && host.kubernetes === undefined) {
    issue(ctx, [], "give exactly one of dockerHost (a Docker host) and kubernetes (a cluster); neither is set");
    return;
  }
  if (host.dockerHost !== undefined && host.kubernetes !== undefined) {
    issue(ctx, ["kubernetes"], "give exactly one of dockerHost (a Docker host) and kubernetes (a cluster), not both");
    return;
  }
  if (host.kubernetes === undefined) return;
  for (const key of Object.keys(DOCKER_ONLY) as (keyof typeof DOCKER_ONLY)[]) {
    if (host[key] !== undefined) issue(ctx, [key], DOCKER_ONLY[key]);
  }
});

export type HostConfig = z.output<typeof HostSchema>;
