/**
 * The copies of a service on a Docker host (`replicas`): each is a container of its own, on the GPUs the model
 * placed it on. Copy 0 keeps every name the service had with one container (its resource, its container name,
 * its switch route), so that a stack that scales up keeps its running container and one with a single copy
 * deploys what it deployed before there were copies. Copy i adds `-copy<i>` to the names.
 */
import type { CopySpec, DockerServiceSpec, GpuSpec } from "../model";

/** What a copy's names add to the service's, before its index. */
export const COPY_SUFFIX = "-copy";

/** A name of copy `index`: the service's own for copy 0, `<name>-copy<i>` for copy i. */
export function copyName(name: string, index: number): string {
  return index === 0 ? name : `${name}${COPY_SUFFIX}${index}`;
}

/** The service's GPUs as one copy requests them: the devices it was placed on, else the service's own. */
export function copyGpus(gpus: GpuSpec | undefined, copy: CopySpec): GpuSpec | undefined {
  if (!gpus || !copy.deviceIds) return gpus;
  const { count: _count, ...rest } = gpus;
  return { ...rest, deviceIds: [...copy.deviceIds] };
}

/** The spec one copy's container is made from: its own container name and GPUs, the rest the service's. */
export function copySpec<S extends Pick<DockerServiceSpec, "containerName" | "gpus">>(service: S, copy: CopySpec): S {
  if (copy.index === 0 && !copy.deviceIds) return service;
  const gpus = copyGpus(service.gpus, copy);
  return { ...service, containerName: copyName(service.containerName, copy.index), ...(gpus ? { gpus } : {}) };
}

/** The service a copy's name is of (copyName's inverse): `stt-copy2` is stt's, `stt` is stt's own. */
export function serviceOfCopyName(name: string): string {
  return new RegExp(`^(.+)${COPY_SUFFIX}\\d+$`).exec(name)?.[1] ?? name;
}
