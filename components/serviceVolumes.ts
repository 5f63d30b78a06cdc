/** A service's mounts: its managed volumes (created here), external volumes by name, and host binds. */
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { LABEL_PREFIX, type BindSpec, type VolumeSpec } from "../config/specs";

export interface ServiceMounts {
  /** The volumes this service manages (external ones are referred to by name only). */
  readonly volumes: docker.Volume[];
  readonly mounts: pulumi.Input<docker.types.input.ContainerMount>[];
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
  for (const bind of binds)
    mounts.push({ type: "bind", source: bind.source, target: bind.target, readOnly: bind.readOnly });
  return { volumes: created, mounts };
}
