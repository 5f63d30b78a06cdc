/**
 * What `gpu-switch history <seconds>` prints (GET /gpu-switch/history of the switch's admin endpoint,
 * switch/gpuswitch/history.go): the routes' counters sampled every interval, and a sample of now. Parsed once
 * here, at the edge. Objects are not strict: the switch is released apart from this program, and a newer switch
 * may add a field that this one does not read.
 */
import { z } from "zod";

const count = z.number().int().nonnegative();

export const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

const classes = z.object(
  Object.fromEntries(STATUS_CLASSES.map((c) => [c, count])) as Record<StatusClass, typeof count>,
);

const routeSample = z.object({
  state: z.enum(["ready", "loading", "drained"]),
  release: z.string(),
  requests: classes,
  held: count,
  shed: count,
  replayed: count,
  inflight: count,
  holding: count,
  latency: z.object({ counts: z.array(count), sum: z.number().nonnegative() }),
});

const sample = z.object({
  t: z.iso.datetime({ offset: true }),
  boot: z.iso.datetime({ offset: true }),
  routes: z.record(z.string(), routeSample),
});

export const historySchema = z
  .object({
    intervalSeconds: z.number().positive(),
    latencyBuckets: z.array(z.number().positive()).min(1),
    now: sample,
    samples: z.array(sample),
  })
  .refine(
    (h) =>
      [h.now, ...h.samples].every((s) =>
        Object.values(s.routes).every((r) => r.latency.counts.length === h.latencyBuckets.length + 1),
      ),
    {
      message: "each latency histogram has one count per bucket and one for the slower requests",
    },
  );

export type SwitchHistory = z.infer<typeof historySchema>;
export type HistorySample = SwitchHistory["now"];
export type RouteSample = HistorySample["routes"][string];
