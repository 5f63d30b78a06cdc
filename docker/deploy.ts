/**
 * The Docker side of a stack: one DockerHost per Docker host of the model, then one GpuService per service on
 * them, each placed behind what stands in front of its host (the switch, which the program makes between the two
 * steps: it needs the hosts, and the services need it).
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { isOnDocker, placementText, type CopySpec, type DeploymentModel, type DockerServiceSpec } from "../model";
import type { SwitchPlacement } from "./containerInputs";
import { DockerHost } from "./dockerHost";
import { GpuService } from "./gpuService";

/** The stack's secrets (the entries of `secrets`), as Pulumi secrets. */
export interface StackSecrets {
  /** One entry, by name. */
  value(name: string): pulumi.Output<string>;
  /** A service's `secretEnv`: env name -> the value of the entry it names. */
  env(service: Pick<DockerServiceSpec, "secretEnv">): Record<string, pulumi.Output<string>>;
}

/** A service container (one copy's) made behind what stands in front of its host, as that is told of it. */
export interface FrontedService {
  /** The spec as deployed. */
  readonly service: DockerServiceSpec;
  /** The copy's index: 0 for a service's only or first container. */
  readonly copy: number;
  readonly container: docker.Container;
  readonly image: pulumi.Resource;
  readonly releaseKey: pulumi.Output<string>;
}

/** What stands in front of a host's services (its switch): what it changes of each, and what it is told. */
export interface ServiceFront {
  /** The spec a service is deployed with behind it. */
  deployed(service: DockerServiceSpec): DockerServiceSpec;
  /** Where a copy of a deployed service sits, named with `nameSuffix` where it needs a fresh name. */
  placement(deployed: DockerServiceSpec, copy: CopySpec, nameSuffix: () => string): SwitchPlacement;
  /** A service container made behind it. */
  add(service: FrontedService): void;
}

/** One DockerHost per Docker host of the model, by name, with its registry credentials from the stack's secrets. */
export function createDockerHosts(model: DeploymentModel, secrets: StackSecrets): Map<string, DockerHost> {
  const hosts = new Map<string, DockerHost>();
  for (const h of model.hosts) {
    hosts.set(
      h.name,
      new DockerHost(h.name, {
        dockerHost: h.dockerHost,
        address: h.address,
        builds:
          model.services.some((s) => s.host === h.name && s.image.kind === "build") ||
          (model.switch?.image.kind === "build" && model.services.some((s) => s.host === h.name)),
        sshOpts: h.sshOpts,
        registryAuth: h.registryAuth.map((a) => ({
          address: a.address,
          username: a.username,
          password: secrets.value(a.passwordSecret),
        })),
      }),
    );
  }
  return hosts;
}

/**
 * One GpuService per service on a Docker host of the model, by name: behind its host's front where it has one
 * (the spec it deploys, its container's place, then the front is told of the container), as it is without one.
 */
export function createDockerServices(
  model: DeploymentModel,
  hosts: ReadonlyMap<string, DockerHost>,
  secrets: StackSecrets,
  fronts: ReadonlyMap<string, ServiceFront>,
  nameSuffix: () => string,
): Map<string, GpuService> {
  const services = new Map<string, GpuService>();
  for (const service of model.services.filter(isOnDocker)) {
    const front = fronts.get(service.host);
    const spec = front ? front.deployed(service) : service;
    const component = new GpuService(service.name, {
      ...spec,
      host: hosts.get(service.host)!,
      stack: model.stack,
      secretEnv: secrets.env(service),
      ...(front ? { placements: spec.copies.map((copy) => front.placement(spec, copy, nameSuffix)) } : {}),
    });
    const placed = placementText(spec);
    if (placed) pulumi.log.info(placed, component);
    for (const copy of component.copies) {
      front?.add({
        service: spec,
        copy: copy.index,
        container: copy.container,
        image: component.image,
        releaseKey: copy.releaseKey,
      });
    }
    services.set(service.name, component);
  }
  return services;
}
