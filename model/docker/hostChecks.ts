/**
 * Rules across the services of one Docker daemon, in this stack and in the neighbour stacks that share it:
 * host ports, container names, managed volume names, GPU counts and device IDs. Problems are reported on this
 * stack's keys only.
 */
import type { ModelContext } from "../context";
import { portsOverlap } from "../../formats";
import type { DockerServiceDraft, ServiceDraft } from "../serviceDraft";
import { isOnDocker, type CopySpec, type DeploymentModel, type GpuSpec, type HostSpec } from "../types";

/** A service as seen on a Docker daemon: this stack's, or a neighbour stack's. */
export interface PlacedService {
  /** The neighbour stack it belongs to; absent for this stack's services. */
  readonly stack?: string;
  /** A neighbour's spec, or this stack's before its release is resolved. */
  readonly service: DockerServiceDraft;
  /** The Docker host URI: two stacks share a host when they reach the same daemon. */
  readonly daemon: string;
  readonly hostName: string;
}

/** A placed service, one entry per copy: what the fit rule sums on each GPU. */
export interface PlacedCopy extends PlacedService {
  readonly copy: CopySpec;
}

/** Each placed service as its copies, in index order. */
export function perCopy(placed: readonly PlacedService[]): PlacedCopy[] {
  return placed.flatMap((p) => p.service.copies.map((copy) => ({ ...p, copy })));
}

/**
 * GPUs a service asks for on a host with `hostGpus` GPUs: the distinct GPUs its copies' requests name, else its
 * request as given for each copy.
 */
function gpusAsked(service: Pick<DockerServiceDraft, "replicas" | "copies">, gpus: GpuSpec, hostGpus: number): number {
  const placed = service.copies.flatMap((copy) => copy.deviceIds ?? []);
  if (placed.length > 0) return new Set(placed).size;
  if (gpus.deviceIds) return gpus.deviceIds.length;
  return gpus.count === "all" ? hostGpus : (gpus.count as number) * service.replicas;
}

/** The device IDs a service's requests name: its pinned ones, and those its copies were placed on. */
function deviceIdsOf(service: DockerServiceDraft): string[] {
  return [...(service.gpus?.deviceIds ?? []), ...service.copies.flatMap((copy) => copy.deviceIds ?? [])];
}

/** GPUs a service takes for itself on a host with `hostGpus` GPUs. */
function gpusTaken(service: DockerServiceDraft, hostGpus: number): number {
  return !service.gpus || service.shareGpu ? 0 : gpusAsked(service, service.gpus, hostGpus);
}

function whereIs(placed: PlacedService, rest: string): string {
  const key = `services.${placed.service.name}${rest}`;
  return placed.stack ? `stack "${placed.stack}" (${key})` : key;
}

function describeHost(hostName: string, daemon: string): string {
  return `host "${hostName}"${daemon.startsWith("unix:") ? "" : ` (${daemon})`}`;
}

/** One model's services on their hosts' daemons (a service on an unknown host is reported elsewhere). */
export function place(hosts: readonly HostSpec[], services: readonly ServiceDraft[], stack?: string): PlacedService[] {
  const daemonOf = new Map(hosts.map((host) => [host.name, host.dockerHost]));
  return services
    .filter(isOnDocker)
    .filter((service) => daemonOf.has(service.host))
    .map((service) => ({
      ...(stack !== undefined ? { stack } : {}),
      service,
      daemon: daemonOf.get(service.host)!,
      hostName: service.host,
    }));
}

