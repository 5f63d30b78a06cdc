/**
 * The Docker backend: the components of a stack on its Docker hosts, one per file:
 *
 * - DockerHost (`gpu-services:index:DockerHost`): one Docker host, its docker and docker-build providers
 * - GpuService (`gpu-services:index:GpuService`): one service on a host, its image, volumes and container
 *
 * Their parts: containerInputs (every container input, from the per-key table), serviceImage (pull or build),
 * serviceVolumes (managed and external volumes, binds). deploy makes them for a stack's model: the hosts, then
 * the services, each behind its host's front (the switch) where it has one.
 */
export {
  createDockerHosts,
  createDockerServices,
  type FrontedService,
  type ServiceFront,
  type StackSecrets,
} from "./deploy";
export { DockerHost } from "./dockerHost";
export { GpuService } from "./gpuService";
