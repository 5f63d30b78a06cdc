/**
 * The drain container of one (stack, host): a one-shot run of `gpu-switch drain` from the switch image, in the
 * switch's network namespace and with the Docker socket, like the push. It runs before the engine stops the old
 * container of a stop-then-start service: it tells the switch to send that route no new request (they are held)
 * and waits until the requests in flight there are answered (up to `drainSeconds`). The route stays drained until
 * the push arms it with the new container, or `drainedSeconds` pass.
 *
 * Its upload is `/push/drain.json`, made here. It lists the host's stop-then-start services with their release keys
 * (docker/releaseKey.ts), so it runs again exactly when one of them gets a new release; the switch leaves alone a
 * route whose release is the one it already serves. Each such service container depends on it, and it depends on
 * their images: the new image is pulled or built before the gap starts.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerServiceSpec, SwitchSpec } from "../model";
import type { DockerHost } from "../docker/dockerHost";
import type { GpuSwitch } from "./gpuSwitch";
import { afterAll, agentContainerArgs, byCopy, PUSH_SLACK_SECONDS, pushWaitSeconds } from "./switchPush";

/** One service of /push/drain.json, as the agent reads it. */
export interface DrainService {
  readonly name: string;
  /** The copy whose routes are drained (docker/copies.ts); 0: the service's own. */
  readonly copy: number;
  /** The release key the push will arm the route with. */
  readonly release: string;
  /** How long the agent waits for the requests in flight. */
  readonly drainSeconds: number;
  /** How long the routes stay drained without a push (drainedSeconds). */
  readonly drainedSeconds: number;
  /** The host ports the switch publishes for it (its routes). */
  readonly ports: readonly number[];
}

/** The drain document: keys in a fixed order, services by name, ports sorted; the same input, the same bytes. */
export function drainJson(stack: string, services: readonly DrainService[]): string {
  const document = {
    version: 1,
    stack,
    services: [...services].sort(byCopy).map((s) => ({
      name: s.name,
      ...(s.copy > 0 ? { copy: s.copy } : {}),
      release: s.release,
      drainSeconds: s.drainSeconds,
      drainedSeconds: s.drainedSeconds,
      ports: [...new Set(s.ports)].sort((a, b) => a - b),
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * How long a drained route waits for the push: the old container's stop grace, then the push's wait for the new
 * copy's readiness, and the push's slack (the create, the other services of the up).
 */
export function drainedSeconds(service: Pick<DockerServiceSpec, "stopGraceSeconds" | "healthcheck" | "hold">): number {
  return service.stopGraceSeconds + pushWaitSeconds(service) + PUSH_SLACK_SECONDS;
}

/** A drain service of a spec's copy, with its release key. */
export function drainService(service: DockerServiceSpec, release: string, copy = 0): DrainService {
  return {
    name: service.name,
    copy,
    release,
    drainSeconds: service.release.drainSeconds,
    drainedSeconds: drainedSeconds(service),
    ports: service.ports.map((p) => p.host),
  };
}

/** Slack on top of the largest drain for the drain's create: the container's start and the switch's answer. */
export const DRAIN_SLACK_SECONDS = 60;

/** A stop-then-start service of the host, its image resource and its release key. */
export interface DrainTarget {
  readonly service: DockerServiceSpec;
  /** The copy whose routes are drained; 0: the service's own. */
  readonly copy: number;
  readonly image: pulumi.Resource;
  readonly release: pulumi.Output<string>;
}

export interface SwitchDrainArgs {
  readonly stack: string;
  /** The Docker host (its provider). */
  readonly host: DockerHost;
  /** The host's name (a key of `hosts`), for messages. */
  readonly hostName: string;
  readonly switch: GpuSwitch;
  /** The stack's `gpu-services:switch`. */
  readonly spec: SwitchSpec;
  /** The stop-then-start services of the stack on this host, or the one copy of a service released alone. */
  readonly targets: readonly DrainTarget[];
  /** What the drain waits for beside the switch and the images: the push of the copy before. Default: nothing. */
  readonly after?: pulumi.Input<pulumi.Resource[]>;
}

/** What the operator reads when a drain did not finish: the requests in flight may be cut, and why. */
export function drainWarning(host: string, services: readonly string[], code: number, logs: string): string {
  const why = code === 4 ? "the switch did not answer" : code === 2 ? "the agent refused the drain file" : "it failed";
  return (
    `the drain on host ${host} exited with code ${code} (${why}): requests in flight on ${services.join(", ")} may ` +
    `be cut when the old containers stop; the switch holds the new ones, and sends again those it may replay.\n` +
    logs.trimEnd()
  );
}

/** The drain container `<name>`, a child of the switch; a drain that did not finish is a warning, not a failure. */
export function createSwitchDrain(name: string, args: SwitchDrainArgs): docker.Container {
  const content = pulumi
    .all(args.targets.map((t) => t.release.apply((release) => drainService(t.service, release, t.copy))))
    .apply((services) => drainJson(args.stack, services));
  const largestDrain = Math.max(0, ...args.targets.map((t) => t.service.release.drainSeconds));
  const container = new docker.Container(name, agentContainerArgs(args, ["drain", "/push/drain.json"], content), {
    parent: args.switch,
    provider: args.host.provider,
    customTimeouts: { create: `${largestDrain + DRAIN_SLACK_SECONDS}s` },
    dependsOn: afterAll([args.switch.container, ...args.targets.map((t) => t.image)], args.after),
  });
  // The drain only spares the requests in flight; the switch holds the rest, and the push still gates the up.
  pulumi.all([container.exitCode, container.containerLogs]).apply(([code, logs]) => {
    if (code !== undefined && code !== null && code !== 0) {
      const names = args.targets.map((t) => t.service.name);
      void pulumi.log.warn(drainWarning(args.hostName, names, code, logs ?? ""), container);
    }
  });
  return container;
}
