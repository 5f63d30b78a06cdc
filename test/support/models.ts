/** Small models for unit tests of the model's consumers: services on one local host, or on a cluster. */
import {
  buildModel,
  isOnDocker,
  type ClusterServiceSpec,
  type ClusterSpec,
  type DeploymentModel,
  type DockerServiceSpec,
  type ServiceSpec,
  type SwitchSpec,
} from "../../model";
import { copyIndexes } from "../../model/buildService";
import { StackConfigError } from "../../stackConfig";

/** A model whose services all run on Docker hosts, as its type says. */
export type DockerModel = Omit<DeploymentModel, "services"> & { readonly services: readonly DockerServiceSpec[] };

/** A model of Docker hosts only (a test's stack without a cluster), its type saying so. */
export function dockerOnly(model: DeploymentModel): DockerModel {
  const services = model.services.filter(isOnDocker);
  if (services.length !== model.services.length) throw new Error(`stack "${model.stack}" has a service on a cluster`);
  return { ...model, services };
}

/** Stack "dev" with one host, `lab` (the local daemon), and these services on it (`host: "lab"` filled in). */
export function labModel(services: Record<string, Record<string, unknown>>): DockerModel {
  return dockerOnly(
    buildModel(
      {
        hosts: { lab: { dockerHost: "unix:///var/run/docker.sock" } },
        services: Object.fromEntries(Object.entries(services).map(([name, s]) => [name, { host: "lab", ...s }])),
      },
      { stack: "dev" },
    ),
  );
}

/** The image most of those services pull. */
export const NGINX = { repository: "nginx", tag: "1.27" } as const;

/** The switch image of the lab's stacks with a switch: a local registry's, pinned. */
export const SWITCH_IMAGE = { repository: "localhost:5000/gpu-switch", tag: "1", digest: `sha256:${"c".repeat(64)}` };

/** `gpu-services:switch` of the lab's stacks with a switch (SWITCH_IMAGE, a 10 s hold, a 1 h stream close). */
export const LAB_SWITCH: SwitchSpec = {
  image: { kind: "registry", ...SWITCH_IMAGE, track: false, ref: `${SWITCH_IMAGE.repository}@${SWITCH_IMAGE.digest}` },
  holdSeconds: 10,
  streamCloseDelay: "1h",
  dockerSocket: "/run/docker.sock",
};

/** The cluster `gpu-cluster` of clusterModel, as its stack config would make it. */
export const GPU_CLUSTER: ClusterSpec = {
  name: "gpu-cluster",
  namespace: "speech",
  context: "lab",
  serviceType: "LoadBalancer",
  spareGpus: 2,
  storageClassName: "local-path",
  volumeSize: "20Gi",
  volumeAccessMode: "ReadWriteOnce",
  nodePortRange: { from: 30000, to: 32767 },
};

/**
 * Stack "dev" with the Docker host `lab` and the cluster `gpu-cluster` (`cluster`, GPU_CLUSTER by default).
 * Each service of `onCluster` is built on `lab` and then placed on the cluster with what a cluster service adds
 * (`runsOn`, `scheduling`, a resolved release, `replicas` with as many copies, none naming a GPU): `place`.
 */
export function clusterModel(
  onDocker: Record<string, Record<string, unknown>>,
  onCluster: Record<string, { config: Record<string, unknown>; place?: Partial<ClusterServiceSpec> }>,
  cluster: ClusterSpec = GPU_CLUSTER,
  secrets: Record<string, string> = {},
): DeploymentModel {
  const built = buildModel(
    {
      hosts: { lab: { dockerHost: "unix:///var/run/docker.sock" } },
      services: Object.fromEntries([
        ...Object.entries(onDocker).map(([name, s]) => [name, { host: "lab", ...s }]),
        ...Object.entries(onCluster).map(([name, s]) => [name, { host: "lab", ...s.config }]),
      ]),
      ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
    },
    { stack: "dev" },
  );
  return {
    ...built,
    clusters: [cluster],
    services: built.services.map((service) =>
      service.name in onCluster ? placed(service, cluster.name, onCluster[service.name].place) : service,
    ),
  };
}

/** A service built on `lab` as it is on `cluster`: the keys of a Docker host's service left behind, a cluster's added. */
function placed(service: ServiceSpec, cluster: string, place: Partial<ClusterServiceSpec> = {}): ClusterServiceSpec {
  if (!isOnDocker(service) || service.image.kind !== "registry") {
    throw new Error(`services.${service.name}: clusterModel places a service that pulls its image on lab`);
  }
  const { binds, shareGpu, restart, ulimits, hold, ...common } = service;
  const replicas = place.replicas ?? 1;
  return {
    ...common,
    image: service.image,
    host: cluster,
    runsOn: "kubernetes",
    replicas,
    copies: copyIndexes(replicas),
    ...place,
  };
}

/** The problems buildModel finds in a stack "prod" config, as `path: message` lines; none when it builds. */
export function problems(raw: unknown, neighbours?: ReadonlyMap<string, DeploymentModel | Error>): string[] {
  try {
    buildModel(raw, { stack: "prod", neighbours });
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}
