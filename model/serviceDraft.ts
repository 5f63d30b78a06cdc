/** A service's spec as the checks across a stack's services read it, before the fit rules have run. */
import type { ClusterServiceSpec, DockerServiceSpec, ImageSpec, ReleaseSpec } from "./types";

/** What the config asks of a release; the strategy is resolved by the fit rules (docker/fitRule.ts, cluster/fitRule.ts). */
export type ReleaseRequest = Pick<ReleaseSpec, "requested" | "drainSeconds">;

/**
 * A service's spec before the fit rule has resolved its release and, on a cluster, before its image is known to be
 * a pull (a build there is refused, and its image kept until the problems are thrown): what the whole-stack
 * checks read.
 */
type Draft<Spec> = Spec extends unknown
  ? Omit<Spec, "release" | "image"> & { readonly release: ReleaseRequest; readonly image: ImageSpec }
  : never;
export type DockerServiceDraft = Draft<DockerServiceSpec>;
export type ClusterServiceDraft = Draft<ClusterServiceSpec>;
export type ServiceDraft = DockerServiceDraft | ClusterServiceDraft;
