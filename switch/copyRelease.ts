/**
 * A service with several copies behind a switch that ran before is released one copy at a time, so that the others
 * serve throughout: for each copy in index order, the drain of its routes (stop-then-start: it leaves the pool and
 * its requests in flight are answered), its new container, then a push of that copy alone (a partial plan: the
 * switch checks it and puts it in the pool). Each copy's drain, or a blue-green copy's container, waits for the push
 * of the copy before; that wait fails when the push failed, so a copy that never got ready stops the release there,
 * and the later copies keep their old release. The host's whole push waits for the last copy's.
 */
import * as pulumi from "@pulumi/pulumi";
import { copyName } from "../docker/copies";
import type { FrontedService } from "../docker";
import type { DockerHost } from "../docker/dockerHost";
import type { SwitchSpec } from "../model";
import type { GpuSwitch } from "./gpuSwitch";
import { createSwitchDrain } from "./switchDrain";
import { createSwitchPush } from "./switchPush";

/** What a copy's drain and push are made with: the switch of one (stack, host). */
export interface CopyReleaseArgs {
  readonly stack: string;
  readonly host: DockerHost;
  readonly hostName: string;
  readonly switch: GpuSwitch;
  readonly spec: SwitchSpec;
}

/** The push of a copy as what comes after it waits for it: its container, once its exit code is 0. */
export function pushedGate(push: ReturnType<typeof createSwitchPush>): pulumi.Output<pulumi.Resource[]> {
  return push.exitCode.apply(() => [push.container]);
}

/**
 * The drains and pushes of one service's copies (sorted by index), each copy's container let go by `release(index,
 * after)` with what it waits for (none for a blue-green first copy). Returns what the host's push waits for: the
 * last copy's push.
 */
export function releaseCopies(
  args: CopyReleaseArgs,
  copies: readonly FrontedService[],
  release: (index: number, after: pulumi.Output<pulumi.Resource[]>) => void,
): pulumi.Output<pulumi.Resource[]> {
  const service = copies[0].service;
  const surge = service.release.strategy === "blue-green";
  pulumi.log.info(
    `${service.name}: its ${copies.length} copies are released one at a time, each once the one before is ready: ` +
      (surge
        ? `a new copy starts beside its old one, which leaves the pool once the new one is in it (all ${copies.length} serve throughout)`
        : `a copy leaves the pool, is replaced and rejoins once ready (at least ${copies.length - 1} serve throughout)`),
    args.switch,
  );
  let previous: pulumi.Output<pulumi.Resource[]> | undefined;
  for (const copy of copies) {
    const name = copyName(copy.service.name, copy.copy);
    let waitFor = previous;
    if (copy.service.release.strategy === "stop-then-start") {
      const drain = createSwitchDrain(`${args.hostName}-switch-drain-${name}`, {
        ...args,
        targets: [{ service: copy.service, copy: copy.copy, image: copy.image, release: copy.releaseKey }],
        ...(previous ? { after: previous } : {}),
      });
      waitFor = pulumi.output([drain]);
    }
    if (waitFor) release(copy.copy, waitFor);
    const push = createSwitchPush(`${args.hostName}-switch-push-${name}`, {
      ...args,
      targets: [{ service: copy.service, copy: copy.copy, container: copy.container, release: copy.releaseKey }],
      partial: true,
    });
    previous = pushedGate(push);
  }
  return previous!;
}
