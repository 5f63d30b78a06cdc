/**
 * What a service may use where it runs: the key only a cluster takes (`scheduling`) refused on a Docker host, the
 * keys Kubernetes has no form for refused on a cluster, each with the way out; and the rules across the services
 * of one cluster (names in its namespace, node ports). Read from the raw values, key by key, so they are reported
 * even when another key of the service is invalid.
 */
import type { z } from "zod";
import type { ModelContext } from "../context";
import type { ClusterServiceDraft, ServiceDraft } from "../serviceDraft";
import {
  DNS1035_LABEL_RE,
  DNS1123_SUBDOMAIN_RE,
  isAnyAddress,
  NUMERIC_USER_RE,
  QUALIFIED_NAME_RE,
  type PlainObject,
} from "../../formats";
import { ServiceFields } from "../../stackConfig";
import type { ClusterSpec, DockerOnlyKey } from "../types";
import { CLUSTER_REFUSALS, clusterRefusal, TO_DOCKER } from "./dockerOnlyKeys";

type Fields = typeof ServiceFields.shape;

/** The value of one key of a service, parsed on its own; undefined where it does not parse (the schema says why). */
function fieldOf<K extends keyof Fields>(raw: PlainObject, key: K): z.output<Fields[K]> | undefined {
  const parsed = ServiceFields.shape[key].safeParse(raw[key]);
  return parsed.success ? (parsed.data as z.output<Fields[K]>) : undefined;
}

const MOVE = "or move the service to a cluster (a host with a kubernetes block)";

/** A service on a Docker host: no node placement (`replicas` there are copies, placed by docker/placement.ts). */
function checkOnDockerHost(ctx: ModelContext, name: string, raw: PlainObject, host: string): void {
  if (raw.scheduling !== undefined) {
    ctx.add(
      ["services", name, "scheduling"],
      `is for clusters only: host "${host}" is a Docker host, which has no nodes to place pods on; remove it, ${MOVE}`,
    );
  }
}

/** A service on a cluster: none of the keys only a Docker host has (CLUSTER_REFUSALS), each where it asks for something. */
function refuseDockerOnlyKeys(ctx: ModelContext, name: string, raw: PlainObject, host: string): void {
  for (const key of Object.keys(CLUSTER_REFUSALS) as DockerOnlyKey[]) refuseOnCluster(ctx, name, raw, host, key);
}

function refuseOnCluster<Key extends DockerOnlyKey>(
  ctx: ModelContext,
  name: string,
  raw: PlainObject,
  host: string,
  key: Key,
): void {
  if (raw[key] === undefined) return;
  const value = fieldOf(raw, key);
  if (CLUSTER_REFUSALS[key].refuses(value)) ctx.add(["services", name, key], clusterRefusal(host, key, value));
}

/** A service on a cluster: the narrower forms a cluster takes of the image, the GPUs, ipc and the user. */
function checkFormsOnCluster(ctx: ModelContext, name: string, raw: PlainObject, host: string): void {
  const at = (...rest: PropertyKey[]) => ["services", name, ...rest];
  const onCluster = `host "${host}" is a cluster`;
  if (raw.build !== undefined) {
    ctx.add(
      at("build"),
      `${onCluster}, which does not build images: publish the image with examples/service-publish.yml (or any ` +
        `registry push), then give image: {repository, digest} instead of build:, ${TO_DOCKER}`,
    );
  }
  const image = raw.image as PlainObject | undefined;
  if (image && typeof image === "object" && image.track === true) {
    ctx.add(
      at("image", "track"),
      `${onCluster}, whose Deployment rolls only when its pod template changes, not when a tag moves: pin a ` +
        "digest (npm run release -- release <stack> <service> <tag> writes it), or run the service on a Docker host",
    );
  }
  const gpus = fieldOf(raw, "gpus");
  if (gpus?.deviceIds) {
    ctx.add(
      at("gpus", "deviceIds"),
      `${onCluster}, where the NVIDIA device plugin picks the GPUs: give gpus.count (a number) instead`,
    );
  }
  if (gpus?.count === "all") {
    ctx.add(
      at("gpus", "count"),
      `${onCluster}, where a pod gets the number of GPUs it asks for (resources.limits["nvidia.com/gpu"]): give a ` +
        'number instead of "all"',
    );
  }
  const ipc = fieldOf(raw, "ipc");
  if (ipc !== undefined && ipc !== "host") {
    ctx.add(
      at("ipc"),
      `${onCluster}, where ipc may only be host (hostIPC); remove it for the pod's own IPC namespace (got "${ipc}")`,
    );
  }
  const user = fieldOf(raw, "user");
  if (user !== undefined && !NUMERIC_USER_RE.test(user)) {
    ctx.add(
      at("user"),
      `${onCluster}, which runs a pod as a numeric uid or uid:gid (securityContext.runAsUser, runAsGroup): give ` +
        `the numbers (got "${user}")`,
    );
  }
}

