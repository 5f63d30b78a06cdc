/** A service's image: pulled from a registry (`docker.RemoteImage`) or built by BuildKit on the host. */
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import type { BuildImageSpec, ImageSpec, RegistryImageSpec } from "../model";
import type { DockerHost } from "./dockerHost";

export interface ServiceImage {
  /** The image resource, which the container depends on. */
  readonly resource: docker.RemoteImage | dockerbuild.Image;
  /** What the container runs. */
  readonly containerImage: pulumi.Output<string>;
  /** Changes exactly when the image changes: recorded in a label. */
  readonly identity: pulumi.Output<string>;
  /** The image actually deployed: `repository@sha256:…` for pulls, `tag@sha256:…` for builds. */
  readonly ref: pulumi.Output<string>;
  /** The release as configured: the ref pulled, or the build's `url#commit`. */
  readonly release: pulumi.Input<string>;
}

function pullImage(name: string, image: RegistryImageSpec, host: DockerHost, parent: pulumi.Resource): ServiceImage {
  const provider = host.provider;
  // A tracked tag is resolved to its current digest at every preview and up, and pulled by that digest: when the
  // tag moves the image name changes, so `latest` never silently stays stale.
  const pulled: pulumi.Input<string> = image.track
    ? pulumi.interpolate`${image.repository}@${
        docker.getRegistryImageOutput({ name: image.ref }, { parent, provider }).sha256Digest
      }`
    : image.ref;
  const remote = new docker.RemoteImage(`${name}-image`, { name: pulled, keepLocally: true }, { parent, provider });
  return {
    resource: remote,
    // The image ID changes exactly when the pulled image changes, and it is what the container's state holds, so
    // the container is replaced on a new image and left alone otherwise.
    containerImage: remote.imageId,
    identity: remote.imageId,
    ref: image.digest || image.track ? pulumi.output(pulled) : remote.repoDigest,
    release: pulled,
  };
}

function buildImage(name: string, image: BuildImageSpec, host: DockerHost, parent: pulumi.Resource): ServiceImage {
  if (!host.buildProvider) {
    throw new Error(`GpuService ${name} builds its image, but its DockerHost was created without builds: true`);
  }
  const built = new dockerbuild.Image(
    `${name}-image`,
    {
      context: { location: image.location },
      ...(image.contextKind === "local"
        ? { dockerfile: { location: path.join(image.location, image.dockerfile) } }
        : {}),
      ...(Object.keys(image.args).length > 0 ? { buildArgs: { ...image.args } } : {}),
      ...(image.target ? { target: image.target } : {}),
      noCache: image.noCache,
      tags: image.extraTag ? [image.localTag, image.extraTag] : [image.localTag],
      push: false,
      load: true,
      // Previews run on every pull request: they must not start multi-GB GPU image builds on the server.
      buildOnPreview: false,
    },
    { parent, provider: host.buildProvider },
  );
  return {
    resource: built,
    containerImage: built.ref,
    identity: built.digest,
    ref: pulumi.all([built.ref, built.digest]).apply(([ref, digest]) => (digest ? `${image.localTag}@${digest}` : ref)),
    release: image.location,
  };
}

/** The image resource of service `name`, a child of `parent`, on `host`'s providers. */
export function createImage(name: string, image: ImageSpec, host: DockerHost, parent: pulumi.Resource): ServiceImage {
  return image.kind === "registry" ? pullImage(name, image, host, parent) : buildImage(name, image, host, parent);
}
