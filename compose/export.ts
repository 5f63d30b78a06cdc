/**
 * Deployment model -> one Docker Compose file per host: an escape hatch (run a stack without Pulumi) and a
 * cross-check (what compose people read). Secret env values are never written: they appear as `${NAME}`
 * for compose to take from its environment. Services on a cluster (`runsOn: kubernetes`) are not exported:
 * compose runs containers on a Docker host (export-compose names each one it leaves out).
 */
import { stringify } from "yaml";
import {
  carriedWith,
  carry,
  isOnDocker,
  notCarried,
  type PerKey,
  type DeploymentModel,
  type DockerServiceSpec,
} from "../model";
import { addressForPort, LABEL_PREFIX, MIB } from "../formats";
import { placementText } from "../model";

/** Compose volume keys are names inside the file; the Docker name is in `name:`. */
function volumeKey(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_");
}

type Part = Readonly<Record<string, unknown>>;

/** A service of the stack being exported. */
interface Exported {
  readonly service: DockerServiceSpec;
  readonly stack: string;
}

function imageOrBuild({ image }: DockerServiceSpec): Part {
  if (image.kind === "registry") return { image: image.ref };
  const build = {
    context: image.location,
    ...(image.contextKind === "local" && image.dockerfile !== "Dockerfile" ? { dockerfile: image.dockerfile } : {}),
    ...(Object.keys(image.args).length > 0 ? { args: { ...image.args } } : {}),
    ...(image.target ? { target: image.target } : {}),
    ...(image.noCache ? { no_cache: true } : {}),
  };
  return { build, image: image.extraTag ?? image.localTag };
}

/**
 * Compose's `deploy`: the copies, and the device request. Compose gives every copy the same request, so copies
 * ask for the GPUs of one copy by count: which GPU each copy uses is what compose cannot say (exportNotes).
 */
function deploy({ gpus, replicas, copies }: DockerServiceSpec): Part {
  const perCopy = copies[0]?.deviceIds?.length;
  const request = replicas >= 2 && perCopy !== undefined ? { count: perCopy } : undefined;
  const device = gpus && {
    driver: "nvidia",
    ...(request ?? (gpus.deviceIds ? { device_ids: [...gpus.deviceIds] } : { count: gpus.count })),
    capabilities: [...gpus.capabilities],
  };
  const section = {
    ...(replicas >= 2 ? { replicas } : {}),
    ...(device ? { resources: { reservations: { devices: [device] } } } : {}),
  };
  return Object.keys(section).length > 0 ? { deploy: section } : {};
}

/**
 * What compose cannot say of a stack's services, one line each: which GPU each copy uses, and one endpoint in
 * front of the copies (compose's copies publish the same host ports, so only one of them can start).
 */
export function exportNotes(model: DeploymentModel): string[] {
  return model.services
    .filter(isOnDocker)
    .filter((s) => s.replicas >= 2)
    .map(
      (s) =>
        `note: services.${s.name} has ${s.replicas} copies (written as deploy.replicas): compose cannot say which ` +
        `GPU each copy uses${s.gpus ? ` (here ${placementText(s)!.replace(/^[^:]*: [^:]*: /, "")})` : ""}, nor ` +
        "put one endpoint in front of them (its copies publish the same host ports) or name each container " +
        "(container_name is left out)",
    );
}

