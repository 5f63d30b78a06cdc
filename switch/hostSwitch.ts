/**
 * The switch side of the program on one Docker host: the stack's GpuSwitch there, how the services behind it are
 * placed and released, and, once their containers are registered, the drain (before a stop-then-start container is
 * stopped) and the push (after every container is created). program.ts makes one HostSwitch per (stack, host)
 * with services, and docker/deploy.ts places the service containers behind it.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { isOnDocker, type CopySpec, type DeploymentModel, type DockerServiceSpec, type SwitchSpec } from "../model";
import type { SwitchPlacement } from "../docker/containerInputs";
import type { DockerHost, FrontedService, ServiceFront } from "../docker";
import { releaseCopies } from "./copyRelease";
import { GpuSwitch } from "./gpuSwitch";
import { createSwitchDrain, type DrainTarget } from "./switchDrain";
import { createSwitchPush, type PushTarget } from "./switchPush";

/** Stack outputs of one host's switch (`pulumi stack output switches`). */
export interface SwitchOutputs {
  /** The switch container's name on the daemon: `gpu-switch-<stack>`. */
  readonly container: pulumi.Output<string>;
  /** The host ports it publishes, sorted. */
  readonly ports: number[];
  /** The last push's exit code: 0 (any other code fails the up). */
  readonly pushExitCode: pulumi.Output<number>;
}

/**
 * The hosts whose switch ran before this `up`: the keys of the stack's own `switches` output of the last
 * update, read with a self StackReference (none for a stack never deployed).
 */
