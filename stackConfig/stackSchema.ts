/**
 * The schema of a stack's config as a whole (`Pulumi.<stack>.yaml`, keys under the `gpu-services:` namespace).
 * Hosts and services are parsed one entry at a time (their schemas: hostSchema.ts, serviceSchema.ts), so one bad
 * entry does not hide another's problems.
 */
import { z } from "zod";
import { SERVICE_NAME_RE } from "../formats";
import { issue } from "./fields";
import { SwitchSchema } from "./switchSchema";

export const StackConfigSchema = z.strictObject({
  /** Refuse floating image tags (latest, branch names) and unpinned builds. */
  requirePinnedImages: z.boolean().default(false),
  hosts: z.record(
    z.string().regex(SERVICE_NAME_RE, { error: "host names are lowercase letters, digits and -" }),
    z.unknown(),
  ),
  services: z.record(
    z.string().regex(SERVICE_NAME_RE, { error: "service names are lowercase letters, digits and -" }),
    z.unknown(),
  ),
  /** Other stacks deployed to the same Docker hosts: their ports, GPUs, container and volume names are taken. */
  sharesHostsWith: z
    .array(z.string().min(1))
    .default([])
    .superRefine((stacks, ctx) => {
      stacks.forEach((stack, index) => {
        const first = stacks.indexOf(stack);
        if (first < index) issue(ctx, [index], `lists stack "${stack}" again (also at sharesHostsWith[${first}])`);
      });
    }),
  /** Secret values, set with `pulumi config set --secret --path 'secrets.<name>' <value>`. */
  secrets: z.record(z.string(), z.string()).default({}),
  /** The switch on each host that moves traffic between releases (switchSchema.ts); absent: no switch. */
  switch: SwitchSchema.optional(),
});

export type RawStackConfig = z.input<typeof StackConfigSchema>;
