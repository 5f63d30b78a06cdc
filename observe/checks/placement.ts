/** What the stack will take on the host: its published ports and its external volumes. */
import { type PortSpec, type ServiceSpec } from "../../model";
import { isAnyAddress, LABEL_PREFIX } from "../../formats";
import type { ContainerView } from "../hostSnapshot";
import { fail, ok, type HostCheck } from "./types";

function overlaps(a: string, b: string): boolean {
  return a === b || isAnyAddress(a) || isAnyAddress(b);
}

function isOwn(c: ContainerView, stack: string, s: ServiceSpec): boolean {
  return c.labels[`${LABEL_PREFIX}stack`] === stack && c.labels[`${LABEL_PREFIX}service`] === s.name;
}

function holders(containers: readonly ContainerView[], port: PortSpec): ContainerView[] {
  return containers.filter((c) =>
    c.ports.some((p) => p.hostPort === port.host && p.protocol === port.protocol && overlaps(p.hostIp, port.hostIp)),
  );
}

export const portsCheck: HostCheck = ({ model, services, snapshot, host }) => {
  const clashes: string[] = [];
  let count = 0;
  for (const s of services) {
    s.ports.forEach((port, i) => {
      count++;
      for (const c of holders(snapshot.containers, port).filter((c) => !isOwn(c, model.stack, s))) {
        clashes.push(
          `services.${s.name}.ports[${i}] ${port.host}/${port.protocol} is held by container ${c.name} (${c.labels[`${LABEL_PREFIX}stack`] ? `stack ${c.labels[`${LABEL_PREFIX}stack`]}` : "not a gpu-services container"})`,
        );
      }
    });
  }
  if (clashes.length > 0) {
    return fail(
      clashes.join("; "),
      `stop or remove that container (docker -H ${host.dockerHost} stop <name>), or change the host port`,
    );
  }
  return ok(
    `${count} published port(s) free or held by this stack's own containers (ports of processes outside Docker are not visible here)`,
  );
};

export const externalVolumesCheck: HostCheck = ({ services, snapshot, host }) => {
  const wanted = services.flatMap((s) => s.volumes.filter((v) => v.external).map((v) => ({ s, v })));
  const missing = wanted.filter(({ v }) => !snapshot.volumes.has(v.name));
  if (missing.length > 0) {
    const names = missing.map(({ s, v }) => `${v.name} (services.${s.name})`).join(", ");
    return fail(
      `external volume(s) missing: ${names}`,
      `restore them, or create them empty: docker -H ${host.dockerHost} volume create <name>`,
    );
  }
  return ok(
    wanted.length === 0
      ? "no external volumes"
      : `external volume(s) exist: ${wanted.map(({ v }) => v.name).join(", ")}`,
  );
};
