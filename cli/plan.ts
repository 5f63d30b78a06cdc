/**
 * `gpu-services plan [-s <stack>] [--json]` (alias: `npm run plan -- [--stack <stack...>] [--json]`): the desired
 * state of stacks, read from their Pulumi.<stack>.yaml through the same validated model the Pulumi program uses;
 * every stack of the project folder when none is named. Needs no Pulumi CLI, no credentials, no Docker.
 */
import { addressForPort, MIB } from "../formats";
import {
  type ClusterSpec,
  type DeploymentModel,
  type SchedulingSpec,
  type ServiceSpec,
  carriedWith,
  isOnCluster,
  isOnDocker,
  carry,
  notCarried,
  type PerKey,
  listStacks,
  loadStackModel,
  probeLine,
  readinessLine,
  releaseCostLine,
  unusedReadinessLine,
  gpuLoads,
  gpuLoadText,
  placementText,
} from "../model";
import { EXIT } from "./errors";
import { cliProgram, failureOf, runCliSync, stackFilePath, type CliDeps } from "./common";

function imageOf(s: ServiceSpec): string {
  return s.image.kind === "registry" ? `pull ${s.image.ref}` : `build ${s.image.location}`;
}

type Row = Readonly<Record<string, string>>;

/** Node placement as one line: `nodeSelector k=v; tolerations key:effect op=Exists; runtimeClassName nvidia`. */
function schedulingText(scheduling: SchedulingSpec): string {
  const parts: string[] = [];
  const selector = Object.entries(scheduling.nodeSelector).map(([key, value]) => `${key}=${value}`);
  if (selector.length > 0) parts.push(`nodeSelector ${selector.join(",")}`);
  const tolerations = scheduling.tolerations.map(
    (t) =>
      `${t.key ?? "(every key)"}${t.value ? `=${t.value}` : ""}${t.effect ? `:${t.effect}` : ""}` +
      (t.operator === "Exists" ? " op=Exists" : ""),
  );
  if (tolerations.length > 0) parts.push(`tolerations ${tolerations.join(", ")}`);
  if (scheduling.runtimeClassName) parts.push(`runtimeClassName ${scheduling.runtimeClassName}`);
  return parts.join("; ");
}

/** A service as the plan reads it: its spec, and whether a switch stands in front of it (a Docker host's, in a stack with one). */
export type PlannedService = ServiceSpec & { readonly behindSwitch: boolean };

/** A column of what only a service on a Docker host has: for a cluster service, `other`. */
function dockerColumn(
  column: (s: Extract<PlannedService, { runsOn: "docker" }>) => Row,
  other: Row = {},
): (s: PlannedService) => Row {
  return (s) => (isOnDocker(s) ? column(s) : other);
}

/** A column of what only a service on a cluster has: none for a service on a Docker host. */
function clusterColumn(
  column: (s: Extract<PlannedService, { runsOn: "kubernetes" }>) => Row,
): (s: PlannedService) => Row {
  return (s) => (isOnCluster(s) ? column(s) : {});
}

/**
 * The readiness check and the hold: behind a switch one line; on a Docker host without one, the check and what a
 * release costs now and with the switch; on a cluster a declared check only (the pods' probe; nothing holds there).
 */
function readinessRows(s: PlannedService): Row {
  if (isOnCluster(s)) {
    return s.readiness?.kind === "http" && s.readiness.source === "declared" ? { readiness: probeLine(s) } : {};
  }
  if (s.behindSwitch) return { readiness: readinessLine(s) };
  return { readiness: unusedReadinessLine(s), releaseCost: releaseCostLine(s) };
}

const NOT_PLACEMENT = "the plan shows where a service runs and what it takes of the host, not how it is configured";

/** The plan's columns, per key of the spec, in the order they are printed. */
export const PLAN_COLUMNS = {
  name: (s) => ({ service: s.name }),
  host: (s) => ({ host: s.host }),
  // Rows a Docker service does not have: a cluster service says where it runs, how many pods, placed where.
  runsOn: clusterColumn(() => ({ runsOn: "kubernetes" })),
  // A Docker service's copies show where there are several: one copy is what a Docker host always ran.
  replicas: (s): Row => (isOnCluster(s) || s.replicas >= 2 ? { replicas: String(s.replicas) } : {}),
  copies: dockerColumn((s): Row => {
    const text = placementText(s);
    return text ? { placement: text } : {};
  }),
  scheduling: clusterColumn((s): Row => (s.scheduling ? { scheduling: schedulingText(s.scheduling) } : {})),
  containerName: (s) => ({ container: s.containerName }),
  image: (s) => ({ image: imageOf(s) }),
  ports: (s) => ({
    ports: s.ports
      .map(
        (p) => `${p.hostIp === "0.0.0.0" ? "" : `${addressForPort(p.hostIp)}:`}${p.host}->${p.container}/${p.protocol}`,
      )
      .join(" "),
  }),
  gpus: (s) => ({
    gpus: s.gpus
      ? (s.gpus.deviceIds ? `devices ${s.gpus.deviceIds.join(",")}` : String(s.gpus.count)) +
        (s.gpus.memoryGiB !== undefined ? `, ${s.gpus.memoryGiB} GiB each` : "")
      : "-",
  }),
  volumes: (s) => ({
    volumes: s.volumes.map((v) => `${v.name}:${v.target}${v.external ? " (external)" : ""}`).join(" ") || "-",
  }),
  binds: dockerColumn(
    (s) => ({ binds: s.binds.map((b) => `${b.source}:${b.target}${b.readOnly ? ":ro" : ""}`).join(" ") || "-" }),
    { binds: "-" },
  ),
  healthcheck: (s) => ({ healthcheck: s.healthcheck ? s.healthcheck.test.join(" ") : "-" }),
  entrypoint: (s): Row => (s.entrypoint ? { entrypoint: s.entrypoint.join(" ") } : {}),
  shmSizeBytes: (s): Row => (s.shmSizeBytes !== undefined ? { shm: `${s.shmSizeBytes / MIB}m` } : {}),
  ipc: (s): Row => (s.ipc ? { ipc: s.ipc } : {}),
  cpus: (s): Row => (s.cpus !== undefined ? { cpus: String(s.cpus) } : {}),
  ulimits: dockerColumn((s): Row =>
    s.ulimits
      ? {
          ulimits: Object.entries(s.ulimits)
            .map(([name, l]) => `${name}=${l.soft === l.hard ? l.soft : `${l.soft}:${l.hard}`}`)
            .join(" "),
        }
      : {},
  ),
  env: notCarried(`${NOT_PLACEMENT}; export-compose writes it`),
  secretEnv: notCarried(`${NOT_PLACEMENT}; export-compose writes the names`),
  shareGpu: notCarried("a rule of the GPU accounting, which buildModel has checked; the gpus column shows the request"),
  restart: notCarried(NOT_PLACEMENT),
  command: notCarried(NOT_PLACEMENT),
  user: notCarried(NOT_PLACEMENT),
  labels: notCarried(NOT_PLACEMENT),
  scheme: notCarried("the endpoint URL is a stack output (pulumi stack output, npm run summary)"),
  endpoint: carriedWith("ports"),
  stopGraceSeconds: notCarried(NOT_PLACEMENT),
  release: (s) => ({ release: s.release.reason }),
  readiness: readinessRows,
  hold: carriedWith("readiness"),
} satisfies PerKey<ServiceSpec, Row, PlannedService>;

