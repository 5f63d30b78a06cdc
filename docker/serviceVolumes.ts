/**
 * A service's mounts: its managed volumes (created here) and external volumes by name, as Docker mounts; host
 * folders as Docker binds, which create a missing host folder as `docker compose` does (the Mount API refuses
 * one: "bind source path does not exist"), so a fresh server needs no hand-made folder.
 */
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { LABEL_PREFIX } from "../formats";
import { type BindSpec, type VolumeSpec } from "../model";

export interface ServiceMounts {
  /** The volumes this service manages (external ones are referred to by name only). */
  readonly volumes: docker.Volume[];
  /** Named volumes, managed and external. */
  readonly mounts: pulumi.Input<docker.types.input.ContainerMount>[];
  /** Host folders (the container's `volumes` input: Docker binds). */
  readonly binds: docker.types.input.ContainerVolume[];
}

/**
 * Managed volumes are protected and kept on delete as their spec says (by default both), so neither a
 * replacement nor `pulumi destroy` loses a model cache.
 */
export function volumeMounts(
  name: string,
  stack: string,
  volumes: readonly VolumeSpec[],
  binds: readonly BindSpec[],
  opts: { parent: pulumi.Resource; provider: docker.Provider },
): ServiceMounts {
  const created: docker.Volume[] = [];
  const mounts: pulumi.Input<docker.types.input.ContainerMount>[] = [];
  for (const volume of volumes) {
    let source: pulumi.Input<string> = volume.name;
    if (!volume.external) {
      const managed = new docker.Volume(
        `${name}-volume-${volume.name}`,
        {
          name: volume.name,
          labels: [
            { label: `${LABEL_PREFIX}service`, value: name },
            { label: `${LABEL_PREFIX}stack`, value: stack },
          ],
        },
        { ...opts, protect: volume.protect, retainOnDelete: volume.retainOnDelete },
      );
      created.push(managed);
      source = managed.name;
    }
    mounts.push({ type: "volume", source, target: volume.target, readOnly: volume.readOnly });
  }
  const hostFolders = binds.map((bind) => ({
    hostPath: bind.source,
    containerPath: bind.target,
    readOnly: bind.readOnly,
  }));
  return { volumes: created, mounts, binds: hostFolders };
}
