/**
 * Which containers `logs` reads on a host: a service's copies (all, or the copy of one release: `old` and `new`
 * during a blue-green release, or a release by value), the switch, or the last push (the one-shot container that
 * carried the routing to the switch, kept until the next `up` replaces it, with the logs of a copy it removed).
 */
import type { DeploymentModel, ServiceSpec } from "../../model";
import { LABEL_PREFIX, switchName } from "../../formats";
import type { ContainerView } from "../hostSnapshot";

export type LogScope =
  | {
      readonly kind: "services";
      /** One service by name; undefined: every Docker service of the stack. */
      readonly service?: string;
      /** `old`, `new`, or a release (a part of its `gpu-services.release` label: a tag, a digest, a commit). */
      readonly release?: string;
    }
  | { readonly kind: "switch" }
  | { readonly kind: "push" };

/** The containers of a service on its host: its fixed name, or its labels (a blue-green release has two). */
function copiesOf(containers: readonly ContainerView[], stack: string, service: ServiceSpec): ContainerView[] {
  return containers.filter(
    (c) =>
      c.name === service.containerName ||
      (c.labels[`${LABEL_PREFIX}stack`] === stack && c.labels[`${LABEL_PREFIX}service`] === service.name),
  );
}

/** The newest copy is the one started last; during a blue-green release it is the new release's. */
const byStart = (a: ContainerView, b: ContainerView) => a.startedAt.localeCompare(b.startedAt);

function ofRelease(copies: ContainerView[], release: string | undefined): ContainerView[] {
  const sorted = [...copies].sort(byStart);
  if (release === undefined) return sorted;
  if (release === "new") return sorted.slice(-1);
  if (release === "old") return sorted.slice(0, -1);
  return sorted.filter((c) => (c.labels[`${LABEL_PREFIX}release`] ?? "").includes(release));
}

/** The last push on the host: the newest container running `/gpu-switch apply` with the stack's label. */
function lastPush(containers: readonly ContainerView[], stack: string): ContainerView[] {
  const pushes = containers
    .filter(
      (c) => c.labels[`${LABEL_PREFIX}stack`] === stack && c.command[0] === "/gpu-switch" && c.command[1] === "apply",
    )
    .sort(byStart);
  return pushes.slice(-1);
}

/** The names of the containers in scope among a host's containers. */
export function scopeContainers(
  model: DeploymentModel,
  host: string,
  containers: readonly ContainerView[],
  scope: LogScope,
): string[] {
  switch (scope.kind) {
    case "switch":
      return containers.filter((c) => c.name === switchName(model.stack)).map((c) => c.name);
    case "push":
      return lastPush(containers, model.stack).map((c) => c.name);
    case "services":
      return model.services
        .filter((s) => s.runsOn === "docker" && s.host === host && (scope.service ?? s.name) === s.name)
        .flatMap((s) => ofRelease(copiesOf(containers, model.stack, s), scope.release))
        .map((c) => c.name);
  }
}

/** The hosts a scope reads: the service's host, or every Docker host of the stack. */
export function scopeHosts(model: DeploymentModel, scope: LogScope): string[] {
  if (scope.kind === "services" && scope.service !== undefined) {
    const service = model.services.find((s) => s.name === scope.service);
    return service ? [service.host] : [];
  }
  return model.hosts.map((h) => h.name);
}
