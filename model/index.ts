/**
 * The deployment model: stack config -> one validated, plain, sorted `DeploymentModel` that components, the
 * plan, the compose export and the release tools read, never the raw config.
 *
 * - types: `DeploymentModel`, `ServiceSpec`, `HostSpec`, ... (what every consumer reads)
 * - buildModel: the one producer (the builders buildService, buildImage and the whole-stack check neighbours
 *   are its parts, and each backend's own: docker/ builds the Docker hosts, checks ports, names and GPUs per
 *   daemon and holds the fit rule that resolves a release strategy there; cluster/ builds the clusters, checks what
 *   a service may use on one and names and node ports per cluster, and holds the cluster's fit rule)
 * - load: the model of a stack from its file, checked against its neighbour stacks
 * - perKey: the per-key tables each consumer of `ServiceSpec` writes, checked complete by the compiler
 * - CLUSTER_REFUSALS (cluster/dockerOnlyKeys): why a cluster refuses each key only a Docker host has
 * - healthcheckUrl: the GET a healthcheck makes, if it is a plain one (readiness's default, a cluster's probes)
 * - placement (docker/placement): the GPUs of each copy of a service, as plan and preview print them
 * - readinessText: the readiness check, the hold and what a release costs, as plan and preview print them
 */
export * from "./buildModel";
export { CLUSTER_REFUSALS } from "./cluster/dockerOnlyKeys";
export { gpuLoads, gpuLoadText, placementText } from "./docker/placement";
export * from "./healthcheckUrl";
export * from "./load";
export * from "./perKey";
export * from "./readinessText";
export * from "./types";
