/** What a service behind the switch may publish. */
import type { ModelContext } from "../context";
import type { DockerServiceDraft } from "../serviceDraft";

/** Behind a switch every port is proxied as HTTP over tcp: a udp port cannot be. */
export function checkBehindSwitch(ctx: ModelContext, services: readonly DockerServiceDraft[]): void {
  for (const service of services) {
    service.ports.forEach((port, index) => {
      if (port.protocol !== "udp") return;
      ctx.add(
        ["services", service.name, "ports", index, "protocol"],
        "udp cannot be published behind gpu-services:switch, which proxies HTTP over tcp only; use tcp, or " +
          "deploy this service from a stack without a switch",
      );
    });
  }
}
