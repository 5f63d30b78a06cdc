/**
 * The schema of `gpu-services:switch`: the proxy on each host that owns the published ports and moves traffic
 * from one release of a service to the next (docs/design/blue-green-releases.md §3, §9). Absent: no switch, every
 * service publishes its own ports and is released stop-then-start.
 */
import { z } from "zod";
import { GO_DURATION_RE } from "../formats";
import { absolutePath } from "./fields";
import { BuildSchema, ImageSchema } from "./imageSchema";
import { checkImageSource } from "./serviceSchema";

/** The fields of the switch, each documented in fieldDocs.ts (the README's config reference is checked against it). */
export const SwitchFields = z.strictObject({
  image: ImageSchema.optional(),
  build: BuildSchema.optional(),
  holdSeconds: z
    .int({ error: "must be a whole number of seconds from 0 to 600" })
    .min(0, { error: "must be a whole number of seconds from 0 to 600" })
    .max(600, { error: "must be a whole number of seconds from 0 to 600" })
    .default(10),
  streamCloseDelay: z
    .string()
    .regex(GO_DURATION_RE, { error: "must be a Go duration such as 1h, 30m or 90s" })
    .default("1h"),
  dockerSocket: absolutePath("on the host").default("/var/run/docker.sock"),
});

export const SwitchSchema = SwitchFields.superRefine((sw, ctx) => checkImageSource(sw, ctx));

export type SwitchConfig = z.output<typeof SwitchSchema>;
