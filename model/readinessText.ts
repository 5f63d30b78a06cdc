/**
 * A service's readiness check and hold as `npm run plan` and the preview print them, and, for a stack without a
 * switch, what a release costs its clients now and what it would with `gpu-services:switch`.
 */
import type { DockerServiceSpec, ReadinessSpec, ServiceSpec } from "./types";

const plural = (n: number, word: string, many = `${word}es`) => `${n} ${n === 1 ? word : many}`;

/** The check in a phrase: `GET /health on 8000, 2 passes`, `TCP connect to 8000, 1 pass`. */
export function readinessText(readiness: ReadinessSpec | undefined): string {
  if (!readiness) return "none (no tcp port to probe)";
  const passes = plural(readiness.passes, "pass");
  if (readiness.kind === "tcp") return `TCP connect to ${readiness.port}, ${passes}`;
  const https = readiness.scheme === "https" ? " (https)" : "";
  const body = readiness.body ? ` with ${readiness.body.what}, ${plural(readiness.body.bytes, "byte", "bytes")}` : "";
  const expects = readiness.expectStatus.length > 0 ? `, expects ${readiness.expectStatus.join(" or ")}` : "";
  return `${readiness.method} ${readiness.path} on ${readiness.port}${https}${body}${expects}, ${passes}`;
}

/** Behind a switch: `stt: readiness GET /health on 8000, 2 passes; requests held up to 90 s (queue 256)`. */
export function readinessLine(service: Pick<DockerServiceSpec, "name" | "readiness" | "hold">): string {
  const { hold } = service;
  const replay = hold.replay ? "" : ", not replayed";
  return (
    `${service.name}: readiness ${readinessText(service.readiness)}; requests held up to ${hold.seconds} s ` +
    `(queue ${hold.queue}${replay})`
  );
}

/** Without a switch, where nothing routes by the check yet. */
export function unusedReadinessLine(service: Pick<ServiceSpec, "name" | "readiness">): string {
  return `${service.name}: readiness ${readinessText(service.readiness)} (used once gpu-services:switch is set)`;
}

/** On a cluster, where the declared check is the pods' readiness probe and nothing holds requests. */
export function probeLine(service: Pick<ServiceSpec, "name" | "readiness">): string {
  return `${service.name}: readiness ${readinessText(service.readiness)} (the pods' readiness probe)`;
}

/**
 * Without a switch, where every release is stop-then-start: the gap the clients see now (the whole load), and what
 * the switch's hold would make of it.
 */
export function releaseCostLine(service: Pick<DockerServiceSpec, "name" | "hold">): string {
  const { seconds, expectedSeconds } = service.hold;
  const load =
    expectedSeconds > 0
      ? `about ${expectedSeconds} s (healthcheck startPeriod)`
      : "for as long as it takes (no healthcheck startPeriod says how long)";
  const held =
    seconds >= expectedSeconds
      ? `held up to ${seconds} s, none lost`
      : `held up to ${seconds} s, then 503 with Retry-After (the load takes about ${expectedSeconds} s)`;
  return (
    `${service.name}: stop-then-start without the switch: clients are refused for the whole load, ${load}; ` +
    `with gpu-services:switch: ${held}`
  );
}
