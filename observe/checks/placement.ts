/** What the stack will take on the host: its published ports and its external volumes. */
import { type PortSpec, type ServiceSpec } from "../../model";
import { isAnyAddress, LABEL_PREFIX } from "../../formats";
import type { ContainerView } from "../hostSnapshot";
import { anyImage, probeHostPort } from "../portProbe";
import { fail, ok, warn, type HostCheck } from "./types";

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

export const portsCheck: HostCheck = async ({ model, services, snapshot, host, cli }) => {
  const clashes: string[] = [];
  const outside: string[] = [];
  const untold: string[] = [];
  const free: PortSpec[] = [];
  let image: string | undefined;
  let count = 0;
  for (const s of services) {
    for (const [i, port] of s.ports.entries()) {
      count++;
      const key = `services.${s.name}.ports[${i}] ${port.host}/${port.protocol}`;
      const held = holders(snapshot.containers, port);
      for (const c of held.filter((c) => !isOwn(c, model.stack, s))) {
        clashes.push(
          `${key} is held by container ${c.name} (${c.labels[`${LABEL_PREFIX}stack`] ? `stack ${c.labels[`${LABEL_PREFIX}stack`]}` : "not a gpu-services container"})`,
        );
      }
      if (held.length === 0) free.push(port);
      else continue;
      // No container holds it: does a process on the host? Docker binds it for a container that runs nothing.
      image ??= await anyImage(cli);
      if (!image) {
        untold.push(`${key} (no image on the host to probe with)`);
        continue;
      }
      const probe = await probeHostPort(cli, image, port);
      if (probe.state === "held") outside.push(`${key} is held by a process outside Docker (${probe.detail})`);
      if (probe.state === "unknown") untold.push(`${key} (${probe.reason})`);
    }
  }
  if (clashes.length > 0 || outside.length > 0) {
    const fixes = [
      ...(clashes.length > 0 ? [`stop or remove that container (docker -H ${host.dockerHost} stop <name>)`] : []),
      ...(outside.length > 0 ? ["stop that process (ss -ltnp on the host names it)"] : []),
    ];
    return fail([...clashes, ...outside].join("; "), `${fixes.join(", or ")}, or change the host port`);
  }
  if (untold.length > 0) {
    return warn(
      `not told whether a process outside Docker holds ${untold.join(", ")}`,
      "check on the host (ss -ltnp) that nothing listens on it",
    );
  }
  return ok(
    `${count} published port(s) free (Docker could bind the ${free.length} no container holds) or held by this stack's own containers`,
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
