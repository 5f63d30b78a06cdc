/**
 * The per-host switch of a stack's Docker services (its Go side, the agent gpu-switch and our Caddy modules, is
 * the Go module in this folder):
 *
 * - GpuSwitch (`gpu-services:index:GpuSwitch`): one stack's switch on a host, which owns its services' ports
 * - switchPush: the push container of a switch and its plan (/push/plan.json)
 * - switchDrain: the drain container that empties a stop-then-start route before its container stops
 * - hostSwitch: what the program does per (stack, host) with a switch: the switch, placements, drain and push
 */
export { createHostSwitches, type SwitchOutputs } from "./hostSwitch";
