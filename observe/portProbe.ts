/**
 * Whether a process outside Docker holds a host port, asked of Docker alone (no agent, no shell on the host): a
 * container of an image already on the host is created with the port published and started with an entrypoint
 * that does not exist, so nothing of the image ever runs. Docker binds a published port (its userland proxy, on by
 * default) before it looks for the entrypoint: "address already in use" means something on the host holds the
 * port; the missing entrypoint means the bind worked. The container is removed at once either way. With the
 * userland proxy turned off Docker binds nothing, and a held port cannot be told from a free one this way.
 */
import type { PortSpec } from "../model";
import type { DockerCli } from "../clients";

/** The label on the short-lived probe container, so it is never mistaken for a service. */
export const PORT_PROBE_LABEL = "gpu-services.probe=port";

/** An entrypoint no image has: the container never runs anything. */
const NO_ENTRYPOINT = "/gpu-services-port-probe-runs-nothing";

export type PortProbe =
  | { readonly state: "free" }
  | { readonly state: "held"; readonly detail: string }
  | { readonly state: "unknown"; readonly reason: string };

/** `-p` for the port as the service publishes it (the container side does not matter: nothing listens). */
function publish(port: PortSpec): string {
  const ip = port.hostIp.includes(":") ? `[${port.hostIp}]` : port.hostIp;
  return `${ip ? `${ip}:` : ""}${port.host}:${port.host}/${port.protocol}`;
}

/** An image on the host to create the probe container from, or undefined where the host has none. */
export async function anyImage(cli: DockerCli): Promise<string | undefined> {
  const ids = (await cli.run(["image", "ls", "--quiet", "--no-trunc"])).split("\n").filter(Boolean);
  return ids[0];
}

export async function probeHostPort(cli: DockerCli, image: string, port: PortSpec): Promise<PortProbe> {
  const created = await cli.run([
    "create",
    "--label",
    PORT_PROBE_LABEL,
    "--network",
    "bridge",
    "--publish",
    publish(port),
    "--entrypoint",
    NO_ENTRYPOINT,
    image,
  ]);
  const id = created.trim();
  try {
    const started = await cli.call(["start", id]);
    const said = started.stderr.trim();
    if (/address already in use/i.test(said)) {
      const bind = /listen \S+ \S+: bind: address already in use/.exec(said)?.[0] ?? "address already in use";
      return { state: "held", detail: bind };
    }
    if (/port is already allocated/i.test(said)) return { state: "held", detail: "port is already allocated" };
    if (started.code === 0 || said.includes(NO_ENTRYPOINT)) return { state: "free" };
    return { state: "unknown", reason: said.split("\n").at(-1) ?? `docker start exited ${started.code}` };
  } finally {
    await cli.call(["rm", "--force", id]);
  }
}
