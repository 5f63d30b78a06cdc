/**
 * The push container of one (stack, host): a one-shot run of `gpu-switch apply` from the switch image, in the
 * switch's network namespace (Caddy's admin API on localhost:2019) and with the Docker socket. It sets each route of
 * the host's services (its dial or next dial, its readiness check, hold and release key; a config load only when
 * services, ports or TLS change), waits until each new copy passes its readiness check, drains, and exits 0, or 3
 * when a service did not switch. Its upload is `/push/plan.json` (version 2), made here; the program fails the `up`
 * on a non-zero exit, before the engine deletes any old container.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LABEL_PREFIX } from "../formats";
import type { HoldSpec, ReadinessSpec, DockerServiceSpec, SwitchSpec } from "../model";
import { serviceOfCopyName } from "../docker/copies";
import type { DockerHost } from "../docker/dockerHost";
import type { GpuSwitch } from "./gpuSwitch";

/** By name, then copy: the same services, the same order, the same bytes. */
export const byCopy = (a: { name: string; copy: number }, b: { name: string; copy: number }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.copy - b.copy;

/** One service of /push/plan.json (version 2), as the agent reads it. */
export interface PlanService {
  readonly name: string;
  /** The copy (docker/copies.ts): 0 is the service's own container and route; copy i's route is `<route>.<i>`. */
  readonly copy: number;
  /** The container's name on the daemon. */
  readonly container: string;
  /** The container's release key (docker/releaseKey.ts): the switch records it per route, the drain names it. */
  readonly release: string;
  readonly strategy: DockerServiceSpec["release"]["strategy"];
  /** How long the agent waits for the new copy to pass its readiness check (pushWaitSeconds). */
  readonly waitSeconds: number;
  readonly drainSeconds: number;
  readonly scheme: DockerServiceSpec["scheme"];
  /** `listen`: the host port the switch publishes; `target`: the container port it dials. */
  readonly ports: readonly { readonly listen: number; readonly target: number }[];
  /** The check the switch probes a copy with; absent for a service without a tcp port (it has no route). */
  readonly readiness?: ReadinessSpec;
  readonly hold: HoldSpec;
}

/** /push/plan.json (version 2). */
export interface PushPlan {
  readonly stack: string;
  /**
   * A plan of one copy released alone: the agent sets and waits for its routes only, loads no config and leaves
   * every other route as it is. Default: the whole host's plan.
   */
  readonly partial?: boolean;
  readonly switch: { readonly streamCloseDelay: string; readonly tlsHost: string };
  readonly services: readonly PlanService[];
}

/** The readiness check as the agent reads it: a TCP check carries only what it uses; null for none. */
export function readinessJson(readiness: ReadinessSpec | undefined) {
  if (!readiness) return null;
  const timing = { timeoutMs: readiness.timeoutMs, intervalMs: readiness.intervalMs, passes: readiness.passes };
  if (readiness.kind === "tcp") return { kind: "tcp", port: readiness.port, ...timing };
  return {
    kind: "http",
    port: readiness.port,
    scheme: readiness.scheme,
    method: readiness.method,
    path: readiness.path,
    headers: { ...readiness.headers },
    bodyBase64: readiness.body?.base64 ?? "",
    expectStatus: [...readiness.expectStatus],
    ...timing,
  };
}

/**
 * The plan as the agent reads it: keys in a fixed order, services sorted by name and ports by listen, so the
 * same input gives the same bytes (an unchanged release is an unchanged upload: no new push container).
 */
export function planJson(plan: PushPlan): string {
  const document = {
    version: 2,
    ...(plan.partial ? { partial: true } : {}),
    stack: plan.stack,
    switch: { streamCloseDelay: plan.switch.streamCloseDelay, tlsHost: plan.switch.tlsHost },
    services: [...plan.services].sort(byCopy).map((s) => ({
      name: s.name,
      ...(s.copy > 0 ? { copy: s.copy } : {}),
      container: s.container,
      release: s.release,
      strategy: s.strategy,
      waitSeconds: s.waitSeconds,
      drainSeconds: s.drainSeconds,
      scheme: s.scheme,
      ports: [...s.ports].sort((a, b) => a.listen - b.listen).map((p) => ({ listen: p.listen, target: p.target })),
      readiness: readinessJson(s.readiness),
      hold: {
        seconds: s.hold.seconds,
        queue: s.hold.queue,
        replay: s.hold.replay,
        expectedSeconds: s.hold.expectedSeconds,
      },
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * How long the push waits for a new copy to pass its readiness check: the healthcheck's wait (its worst case plus a
 * minute), and at least the hold budget, which the switch holds requests for meanwhile.
 */
export function pushWaitSeconds(service: Pick<DockerServiceSpec, "healthcheck" | "hold">): number {
  return Math.max(service.healthcheck?.waitTimeoutSeconds ?? 0, service.hold.seconds);
}

/** A plan service of a spec's copy, with its container's name on the daemon and its release key. */
export function planService(service: DockerServiceSpec, container: string, release: string, copy = 0): PlanService {
  return {
    name: service.name,
    copy,
    container,
    release,
    strategy: service.release.strategy,
    waitSeconds: pushWaitSeconds(service),
    drainSeconds: service.release.drainSeconds,
    scheme: service.scheme,
    ports: service.ports.map((p) => ({ listen: p.host, target: p.container })),
    ...(service.readiness ? { readiness: service.readiness } : {}),
    hold: service.hold,
  };
}

/** Slack on top of the longest wait and drain for the push's create: the start, the load and its check. */
export const PUSH_SLACK_SECONDS = 120;

/** How long the push may run: the longest readiness wait, plus the largest drain, plus the slack. */
export function pushCreateSeconds(services: readonly DockerServiceSpec[]): number {
  const longest = (values: number[]) => Math.max(0, ...values);
  return (
    longest(services.map(pushWaitSeconds)) + longest(services.map((s) => s.release.drainSeconds)) + PUSH_SLACK_SECONDS
  );
}

/** The services the agent's summary line (`{"switched":[...],"failed":[...],"kept":[...]}`) says failed. */
export function failedServices(logs: string): string[] | undefined {
  for (const line of logs.split("\n").reverse()) {
    const start = line.indexOf('{"switched"');
    if (start < 0) continue;
    try {
      const summary = JSON.parse(line.slice(start)) as { failed?: unknown };
      if (Array.isArray(summary.failed)) return summary.failed.map(String);
    } catch {
      // not the summary: keep looking
    }
  }
  return undefined;
}

/**
 * The `gpu-services logs` commands that show why a push failed: the copies of the services that did not switch and
 * the push itself (it printed the logs of a copy it removed), or the switch when it did not take the routing.
 */
export function pushLogCommands(stack: string, failed: readonly string[], code: number): string[] {
  const logs = (args: string) => `\`gpu-services -s ${stack} logs ${args}\``;
  if (code !== 3) return [logs("--switch --since 15m"), logs("--push")];
  return [...servicesOf(failed).map((s) => logs(`${s} --since 15m`)), logs("--push")];
}

/** The services the agent's names are of (a copy is named `<service>-copy<i>`), each once. */
const servicesOf = (names: readonly string[]) => [...new Set(names.map(serviceOfCopyName))];

/** What serves after the failed push of one copy released alone (its later copies were left alone). */
export function copyKept(target: Pick<PushTarget, "service" | "copy">): string {
  const own =
    target.service.release.strategy === "blue-green"
      ? `copy ${target.copy} keeps its old release`
      : `copy ${target.copy} is out of the pool`;
  return `${own}, and the copies after it keep serving the old release`;
}

/**
 * What the operator reads when the push failed: the code, the agent's logs and the ways out; `kept` says what serves
 * (the push of one copy: copyKept).
 */
export function pushFailure(
  stack: string,
  host: string,
  services: readonly string[],
  code: number,
  logs: string,
  kept = "the old release keeps serving",
) {
  const failed = failedServices(logs) ?? [...services];
  const what =
    code === 3
      ? `${failed.join(", ")} did not turn healthy in time; ${kept}`
      : "the switch did not take the new routing; the old routing keeps serving";
  const rollbacks = servicesOf(failed)
    .map((s) => `\`npm run release -- rollback ${stack} ${s}\``)
    .join(" or ");
  return (
    `the switch push on host ${host} (stack ${stack}) exited with code ${code}: ${what}.\n` +
    `${logs.trimEnd()}\n` +
    `See why with ${pushLogCommands(stack, failed, code).join(" and ")}.\n` +
    `Roll back with ${rollbacks} and \`pulumi up --stack ${stack}\`, ` +
    `or retry with \`pulumi up --stack ${stack} --refresh\`.`
  );
}

/** A service of the host and its container, which the push waits for, with its release key. */
export interface PushTarget {
  readonly service: DockerServiceSpec;
  /** The copy the container is; 0: the service's own. */
  readonly copy: number;
  readonly container: docker.Container;
  readonly release: pulumi.Output<string>;
}

export interface SwitchPushArgs {
  readonly stack: string;
  /** The Docker host (its provider; its `address` is the switch's TLS host). */
  readonly host: DockerHost;
  /** The host's name (a key of `hosts`), for messages. */
  readonly hostName: string;
  readonly switch: GpuSwitch;
  /** The stack's `gpu-services:switch`. */
  readonly spec: SwitchSpec;
  /** Every service of the stack on this host, with its container; or the one copy of a partial push. */
  readonly targets: readonly PushTarget[];
  /** A push of one copy released alone (PushPlan.partial). Default: false, the whole host. */
  readonly partial?: boolean;
  /** What the push waits for beside the switch and the containers: the pushes of copies. Default: nothing. */
  readonly after?: pulumi.Input<pulumi.Resource[]>;
}

export interface SwitchPush {
  readonly container: docker.Container;
  /** The push's exit code, 0; it fails with a `pulumi.RunError` (logs and the way out) on any other code. */
  readonly exitCode: pulumi.Output<number>;
}

/**
 * A one-shot run of the switch's agent (`/gpu-switch <command…>`, its last word the file it reads, uploaded with
 * `content`): in the switch's network namespace, so it reaches the admin API on localhost, with the Docker socket,
 * attached so that its exit code and logs are outputs.
 */
export function agentContainerArgs(
  args: { readonly stack: string; readonly spec: SwitchSpec; readonly switch: GpuSwitch },
  command: readonly string[],
  content: pulumi.Input<string>,
): docker.ContainerArgs {
  return {
    image: args.switch.image.containerImage,
    command: ["/gpu-switch", ...command],
    uploads: [{ file: command[command.length - 1], content }],
    // By id: dockerd stores `container:<id>` for a name, and the provider reads that back (a perpetual replace).
    networkMode: pulumi.interpolate`container:${args.switch.container.id}`,
    volumes: [{ hostPath: args.spec.dockerSocket, containerPath: "/var/run/docker.sock" }],
    attach: true,
    logs: true,
    mustRun: false,
    rm: false,
    wait: false,
    labels: [{ label: `${LABEL_PREFIX}stack`, value: args.stack }],
  };
}

/** `made`, and once `after` resolves, what it names too (an output that fails when `after` fails). */
export function afterAll(
  made: readonly pulumi.Resource[],
  after: pulumi.Input<pulumi.Resource[]> | undefined,
): pulumi.Input<pulumi.Resource[]> {
  return after ? pulumi.output(after).apply((more) => [...made, ...more]) : [...made];
}

/** The push container `<name>`, a child of the switch, and the check of its exit code. */
export function createSwitchPush(name: string, args: SwitchPushArgs): SwitchPush {
  const services = args.targets.map((t) => t.service);
  const content = pulumi
    .all(
      args.targets.map((t) =>
        pulumi
          .all([t.container.name, t.release])
          .apply(([container, release]) => planService(t.service, container, release, t.copy)),
      ),
    )
    .apply((planned) =>
      planJson({
        stack: args.stack,
        ...(args.partial ? { partial: true } : {}),
        switch: { streamCloseDelay: args.spec.streamCloseDelay, tlsHost: args.host.address },
        services: planned,
      }),
    );
  const container = new docker.Container(name, agentContainerArgs(args, ["apply", "/push/plan.json"], content), {
    parent: args.switch,
    provider: args.host.provider,
    customTimeouts: { create: `${pushCreateSeconds(services)}s` },
    dependsOn: afterAll([args.switch.container, ...args.targets.map((t) => t.container)], args.after),
  });
  const exitCode = pulumi.all([container.exitCode, container.containerLogs]).apply(([code, logs]) => {
    if (code !== undefined && code !== null && code !== 0) {
      const names = services.map((s) => s.name);
      const kept = args.partial && args.targets.length === 1 ? copyKept(args.targets[0]) : undefined;
      throw new pulumi.RunError(pushFailure(args.stack, args.hostName, names, code, logs ?? "", kept));
    }
    return code;
  });
  return { container, exitCode };
}
