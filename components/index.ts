/**
 * The Pulumi components a stack is made of, one per file:
 *
 * - DockerHost (`gpu-services:index:DockerHost`): one Docker host, its docker and docker-build providers
 * - GpuService (`gpu-services:index:GpuService`): one service on a host, its image, volumes and container
 * - GpuSwitch (`gpu-services:index:GpuSwitch`): one stack's switch on a host, which owns its services' ports
 * - Cluster (`gpu-services:index:Cluster`): one Kubernetes cluster, its kubernetes provider and namespace
 * - KubeService (`gpu-services:index:KubeService`): one service on a cluster, its Secret, claims, Deployment
 *   and Service
 *
 * Their parts: containerInputs (every container input, from the per-key table), serviceImage (pull or build),
 * serviceVolumes (managed and external volumes, binds), switchPush (the push container of a switch and its plan),
 * kubeInputs (every Deployment input, from its per-key table), kubeProbes (healthcheck -> probes), pendingPods
 * (the Pending pods of a rollout, during an up).
 */
export { Cluster } from "./cluster";
export { DockerHost } from "./dockerHost";
export { GpuService } from "./gpuService";
export { GpuSwitch } from "./gpuSwitch";
export { KubeService } from "./kubeService";
export type { Kubectl } from "./pendingPods";
export { createSwitchPush } from "./switchPush";