/** Host ports, container names and managed volumes: each once per daemon. */
function checkNames(
  ctx: ModelContext,
  neighbourServices: readonly PlacedService[],
  ownServices: readonly PlacedService[],
): void {
  // Neighbours first, so this stack's services are the ones reported.
  const seen: PlacedService[] = [...neighbourServices];
  for (const placed of ownServices) {
    const { service } = placed;
    const sameDaemon = seen.filter((other) => other.daemon === placed.daemon);
    const onHost = describeHost(placed.hostName, placed.daemon);
    service.ports.forEach((port, index) => {
      for (const other of sameDaemon) {
        const otherIndex = other.service.ports.findIndex((otherPort) => portsOverlap(otherPort, port));
        if (otherIndex >= 0) {
          ctx.add(
            ["services", service.name, "ports", index, "host"],
            `host port ${port.host}/${port.protocol} on ${onHost} is already published by ` +
              whereIs(other, `.ports[${otherIndex}]`),
          );
          break;
        }
      }
    });
    const sameName = sameDaemon.find((other) => other.service.containerName === service.containerName);
    if (sameName) {
      ctx.add(
        ["services", service.name, "containerName"],
        `container name "${service.containerName}" on ${onHost} is already used by ${whereIs(sameName, "")}`,
      );
    }
    service.volumes.forEach((volume, index) => {
      if (volume.external) return;
      for (const other of sameDaemon) {
        const otherIndex = other.service.volumes.findIndex((v) => !v.external && v.name === volume.name);
        if (otherIndex >= 0) {
          ctx.add(
            ["services", service.name, "volumes", index, "name"],
            `volume "${volume.name}" on ${onHost} is already managed by ${whereIs(other, `.volumes[${otherIndex}]`)}; ` +
              "mark the second use external: true to share it",
          );
          break;
        }
      }
    });
    seen.push(placed);
  }
}

/** GPUs: device IDs the host has, each used by one non-sharing service, and no more GPUs asked than it has. */
function checkGpus(ctx: ModelContext, host: HostSpec, onDaemon: readonly PlacedService[]): void {
  const withGpus = onDaemon.filter((placed) => placed.service.gpus);
  const own = withGpus.filter((placed) => !placed.stack && placed.hostName === host.name);
  if (own.length === 0) return;
  const label = (placed: PlacedService) =>
    placed.stack ? `${placed.stack}/${placed.service.name}` : placed.service.name;
  const devices = host.gpus?.devices?.map((device) => device.id);
  for (const placed of own) {
    const { service } = placed;
    (service.gpus!.deviceIds ?? []).forEach((id, index) => {
      const at = ["services", service.name, "gpus", "deviceIds", index];
      if (devices && !devices.includes(id)) {
        ctx.add(at, `host "${host.name}" has no GPU "${id}" (hosts.${host.name}.gpus.devices: ${devices.join(", ")})`);
      }
      if (service.shareGpu) return;
      // Reported on the later of two users: neighbours come first.
      const earlier = withGpus.slice(0, withGpus.indexOf(placed));
      const other = earlier.find((o) => !o.service.shareGpu && deviceIdsOf(o.service).includes(id));
      if (other) {
        ctx.add(
          at,
          `GPU "${id}" on host "${host.name}" is already used by ${label(other)}; set shareGpu: true on both to share it`,
        );
      }
    });
  }
  if (host.gpus === undefined) return;
  const hostGpus = host.gpus.count;
  const taken = withGpus.reduce((sum, placed) => sum + gpusTaken(placed.service, hostGpus), 0);
  for (const placed of own) {
    const asked = gpusAsked(placed.service, placed.service.gpus!, hostGpus);
    const at = ["services", placed.service.name, "gpus"];
    if (asked > hostGpus || hostGpus === 0) {
      ctx.add(
        at,
        `asks for ${asked} GPU${asked === 1 ? "" : "s"} but host "${host.name}" has ${hostGpus} (hosts.${host.name}.gpus)`,
      );
    } else if (taken > hostGpus && !placed.service.shareGpu) {
      const users = withGpus.filter((o) => gpusTaken(o.service, hostGpus) > 0).map(label);
      ctx.add(
        at,
        `host "${host.name}" has ${hostGpus} GPU${hostGpus === 1 ? "" : "s"} (hosts.${host.name}.gpus) but ` +
          `${users.join(", ")} ask for ${taken}; set shareGpu: true on services that may share`,
      );
    }
  }
}

export function checkHosts(
  ctx: ModelContext,
  hosts: readonly HostSpec[],
  services: readonly DockerServiceDraft[],
  neighbours: readonly DeploymentModel[],
): void {
  const neighbourServices = neighbours.flatMap((neighbour) =>
    place(neighbour.hosts, neighbour.services, neighbour.stack),
  );
  const ownServices = place(hosts, services);
  checkNames(ctx, neighbourServices, ownServices);
  const all = [...neighbourServices, ...ownServices];
  for (const host of hosts)
    checkGpus(
      ctx,
      host,
      all.filter((placed) => placed.daemon === host.dockerHost),
    );
}