/** The compose keys of a service, per key of the spec, in the order they are written. */
export const COMPOSE_KEYS = {
  image: ({ service: s }) => imageOrBuild(s),
  // Compose names copies itself: it refuses container_name beside deploy.replicas above 1.
  containerName: ({ service: s }): Part => (s.replicas >= 2 ? {} : { container_name: s.containerName }),
  restart: ({ service: s }) => ({ restart: s.restart }),
  // Short syntax: the long one's host_ip is not understood by docker-compose 1.x (Debian's), this is by both.
  ports: ({ service: s }): Part =>
    s.ports.length > 0
      ? { ports: s.ports.map((p) => `${addressForPort(p.hostIp)}:${p.host}:${p.container}/${p.protocol}`) }
      : {},
  volumes: ({ service: s }): Part => {
    const mounts = [
      ...s.volumes.map((v) => ({ type: "volume", source: volumeKey(v.name), target: v.target, read_only: v.readOnly })),
      ...s.binds.map((b) => ({ type: "bind", source: b.source, target: b.target, read_only: b.readOnly })),
    ];
    return mounts.length > 0 ? { volumes: mounts } : {};
  },
  binds: carriedWith("volumes"),
  env: ({ service: s }): Part => {
    const env: Record<string, string> = { ...s.env };
    // A compose variable is a shell identifier; Docker's env names need not be (node.password -> node_password).
    for (const name of Object.keys(s.secretEnv))
      env[name] = `\${${name.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=\d)/, "_")}}`;
    return Object.keys(env).length > 0 ? { environment: env } : {};
  },
  secretEnv: carriedWith("env"),
  healthcheck: ({ service: { healthcheck: h } }): Part =>
    h
      ? {
          healthcheck: {
            test: [...h.test],
            interval: h.interval,
            timeout: h.timeout,
            retries: h.retries,
            start_period: h.startPeriod,
          },
        }
      : {},
  gpus: ({ service: s }) => deploy(s),
  replicas: carriedWith("gpus"),
  copies: notCarried("compose gives every copy the same device request: which GPU each uses is in exportNotes"),
  command: ({ service: s }): Part => (s.command ? { command: [...s.command] } : {}),
  entrypoint: ({ service: s }): Part => (s.entrypoint ? { entrypoint: [...s.entrypoint] } : {}),
  user: ({ service: s }): Part => (s.user ? { user: s.user } : {}),
  shmSizeBytes: ({ service: s }): Part =>
    s.shmSizeBytes !== undefined ? { shm_size: `${s.shmSizeBytes / MIB}m` } : {},
  ipc: ({ service: s }): Part => (s.ipc ? { ipc: s.ipc } : {}),
  cpus: ({ service: s }): Part => (s.cpus !== undefined ? { cpus: s.cpus } : {}),
  ulimits: ({ service: s }): Part =>
    s.ulimits
      ? {
          ulimits: Object.fromEntries(
            Object.entries(s.ulimits).map(([n, l]) => [n, l.soft === l.hard ? l.soft : { soft: l.soft, hard: l.hard }]),
          ),
        }
      : {},
  labels: ({ service: s, stack }) => ({
    labels: { ...s.labels, [`${LABEL_PREFIX}service`]: s.name, [`${LABEL_PREFIX}stack`]: stack },
  }),
  name: carriedWith("labels"),
  stopGraceSeconds: ({ service: s }) => ({ stop_grace_period: `${s.stopGraceSeconds}s` }),
  host: notCarried("each host gets its own file; the host is in its name and header"),
  shareGpu: notCarried("compose has no GPU accounting across services; the device request is written (deploy)"),
  scheme: notCarried("compose has no endpoint URL; the published ports are written"),
  endpoint: carriedWith("ports"),
  release: notCarried(
    "compose has no switch: the exported service publishes its own ports and docker-compose stops, then starts it",
  ),
  runsOn: notCarried("only services on a Docker host are exported; compose runs containers"),
  readiness: notCarried("compose has no switch to route by readiness; the healthcheck is written"),
  hold: notCarried("compose has no switch to hold requests while a service loads"),
} satisfies PerKey<DockerServiceSpec, Part, Exported>;

function service(s: DockerServiceSpec, stack: string): Record<string, unknown> {
  return Object.assign({}, ...carry(COMPOSE_KEYS, { service: s, stack }));
}

/** The compose project name an exported stack runs under. */
export function projectName(model: DeploymentModel): string {
  return `${model.project}-${model.stack}`;
}

/** Compose files of a stack: `<stack>-<host>.compose.yaml` -> text. */
export function exportCompose(model: DeploymentModel): Map<string, string> {
  const files = new Map<string, string>();
  for (const host of model.hosts) {
    const services = model.services.filter(isOnDocker).filter((s) => s.host === host.name);
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
