/**
 * The fit rule on a cluster (docs/design/blue-green-releases.md §8): per service, blue-green or stop-then-start,
 * and why. The scheduler places the pods: blue-green is a RollingUpdate with one surge pod
 * (`maxSurge: 1, maxUnavailable: 0`), stop-then-start a Recreate. What a surge pod needs is its `gpus.count`, and
 * what is known of the room for it is `kubernetes.spareGpus`: `auto` rolls a GPU service only where the surge pods
 * of every rolling service of the cluster fit in it together, decided one by one in name order as on a daemon
 * (docker/fitRule.ts).
 *
 * Pure: reads specs, records problems for explicit `blue-green` that cannot be honoured.
 */
import type { ModelContext } from "../context";
import type { ClusterServiceDraft } from "../serviceDraft";
import { managedClaims, ONE_POD } from "./clusterChecks";
import { byName } from "../sorted";
import type { ClusterSpec, ReleaseSpec, ReleaseStrategy } from "../types";

/** GPUs one surge pod of a cluster service asks for (a number there: deviceIds and "all" are refused). */
function surgeGpus(service: ClusterServiceDraft): number {
  return typeof service.gpus?.count === "number" ? service.gpus.count : 0;
}

const gpuWord = (n: number) => `GPU${n === 1 ? "" : "s"}`;

/** The surge sum of a candidate beside the services counted as rolling, as the reason prints it. */
function surgeSum(
  candidate: ClusterServiceDraft,
  rolling: readonly ClusterServiceDraft[],
  cluster: ClusterSpec,
): { fits: boolean; text: string } {
  const own = surgeGpus(candidate);
  let sum = own;
  let text = `${own} surge ${gpuWord(own)}`;
  for (const other of [...rolling].sort(byName)) {
    if (other === candidate || surgeGpus(other) === 0) continue;
    sum += surgeGpus(other);
    text += ` + ${other.name} ${surgeGpus(other)}`;
  }
  const fits = sum <= cluster.spareGpus!;
  return { fits, text: `${text} = ${sum} ${fits ? "≤" : ">"} ${cluster.spareGpus} spare on ${cluster.name}` };
}

/**
 * Where the pods that mount a ReadWriteOnce claim at once (its replicas, and a surge pod under blue-green) must run:
 * on the one node the claim is attached to, which `spareGpus` (a count over the cluster) does not say. Empty where
 * at most one pod mounts it.
 */
function oneNodeNote(service: ClusterServiceDraft, strategy: ReleaseStrategy, cluster: ClusterSpec): string {
  const claims = cluster.volumeAccessMode === "ReadWriteOnce" ? managedClaims(service) : [];
  const surge = strategy === "blue-green";
  const together = service.replicas + (surge ? 1 : 0);
  if (claims.length === 0 || together < 2) return "";
  const pods = [`${service.replicas} replica${service.replicas === 1 ? "" : "s"}`, ...(surge ? ["a surge pod"] : [])];
  const gpus = surgeGpus(service);
  const free = surge && gpus > 0 ? `, the surge pod's ${gpus} ${gpuWord(gpus)} free there` : "";
  return (
    `; claim "${claims[0]}" is ReadWriteOnce: its ${together} pods at once (${pods.join(" and ")}) must run on ` +
    `the node it is attached to${free} (local-path storage, bound to a node, places them so; on a network block ` +
    `store they fail with Multi-Attach: set hosts.${cluster.name}.kubernetes.volumeAccessMode to ReadWriteMany ` +
    "where the storage provides it)"
  );
}

/**
 * An explicit `blue-green`'s reason. A claim only one pod may mount, no healthcheck, or a surge pod that does not
 * fit the declared spare GPUs beside the other explicit ones (`explicit`) are problems.
 */
