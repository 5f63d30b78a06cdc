/**
 * The deployment model: stack config -> one validated, plain, sorted `DeploymentModel` that components, the
 * plan, the compose export and the release tools read, never the raw config.
 *
 * - types: `DeploymentModel`, `ServiceSpec`, `HostSpec`, ... (what every consumer reads)
 * - buildModel: the one producer (the builders buildHost, buildCluster, buildService, buildImage and the
 *   whole-stack checks hostChecks, clusterChecks, neighbours and releasePlan, the fit rule that resolves each
 *   release strategy on a Docker host or a cluster, are its parts)
 * - load: the model of a stack from its file, checked against its neighbour stacks
 * - perKey: the per-key tables each consumer of `ServiceSpec` writes, checked complete by the compiler
 * - healthcheckUrl: the GET a healthcheck makes, if it is a plain one (readiness's default, a cluster's probes)
 * - readinessText: the readiness check, the hold and what a release costs, as plan and preview print them
 */
export * from "./buildModel";
export * from "./healthcheckUrl";
export * from "./load";
export * from "./perKey";
export * from "./readinessText";
export * from "./types";
