/**
 * The Pulumi components a stack is made of, one per file:
 *
 * - DockerHost (`gpu-services:index:DockerHost`): one Docker host, its docker and docker-build providers
 * - GpuService (`gpu-services:index:GpuService`): one service on a host, its image, volumes and container
 * - GpuSwitch (`gpu-services:index:GpuSwitch`): one stack's switch on a host, which owns its services' ports
 *
 * Their parts: containerInputs (every container input, from the per-key table), serviceImage (pull or build),
 * serviceVolumes (managed and external volumes, binds), switchPush (the push container of a switch and its plan).
 */
export { DockerHost } from "./dockerHost";
export { GpuService } from "./gpuService";
export { GpuSwitch } from "./gpuSwitch";
export { createSwitchPush } from "./switchPush";
