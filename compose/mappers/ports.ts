/**
 * `ports`: the published ports.
 */
import { ComposeError } from "../errors";
import type { ComposeMap } from "../read";
import { list } from "../shape";
import { parsePort } from "../syntax";
import type { Mapper, ServiceScope } from "./scope";

/** The published ports (those with a fixed host port). */
function portsConfig(svc: ComposeMap, { at, warnings, emptied }: ServiceScope): Record<string, unknown> {
  if (svc.ports === undefined) return {};
  if (svc.network_mode === "host") {
    throw new ComposeError(`${at}: ports and network_mode: host conflict (host networking publishes nothing)`);
  }
  const ports = list(svc.ports, `${at}.ports`, "a list of ports")
    .map((p, i) => parsePort(p, `${at}.ports[${i}]`, warnings, emptied(`${at}.ports[${i}]`)))
    .filter((p) => p !== undefined);
  return ports.length > 0 ? { ports } : {};
}

export const portsMapper: Mapper = { compose: ["ports"], map: portsConfig };