/** A service on a cluster: addresses the cluster decides, and every name one the API server takes. */
function checkNamesOnCluster(ctx: ModelContext, name: string, raw: PlainObject, host: string): void {
  const at = (...rest: PropertyKey[]) => ["services", name, ...rest];
  const onCluster = `host "${host}" is a cluster`;
  (fieldOf(raw, "ports") ?? []).forEach((port, index) => {
    if (!isAnyAddress(port.hostIp)) {
      ctx.add(
        at("ports", index, "hostIp"),
        `${onCluster}, whose Services listen where the cluster puts them: remove hostIp (got "${port.hostIp}")`,
      );
    }
  });
  (fieldOf(raw, "volumes") ?? []).forEach((volume, index) => {
    if (!DNS1123_SUBDOMAIN_RE.test(volume.name)) {
      ctx.add(
        at("volumes", index, "name"),
        `${onCluster}, where a volume is a PersistentVolumeClaim of that name, which must be a DNS-1123 name: ` +
          `lowercase letters, digits, - and ., at most 253 (got "${volume.name}")`,
      );
    }
  });
  for (const key of Object.keys(fieldOf(raw, "labels") ?? {})) {
    if (!QUALIFIED_NAME_RE.test(key)) {
      ctx.add(
        at("labels", key),
        `${onCluster}, where labels are pod annotations, whose keys are [prefix/]name: the name at most 63 ` +
          "letters, digits, - _ . with a letter or digit at each end, the prefix a DNS-1123 name",
      );
    }
  }
  const containerName = raw.containerName === undefined ? `${name}-${ctx.stack}` : fieldOf(raw, "containerName");
  if (containerName !== undefined && !DNS1035_LABEL_RE.test(containerName)) {
    const what = raw.containerName === undefined ? `its default name "${containerName}"` : `"${containerName}"`;
    ctx.add(
      at("containerName"),
      `${onCluster}, where ${what} names a Deployment and a Service, which must be a DNS-1035 label: at most 63 ` +
        `lowercase letters, digits and -, a letter first and no - last; set containerName to one`,
    );
  }
}

const EXEC_WAY_OUT = "or drop readiness and give an exec healthcheck";

/** A declared readiness check becomes the pods' probes: an httpGet, which sends a GET without a body. */
function checkReadinessOnCluster(ctx: ModelContext, name: string, raw: PlainObject, host: string): void {
  const at = (...rest: PropertyKey[]) => ["services", name, ...rest];
  const readiness = fieldOf(raw, "readiness");
  if (!readiness) return;
  const onCluster = `has no Kubernetes probe form on cluster "${host}"`;
  if (readiness.method !== "GET") {
    ctx.add(at("readiness", "method"), `${readiness.method} ${onCluster}; use GET (readiness.path), ${EXEC_WAY_OUT}`);
  }
  if (readiness.body !== undefined) {
    ctx.add(
      at("readiness", "body"),
      `a request body ${onCluster} (httpGet sends none); drop it and probe a GET path, ${EXEC_WAY_OUT}`,
    );
  }
  if (readiness.expectStatus !== undefined) {
    ctx.add(
      at("readiness", "expectStatus"),
      `${onCluster} (the kubelet passes any status from 200 to 399); drop it, ${EXEC_WAY_OUT}`,
    );
  }
}

/** What the service may use on the kind of host it names (none where the host's kind is not known). */
export function checkPlacement(ctx: ModelContext, name: string, raw: PlainObject): void {
  const host = typeof raw.host === "string" ? raw.host : undefined;
  const kind = host === undefined ? undefined : ctx.hostKinds.get(host);
  if (kind === "docker") checkOnDockerHost(ctx, name, raw, host!);
  else if (kind === "kubernetes") {
    refuseDockerOnlyKeys(ctx, name, raw, host!);
    checkFormsOnCluster(ctx, name, raw, host!);
    checkNamesOnCluster(ctx, name, raw, host!);
    checkReadinessOnCluster(ctx, name, raw, host!);
  }
}

function describeCluster(cluster: ClusterSpec): string {
  return `cluster "${cluster.name}" (namespace ${cluster.namespace})`;
}