function explicitBlueGreen(
  ctx: ModelContext,
  service: ClusterServiceDraft,
  cluster: ClusterSpec,
  explicit: readonly ClusterServiceDraft[],
  onePod: readonly string[],
): string {
  const at = ["services", service.name, "release", "strategy"];
  const or = "or set it to auto or stop-then-start";
  if (onePod.length > 0) {
    ctx.add(
      at,
      `blue-green cannot roll: its surge pod would mount claim "${onePod[0]}" beside the old pod, and ` +
        `hosts.${cluster.name}.kubernetes.volumeAccessMode is ${ONE_POD}; set it to auto or ` +
        "stop-then-start, or set volumeAccessMode to ReadWriteMany (storage that provides it) or ReadWriteOnce",
    );
  }
  if (!service.healthcheck) {
    ctx.add(
      at,
      `blue-green needs a healthcheck: set services.${service.name}.healthcheck (a rolling update moves ` +
        `traffic only to a ready pod), ${or}`,
    );
  }
  if (!service.gpus) return "no GPU";
  if (cluster.spareGpus === undefined) {
    return (
      `asked for (services.${service.name}.release.strategy); ${cluster.name}: spareGpus is not set, so the ` +
      "surge pod waits for a GPU the scheduler finds"
    );
  }
  const sum = surgeSum(service, explicit, cluster);
  if (!sum.fits) {
    ctx.add(
      at,
      `blue-green does not fit its surge pod: ${sum.text}; every blue-green service may surge one pod in the ` +
        `same up; ask for fewer GPUs, raise hosts.${cluster.name}.kubernetes.spareGpus, ${or}`,
    );
  }
  return sum.text;
}

/**
 * What `auto` resolves to, with its reason: blue-green where the service can roll and its surge pod fits beside
 * those counted in `rolling`, which it then joins.
 */
function autoRelease(
  service: ClusterServiceDraft,
  cluster: ClusterSpec,
  rolling: ClusterServiceDraft[],
  onePod: readonly string[],
): [ReleaseStrategy, string] {
  if (onePod.length > 0) {
    return [
      "stop-then-start",
      `claim "${onePod[0]}" is ReadWriteOncePod on ${cluster.name} (one pod at a time: no surge pod)`,
    ];
  }
  if (!service.healthcheck) {
    return [
      "stop-then-start",
      `no healthcheck: services.${service.name}.healthcheck is not set (a rolling update waits for a ready pod)`,
    ];
  }
  if (!service.gpus) return ["blue-green", "no GPU"];
  if (cluster.spareGpus === undefined) return ["stop-then-start", `${cluster.name}: spareGpus is not set`];
  const sum = surgeSum(service, rolling, cluster);
  if (sum.fits) rolling.push(service);
  return [sum.fits ? "blue-green" : "stop-then-start", sum.text];
}

/**
 * The resolved release of every service on a cluster, by name. An explicit `blue-green` needs a healthcheck (the
 * readiness probe the rollout waits for) and, where `spareGpus` is declared, must fit with every explicit
 * blue-green service's surge pod; where it is not declared, the surge pod waits for a GPU the scheduler finds
 * (and `pulumi up` fails within its bound if none is freed), the old pods serving meanwhile.
 */
export function planClusterReleases(
  ctx: ModelContext,
  clusters: readonly ClusterSpec[],
  services: readonly ClusterServiceDraft[],
): Map<string, ReleaseSpec> {
  const plans = new Map<string, ReleaseSpec>();
  for (const cluster of clusters) {
    const onCluster = services.filter((s) => s.host === cluster.name).sort(byName);
    const explicit = onCluster.filter((s) => s.release.requested === "blue-green");
    const rolling: ClusterServiceDraft[] = [...explicit];
    for (const service of onCluster) {
      const { requested } = service.release;
      // A surge pod would wait for the old pod's claim, which the old pod holds until the rollout ends.
      const onePod = cluster.volumeAccessMode === "ReadWriteOncePod" ? managedClaims(service) : [];
      const [strategy, why]: [ReleaseStrategy, string] =
        requested === "stop-then-start"
          ? [requested, `asked for (services.${service.name}.release.strategy)`]
          : requested === "blue-green"
            ? ["blue-green", explicitBlueGreen(ctx, service, cluster, explicit, onePod)]
            : autoRelease(service, cluster, rolling, onePod);
      plans.set(service.name, {
        requested,
        strategy,
        reason: `${service.name}: ${strategy}: ${why}${oneNodeNote(service, strategy, cluster)}`,
        drainSeconds: service.release.drainSeconds,
      });
    }
  }
  return plans;
}