export async function switchedHosts(stack: string): Promise<Set<string>> {
  const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`);
  const previous = await self.getOutputDetails("switches");
  const value = (previous.value ?? previous.secretValue) as Record<string, unknown> | undefined;
  return new Set(value && typeof value === "object" ? Object.keys(value) : []);
}

/**
 * The release of a service on a host whose switch is new: stop-then-start, since its old container publishes
 * the ports the switch needs until it is deleted, and a blue-green one would be deleted only at the end.
 */
export function migrationRelease(service: DockerServiceSpec): DockerServiceSpec["release"] {
  return {
    ...service.release,
    strategy: "stop-then-start",
    reason:
      `${service.name}: stop-then-start: the switch on ${service.host} is new in this up, and the old ` +
      `container holds the ports it publishes until it is deleted (afterwards: ${service.release.reason})`,
  };
}

/**
 * A stack's switch on one host, and the services behind it: the front of the host's services (docker/deploy.ts),
 * which gives each container its place and hands the containers made to the drain and the push.
 */
export class HostSwitch implements ServiceFront {
  public readonly component: GpuSwitch;
  /** The service containers behind it, each with its spec as deployed (the migration's release on a new switch). */
  private readonly services: FrontedService[] = [];
  private containersMade: (containers: docker.Container[]) => void = () => {};
  private drainMade: (drain: pulumi.Resource[]) => void = () => {};
  /** The drain, once made: what each stop-then-start container is replaced after. */
  private readonly drained = new Promise<pulumi.Resource[]>((resolve) => (this.drainMade = resolve));
  /** What each copy released one at a time waits for, by `<service>/<index>`, once its turn is made. */
  private readonly turns = new Map<string, (after: pulumi.Output<pulumi.Resource[]>) => void>();

  constructor(
    private readonly hostName: string,
    private readonly host: DockerHost,
    private readonly stack: string,
    private readonly spec: SwitchSpec,
    placed: readonly DockerServiceSpec[],
    /** The switch did not run before this up: it starts after the service containers, and nothing is drained. */
    public readonly isNew: boolean,
  ) {
    const containers = new Promise<docker.Container[]>((resolve) => (this.containersMade = resolve));
    this.component = new GpuSwitch(`${hostName}-switch`, {
      host,
      stack,
      image: spec.image,
      ports: placed.flatMap((s) => s.ports.map((p) => ({ listen: p.host, hostIp: p.hostIp }))),
      // A new switch starts after the service containers: their old copies, which publish its ports, are
      // deleted first (stop-then-start, migrationRelease).
      ...(isNew ? { startAfter: containers } : {}),
    });
  }

  /** The spec a service is deployed with here: the migration's stop-then-start on a new switch. */
  deployed(service: DockerServiceSpec): DockerServiceSpec {
    return this.isNew ? { ...service, release: migrationRelease(service) } : service;
  }

  /**
   * Released one copy at a time (switch/copyRelease.ts): a service with several copies and routes, on a switch that
   * ran before (a new switch starts after every container, so nothing is served to keep).
   */
  private rollsCopies(deployed: DockerServiceSpec): boolean {
    return !this.isNew && deployed.copies.length > 1 && deployed.ports.length > 0;
  }

  /**
   * Where a copy of a deployed service sits: on the switch's network, with a fresh name suffix for blue-green, and
   * replaced only after what it waits for: one copy at a time, its turn (its drain, or the push of the copy before);
   * otherwise, stop-then-start on a switch that ran before, the drain of its route.
   */
  placement(deployed: DockerServiceSpec, copy: CopySpec, nameSuffix: () => string): SwitchPlacement {
    const stopThenStart = deployed.release.strategy === "stop-then-start";
    const base = { network: this.component.network.name, nameSuffix: stopThenStart ? "" : nameSuffix() };
    if (this.rollsCopies(deployed)) {
      if (!stopThenStart && copy.index === 0) return base;
      const turn = new Promise<pulumi.Output<pulumi.Resource[]>>((resolve) =>
        this.turns.set(`${deployed.name}/${copy.index}`, resolve),
      );
      return { ...base, stopAfter: pulumi.output(turn) };
    }
    return { ...base, ...(stopThenStart && !this.isNew ? { stopAfter: this.drained } : {}) };
  }

  /** A service container made behind the switch. */
  add(service: FrontedService): void {
    this.services.push(service);
  }

  /**
   * The drains (where a container waits for one) and the pushes, once every service container is registered: the
   * copies released one at a time each get their own, in turn; the host's drain takes the other stop-then-start
   * services, and its push, last, every copy of every service.
   */
  finish(): SwitchOutputs {
    this.containersMade(this.services.map((s) => s.container));
    const common = { stack: this.stack, host: this.host, hostName: this.hostName, switch: this.component };
    const rolled = this.services.filter((s) => this.rollsCopies(s.service));
    const lastPushes = [...new Set(rolled.map((s) => s.service.name))].map((name) =>
      releaseCopies(
        { ...common, spec: this.spec },
        rolled.filter((s) => s.service.name === name).sort((a, b) => a.copy - b.copy),
        (index, after) => this.takeTurn(`${name}/${index}`)(after),
      ),
    );
    if (this.turns.size > 0) throw new Error(`copies never given their turn: ${[...this.turns.keys()].join(", ")}`);
    // A service without ports has no route to drain.
    const drainTargets: DrainTarget[] = this.services
      .filter((s) => !this.isNew && !this.rollsCopies(s.service))
      .filter((s) => s.service.release.strategy === "stop-then-start" && s.service.ports.length > 0)
      .map((s) => ({ service: s.service, copy: s.copy, image: s.image, release: s.releaseKey }));
    this.drainMade(
      drainTargets.length > 0
        ? [createSwitchDrain(`${this.hostName}-switch-drain`, { ...common, spec: this.spec, targets: drainTargets })]
        : [],
    );
    const pushTargets: PushTarget[] = this.services.map((s) => ({
      service: s.service,
      copy: s.copy,
      container: s.container,
      release: s.releaseKey,
    }));
    const push = createSwitchPush(`${this.hostName}-switch-push`, {
      ...common,
      spec: this.spec,
      targets: pushTargets,
      ...(lastPushes.length > 0 ? { after: pulumi.all(lastPushes).apply((all) => all.flat()) } : {}),
    });
    return { container: this.component.container.name, ports: this.component.ports, pushExitCode: push.exitCode };
  }

  /** Lets a copy's container go once `after` resolves, and forgets the wait. */
  private takeTurn(key: string): (after: pulumi.Output<pulumi.Resource[]>) => void {
    const resolve = this.turns.get(key);
    if (!resolve) throw new Error(`no copy ${key} waits for its turn`);
    this.turns.delete(key);
    return resolve;
  }
}

/** One HostSwitch per Docker host of the model that has services, when the stack has a switch. */
export async function createHostSwitches(
  model: DeploymentModel,
  hosts: ReadonlyMap<string, DockerHost>,
): Promise<Map<string, HostSwitch>> {
  const switches = new Map<string, HostSwitch>();
  if (!model.switch) return switches;
  const before = await switchedHosts(model.stack);
  for (const h of model.hosts) {
    const placed = model.services.filter(isOnDocker).filter((s) => s.host === h.name);
    if (placed.length === 0) continue;
    const host = hosts.get(h.name)!;
    switches.set(h.name, new HostSwitch(h.name, host, model.stack, model.switch, placed, !before.has(h.name)));
  }
  return switches;
}
