/**
 * Which release a container runs against what config says: its `gpu-services.*` labels (what `pulumi up` wrote)
 * and, for pulled images, the image it really runs (a `docker run` by hand of another image under the name has
 * other labels, or none).
 */
import { type ServiceSpec } from "../model";
import { LABEL_PREFIX } from "../formats";
import type { ContainerView } from "./hostSnapshot";

export type ReleaseState = "in-sync" | "drifted" | "not-deployed" | "unknown";

export interface ReleaseComparison {
  readonly state: ReleaseState;
  /** What config says runs: the pulled ref or the build's `url#commit` (`repository@…` for a tracked tag). */
  readonly expected: string;
  /** What the container's labels say runs, when it has them. */
  readonly running?: string;
  /** One line per difference, naming it. */
  readonly differences: readonly string[];
}

/** The release label config leads to (see docker/serviceImage.ts). */
export function expectedRelease(service: ServiceSpec): string {
  const image = service.image;
  if (image.kind === "build") return image.location;
  return image.track ? `${image.repository}@<digest of ${image.tag ?? "latest"}>` : image.ref;
}

function releaseMatches(service: ServiceSpec, label: string): boolean {
  const image = service.image;
  if (image.kind === "registry" && image.track) return label.startsWith(`${image.repository}@sha256:`);
  return label === expectedRelease(service);
}

/** The differences between one container and the service's config; `repoDigests` are its image's. */
export function differences(
  service: ServiceSpec,
  stack: string,
  container: ContainerView,
  repoDigests: readonly string[] | undefined,
): string[] {
  const labels = container.labels;
  const release = labels[`${LABEL_PREFIX}release`];
  if (labels[`${LABEL_PREFIX}stack`] === undefined || release === undefined) {
    return [`${container.name} has no gpu-services labels: not started by pulumi up (runs ${container.imageName})`];
  }
  const found: string[] = [];
  if (labels[`${LABEL_PREFIX}stack`] !== stack)
    found.push(`stack label: ${labels[`${LABEL_PREFIX}stack`]}, not ${stack}`);
  if (!releaseMatches(service, release))
    found.push(`release: runs ${release}, config says ${expectedRelease(service)}`);
  const image = service.image;
  if (image.kind === "registry") {
    const labelled = labels[`${LABEL_PREFIX}image`];
    if (labelled && labelled !== container.imageId) {
      found.push(`image: runs ${container.imageId.slice(0, 19)}, its label says ${labelled.slice(0, 19)}`);
    }
    if (image.digest && repoDigests && !repoDigests.includes(`${image.repository}@${image.digest}`)) {
      found.push(`image digest: ${image.digest} is not the image it runs (${repoDigests.join(", ") || "no digest"})`);
    }
  }
  return found;
}

export function compareRelease(
  service: ServiceSpec,
  stack: string,
  primary: ContainerView | undefined,
  repoDigests: readonly string[] | undefined,
): ReleaseComparison {
  const expected = expectedRelease(service);
  if (!primary) return { state: "not-deployed", expected, differences: [`no container ${service.containerName}`] };
  const running = primary.labels[`${LABEL_PREFIX}release`];
  const found = differences(service, stack, primary, repoDigests);
  return {
    state: found.length > 0 ? "drifted" : "in-sync",
    expected,
    ...(running !== undefined ? { running } : {}),
    differences: found,
  };
}
