/**
 * The Kubernetes side of a stack: one Cluster per cluster of the model, then one KubeService per service on them,
 * on its cluster's provider.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isOnCluster, type ClusterServiceSpec, type DeploymentModel } from "../model";
import { Cluster } from "./cluster";
import { KubeService } from "./kubeService";
import type { Kubectl } from "./pendingPods";

/** The stack's secrets (the entries of `secrets`), as Pulumi secrets. */
export interface StackSecrets {
  /** One entry, by name (a whole kubeconfig). */
  value(name: string): pulumi.Output<string>;
  /** A service's `secretEnv`: env name -> the value of the entry it names. */
  env(service: Pick<ClusterServiceSpec, "secretEnv">): Record<string, pulumi.Output<string>>;
}

/**
 * One Cluster per cluster of the model, by name. `kubectl` watches the Pending pods of their services during an up
 * (false: none); default: kubectl on PATH, on each cluster's context.
 */
export function createClusters(
  model: DeploymentModel,
  secrets: StackSecrets,
  kubectl: Kubectl | false | undefined,
): Map<string, Cluster> {
  const clusters = new Map<string, Cluster>();
  for (const c of model.clusters) {
    clusters.set(
      c.name,
      new Cluster(c.name, {
        namespace: c.namespace,
        context: c.context,
        ...(c.kubeconfigSecret !== undefined ? { kubeconfig: secrets.value(c.kubeconfigSecret) } : {}),
        serviceType: c.serviceType,
        address: c.address,
        storageClassName: c.storageClassName,
        volumeSize: c.volumeSize,
        volumeAccessMode: c.volumeAccessMode,
        ...(kubectl !== undefined ? { kubectl } : {}),
      }),
    );
  }
  return clusters;
}

/** One KubeService per service on a cluster of the model, by name, on its cluster's provider. */
export function createClusterServices(
  model: DeploymentModel,
  clusters: ReadonlyMap<string, Cluster>,
  secrets: StackSecrets,
): Map<string, KubeService> {
  const services = new Map<string, KubeService>();
  for (const service of model.services.filter(isOnCluster)) {
    const cluster = clusters.get(service.host);
    if (!cluster)
      throw new Error(`service ${service.name} runs on cluster ${service.host}, which the model does not have`);
    const component = new KubeService(service.name, {
      ...service,
      cluster,
      stack: model.stack,
      secretEnv: secrets.env(service),
    });
    services.set(service.name, component);
  }
  return services;
}
