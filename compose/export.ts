/**
 * Deployment model -> one Docker Compose file per host: an escape hatch (run a stack without Pulumi) and a
 * cross-check (what compose people read). Secret env values are never written: they appear as `${NAME}`
 * for compose to take from its environment.
 */
import { stringify } from "yaml";
import { addressForPort, LABEL_PREFIX, MIB, type DeploymentModel, type ServiceSpec } from "../config/specs";

/** Compose volume keys are names inside the file; the Docker name is in `name:`. */
function volumeKey(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_");
}

function service(s: ServiceSpec, stack: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.image.kind === "registry") {
    out.image = s.image.ref;
  } else {
    out.build = {
      context: s.image.location,
      ...(s.image.contextKind === "local" && s.image.dockerfile !== "Dockerfile"
        ? { dockerfile: s.image.dockerfile }
        : {}),
      ...(Object.keys(s.image.args).length > 0 ? { args: { ...s.image.args } } : {}),
      ...(s.image.target ? { target: s.image.target } : {}),
      ...(s.image.noCache ? { no_cache: true } : {}),
    };
    out.image = s.image.extraTag ?? s.image.localTag;
  }
  out.container_name = s.containerName;
  out.restart = s.restart;
  // Short syntax: the long one's host_ip is not understood by docker-compose 1.x (Debian's), this is by both.
  if (s.ports.length > 0) {
    out.ports = s.ports.map((p) => `${addressForPort(p.hostIp)}:${p.host}:${p.container}/${p.protocol}`);
  }
  const mounts = [
    ...s.volumes.map((v) => ({ type: "volume", source: volumeKey(v.name), target: v.target, read_only: v.readOnly })),
    ...s.binds.map((b) => ({ type: "bind", source: b.source, target: b.target, read_only: b.readOnly })),
  ];
  if (mounts.length > 0) out.volumes = mounts;
  const env: Record<string, string> = { ...s.env };
  for (const name of Object.keys(s.secretEnv)) env[name] = `\${${name}}`;
  if (Object.keys(env).length > 0) out.environment = env;
  if (s.healthcheck) {
    out.healthcheck = {
      test: [...s.healthcheck.test],
      interval: s.healthcheck.interval,
      timeout: s.healthcheck.timeout,
      retries: s.healthcheck.retries,
      start_period: s.healthcheck.startPeriod,
    };
  }
  if (s.gpus) {
    out.deploy = {
      resources: {
        reservations: {
          devices: [
            {
              driver: "nvidia",
              ...(s.gpus.deviceIds ? { device_ids: [...s.gpus.deviceIds] } : { count: s.gpus.count }),
              capabilities: [...s.gpus.capabilities],
            },
          ],
        },
      },
    };
  }
  if (s.command) out.command = [...s.command];
  if (s.entrypoint) out.entrypoint = [...s.entrypoint];
  if (s.user) out.user = s.user;
  if (s.shmSizeBytes !== undefined) out.shm_size = `${s.shmSizeBytes / MIB}m`;
  if (s.ipc) out.ipc = s.ipc;
  if (s.cpus !== undefined) out.cpus = s.cpus;
  if (s.ulimits) {
    out.ulimits = Object.fromEntries(
      Object.entries(s.ulimits).map(([name, l]) => [name, l.soft === l.hard ? l.soft : { soft: l.soft, hard: l.hard }]),
    );
  }
  out.labels = { ...s.labels, [`${LABEL_PREFIX}service`]: s.name, [`${LABEL_PREFIX}stack`]: stack };
  out.stop_grace_period = `${s.stopGraceSeconds}s`;
  return out;
}

/** The compose project name an exported stack runs under. */
export function projectName(model: DeploymentModel): string {
  return `${model.project}-${model.stack}`;
}

/** Compose files of a stack: `<stack>-<host>.compose.yaml` -> text. */
export function exportCompose(model: DeploymentModel): Map<string, string> {
  const files = new Map<string, string>();
  for (const host of model.hosts) {
    const services = model.services.filter((s) => s.host === host.name);
    if (services.length === 0) continue;
    const volumes: Record<string, unknown> = {};
    for (const s of services) {
      for (const v of s.volumes)
        volumes[volumeKey(v.name)] = v.external ? { name: v.name, external: true } : { name: v.name };
    }
    // No top-level `name:` (docker-compose 1.x refuses it): the project name is given with -p.
    const doc = {
      services: Object.fromEntries(services.map((s) => [s.name, service(s, model.stack)])),
      ...(Object.keys(volumes).length > 0 ? { volumes } : {}),
    };
    const header =
      `# Stack "${model.stack}", host "${host.name}" (${host.dockerHost}), exported from Pulumi.${model.stack}.yaml.\n` +
      `# Run with: DOCKER_HOST=${host.dockerHost} docker compose -p ${projectName(model)} -f <this file> up -d\n` +
      "# Generated: edit the stack, not this file.\n";
    files.set(`${model.stack}-${host.name}.compose.yaml`, header + stringify(doc, { lineWidth: 0 }));
  }
  return files;
}