/** The names of the claims a service manages (not its external ones). */
export function managedClaims(service: Pick<ServiceDraft, "volumes">): string[] {
  return service.volumes.filter((v) => !v.external).map((v) => v.name);
}

/** What ReadWriteOncePod means, as the errors say it. */
export const ONE_POD = "ReadWriteOncePod, which lets one pod at a time mount a claim";

/**
 * On a cluster whose claims are ReadWriteOncePod, one pod per claim: a service with `replicas` above 1 would leave
 * the second pod Pending for ever, and a claim shared with another service (`external: true` there) the other's.
 */
function checkOnePodClaims(ctx: ModelContext, cluster: ClusterSpec, services: readonly ClusterServiceDraft[]): void {
  if (cluster.volumeAccessMode !== "ReadWriteOncePod") return;
  const mode = `hosts.${cluster.name}.kubernetes.volumeAccessMode`;
  const managedBy = new Map<string, string>();
  for (const service of services) for (const claim of managedClaims(service)) managedBy.set(claim, service.name);
  for (const service of services) {
    const claims = managedClaims(service);
    if (claims.length > 0 && service.replicas > 1) {
      ctx.add(
        ["services", service.name, "replicas"],
        `${service.replicas} pods cannot all mount claim "${claims[0]}": ${mode} is ${ONE_POD}; ` +
          `set replicas to 1, or set ${mode} to ReadWriteMany ` +
          "(storage that provides it) or ReadWriteOnce (pods on one node)",
      );
    }
    service.volumes.forEach((volume, index) => {
      const owner = managedBy.get(volume.name);
      if (!volume.external || owner === undefined || owner === service.name) return;
      ctx.add(
        ["services", service.name, "volumes", index, "external"],
        `claim "${volume.name}" is managed by services.${owner} on ${describeCluster(cluster)}, and ${mode} is ` +
          `${ONE_POD}: the pods of both services cannot mount it; give this service a claim of its own, or set ${mode} to ReadWriteMany or ReadWriteOnce`,
      );
    });
  }
}

/**
 * Names in each cluster's namespace (Deployments and Services, claims) once; on NodePort, each port number once;
 * with ReadWriteOncePod claims, one pod per claim.
 */
export function checkClusters(
  ctx: ModelContext,
  clusters: readonly ClusterSpec[],
  services: readonly ClusterServiceDraft[],
): void {
  for (const cluster of clusters) {
    const onCluster = services.filter((s) => s.host === cluster.name);
    checkOnePodClaims(ctx, cluster, onCluster);
    const seen: ClusterServiceDraft[] = [];
    for (const service of onCluster) {
      const sameName = seen.find((other) => other.containerName === service.containerName);
      if (sameName) {
        ctx.add(
          ["services", service.name, "containerName"],
          `"${service.containerName}" on ${describeCluster(cluster)} is already the Deployment and Service of ` +
            `services.${sameName.name}; set another containerName`,
        );
      }
      service.volumes.forEach((volume, index) => {
        if (volume.external) return;
        for (const other of seen) {
          const otherIndex = other.volumes.findIndex((v) => !v.external && v.name === volume.name);
          if (otherIndex < 0) continue;
          ctx.add(
            ["services", service.name, "volumes", index, "name"],
            `claim "${volume.name}" on ${describeCluster(cluster)} is already managed by services.${other.name}` +
              `.volumes[${otherIndex}]; mark the second use external: true to share it`,
          );
          break;
        }
      });
      if (cluster.serviceType === "NodePort") {
        const { from, to } = cluster.nodePortRange;
        service.ports.forEach((port, index) => {
          if (port.host < from || port.host > to) {
            ctx.add(
              ["services", service.name, "ports", index, "host"],
              `node port ${port.host} is outside the node port range of ${describeCluster(cluster)}, ${from}-${to} ` +
                "(serviceType NodePort: the node port is the port number, and the API server refuses one outside " +
                `its range): give a port in it, set hosts.${cluster.name}.kubernetes.nodePortRange to the ` +
                "cluster's --service-node-port-range, or use serviceType LoadBalancer",
            );
          }
          for (const other of seen) {
            const otherIndex = other.ports.findIndex((p) => p.host === port.host);
            if (otherIndex < 0) continue;
            ctx.add(
              ["services", service.name, "ports", index, "host"],
              `node port ${port.host} on ${describeCluster(cluster)} is already taken by services.${other.name}` +
                `.ports[${otherIndex}] (serviceType NodePort: a node port is used once per cluster, whatever the ` +
                "protocol); give another port number, or use serviceType LoadBalancer",
            );
            break;
          }
        });
      }
      seen.push(service);
    }
  }
}
