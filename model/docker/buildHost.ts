/** One Docker host of the stack: its spec, and the secrets its registry credentials name. */
import type { ModelContext } from "../context";
import { addressOf } from "../../formats";
import type { HostConfig } from "../../stackConfig";
import type { GpuInventory, HostSpec } from "../types";

function gpuInventory(gpus: NonNullable<HostConfig["gpus"]>): GpuInventory {
  if (typeof gpus === "number") return { count: gpus };
  return gpus.devices
    ? { count: gpus.count, devices: gpus.devices.map((device) => ({ ...device })) }
    : { count: gpus.count };
}

/** The spec of a host whose config parsed without a `kubernetes` block (so with a `dockerHost`). */
export function buildHostSpec(ctx: ModelContext, name: string, host: HostConfig): HostSpec {
  const dockerHost = host.dockerHost!;
  (host.registryAuth ?? []).forEach((auth, index) => {
    if (!ctx.secretNames.includes(auth.passwordSecret)) {
      ctx.add(
        ["hosts", name, "registryAuth", index, "passwordSecret"],
        `no secret "${auth.passwordSecret}" in secrets; set it with: pulumi config set --secret --path ` +
          `'secrets.${auth.passwordSecret}' <token>`,
      );
    }
  });
  return {
    name,
    dockerHost,
    address: host.address ?? addressOf(dockerHost),
    ...(host.gpus !== undefined ? { gpus: gpuInventory(host.gpus) } : {}),
    sshOpts: host.sshOpts ?? [],
    registryAuth: (host.registryAuth ?? []).map((auth) => ({ ...auth })),
  };
}
