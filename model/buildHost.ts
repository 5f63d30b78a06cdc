/** One host of the stack: its spec, and the secrets its registry credentials name. */
import type { ModelContext } from "./context";
import type { HostConfig } from "../stackConfig/serviceSchema";
import type { GpuInventory, HostSpec } from "./types";

/** The address clients use for a Docker host URI: ssh://agnes@10.30.11.45 -> 10.30.11.45. */
export function addressOf(dockerHost: string): string {
  const match = /^(?:ssh|tcp):\/\/(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+)/.exec(dockerHost);
  return match ? match[1] : "localhost";
}

function gpuInventory(gpus: NonNullable<HostConfig["gpus"]>): GpuInventory {
  if (typeof gpus === "number") return { count: gpus };
  return gpus.devices
    ? { count: gpus.count, devices: gpus.devices.map((device) => ({ ...device })) }
    : { count: gpus.count };
}

export function buildHostSpec(ctx: ModelContext, name: string, host: HostConfig): HostSpec {
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
    dockerHost: host.dockerHost,
    address: host.address ?? addressOf(host.dockerHost),
    ...(host.gpus !== undefined ? { gpus: gpuInventory(host.gpus) } : {}),
    sshOpts: host.sshOpts ?? [],
    registryAuth: (host.registryAuth ?? []).map((auth) => ({ ...auth })),
  };
}
