/** The schema of one entry of `hosts`: a Docker host, its GPUs and its registry credentials. */
import { z } from "zod";
import { DOCKER_HOST_RE } from "../formats";
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

/** A host, each field documented in fieldDocs.ts (the README's config reference is checked against it). */
export const HostSchema = z.strictObject({
  dockerHost: z.string().regex(DOCKER_HOST_RE, {
    error: "must be a Docker host URI: unix:///var/run/docker.sock, ssh://user@host[:port] or tcp://host:port",
  }),
  address: z.string().min(1).optional(),
  gpus: GpuInventorySchema.optional(),
  sshOpts: z.array(z.string()).optional(),
  registryAuth: z.array(RegistryAuthSchema).optional(),
});

export type HostConfig = z.output<typeof HostSchema>;
