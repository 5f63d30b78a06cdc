/**
 * The Kubernetes backend: the components of a stack on its clusters, one per file:
 *
 * - Cluster (`gpu-services:index:Cluster`): one Kubernetes cluster, its kubernetes provider and namespace
 * - KubeService (`gpu-services:index:KubeService`): one service on a cluster, its Secret, claims, Deployment
 *   and Service
 *
 * Their parts: kubeInputs (every Deployment input, from its per-key table), kubeProbes (healthcheck -> probes),
 * pendingPods (the Pending pods of a rollout, during an up). deploy makes them for a stack's model: the clusters,
 * then the services on them.
 */
export { createClusters, createClusterServices } from "./deploy";
export { KubeService } from "./kubeService";
export type { Kubectl } from "./pendingPods";
