/**
 * The per-host switch of a stack's Docker services (its Go side, the agent gpu-switch and our Caddy modules, is
 * the Go module in this folder):
 *
 * - GpuSwitch (`gpu-services:index:GpuSwitch`): one stack's switch on a host, which owns its services' ports
 * - switchPush: the push container of a switch and its plan
 */
export { GpuSwitch } from "./gpuSwitch";
export { createSwitchPush } from "./switchPush";