/** One row per service, in the order of the model. */
export function planRows(model: DeploymentModel): Record<string, string>[] {
  return model.services.map((s) =>
    Object.assign({}, ...carry(PLAN_COLUMNS, { ...s, behindSwitch: model.switch !== undefined })),
  );
}

/**
 * Each host's GPUs after placement, where a service on it has several copies on GPUs: what each GPU holds of this
 * stack's services (the neighbour stacks' are counted by the placement, not listed here) and what is free.
 */
export function gpuLines(model: DeploymentModel): Record<string, string[]> {
  const lines: Record<string, string[]> = {};
  const docker = model.services.filter(isOnDocker);
  for (const host of model.hosts) {
    const here = docker.filter((s) => s.host === host.name);
    if (!here.some((s) => s.replicas >= 2 && s.gpus)) continue;
    const loads = gpuLoads(
      host,
      here.map((service) => ({ service })),
    );
    if (!("missing" in loads)) lines[host.name] = loads.map(gpuLoadText);
  }
  return lines;
}

/** A cluster's line: where its objects go, how clients reach them, what the fit rule knows. */
function clusterLine(c: ClusterSpec): string {
  const kubeconfig = c.kubeconfigSecret
    ? `the kubeconfig in secrets.${c.kubeconfigSecret}`
    : "the operator's kubeconfig";
  const reach = c.address ? ` (clients reach it at ${c.address})` : "";
  const spare = c.spareGpus === undefined ? "spare GPUs not declared" : `${c.spareGpus} spare GPUs`;
  const claims = `${c.volumeAccessMode} claims of ${c.volumeSize}${c.storageClassName ? ` (${c.storageClassName})` : ""}`;
  return (
    `cluster ${c.name}: namespace ${c.namespace}, ${c.context ? `context ${c.context}` : "the current context"} of ` +
    `${kubeconfig}; ${c.serviceType}${reach}; ${spare}; ${claims}`
  );
}

export function renderPlan(model: DeploymentModel): string {
  const lines = [`stack ${model.stack}${model.requirePinnedImages ? " (pinned images required)" : ""}`];
  const gpus = gpuLines(model);
  for (const h of model.hosts) {
    lines.push(`host ${h.name}: ${h.dockerHost} (clients reach it at ${h.address})`);
    for (const line of gpus[h.name] ?? []) lines.push(`  ${line}`);
  }
  for (const c of model.clusters) lines.push(clusterLine(c));
  for (const row of planRows(model)) {
    lines.push("");
    for (const [k, v] of Object.entries(row)) lines.push(`  ${k.padEnd(12)} ${v}`);
  }
  return lines.join("\n");
}

export function main(argv: string[], deps: CliDeps = {}): number {
  const { program, out, err, dir } = cliProgram(
    "plan",
    "Print the desired state of stacks from their Pulumi.<stack>.yaml (no Pulumi CLI needed)",
    deps,
  );
  const failures: number[] = [];
  program
    .option("--stack <stack...>", "stacks to print (default: every Pulumi.<stack>.yaml in the project folder)")
    .option("--json", "print JSON for scripts")
    .action((opts: { stack?: string[]; json?: boolean }) => {
      const models: DeploymentModel[] = [];
      for (const stack of opts.stack ?? listStacks(dir)) {
        try {
          stackFilePath(dir, stack);
          models.push(loadStackModel(stack, dir));
        } catch (error) {
          // The other stacks are still printed; the exit code is the first failure's.
          const failure = failureOf(error);
          failures.push(failure.code);
          err(`plan: ${failure.message}`);
        }
      }
      if (opts.json)
        out(
          JSON.stringify(
            models.map((m) => {
              const gpus = gpuLines(m);
              return { stack: m.stack, services: planRows(m), ...(Object.keys(gpus).length > 0 ? { gpus } : {}) };
            }),
            null,
            2,
          ),
        );
      else out(models.map(renderPlan).join("\n\n"));
    });
  const code = runCliSync(program, argv, err);
  return code === EXIT.ok && failures.length > 0 ? failures[0] : code;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
