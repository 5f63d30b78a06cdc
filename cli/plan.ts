/**
 * `npm run plan -- [--stack <stack>] [--json]`: the desired state of a stack, read from its Pulumi.<stack>.yaml
 * through the same validated model the Pulumi program uses. Needs no Pulumi CLI, no credentials, no Docker.
 */
import { addressForPort, MIB } from "../formats";
import {
  type DeploymentModel,
  type ServiceSpec,
  carriedWith,
  carry,
  notCarried,
  type PerKey,
  loadStackModel,
} from "../model";
import { EXIT } from "./errors";
import { cliProgram, failureOf, runCliSync, stackFilePath, type CliDeps } from "./common";

function imageOf(s: ServiceSpec): string {
  return s.image.kind === "registry" ? `pull ${s.image.ref}` : `build ${s.image.location}`;
}

type Row = Readonly<Record<string, string>>;

const NOT_PLACEMENT = "the plan shows where a service runs and what it takes of the host, not how it is configured";

/** The plan's columns, per key of the spec, in the order they are printed. */
export const PLAN_COLUMNS = {
  name: (s) => ({ service: s.name }),
  host: (s) => ({ host: s.host }),
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
  binds: (s) => ({ binds: s.binds.map((b) => `${b.source}:${b.target}${b.readOnly ? ":ro" : ""}`).join(" ") || "-" }),
  healthcheck: (s) => ({ healthcheck: s.healthcheck ? s.healthcheck.test.join(" ") : "-" }),
  entrypoint: (s): Row => (s.entrypoint ? { entrypoint: s.entrypoint.join(" ") } : {}),
  shmSizeBytes: (s): Row => (s.shmSizeBytes !== undefined ? { shm: `${s.shmSizeBytes / MIB}m` } : {}),
  ipc: (s): Row => (s.ipc ? { ipc: s.ipc } : {}),
  cpus: (s): Row => (s.cpus !== undefined ? { cpus: String(s.cpus) } : {}),
  ulimits: (s): Row =>
    s.ulimits
      ? {
          ulimits: Object.entries(s.ulimits)
            .map(([name, l]) => `${name}=${l.soft === l.hard ? l.soft : `${l.soft}:${l.hard}`}`)
            .join(" "),
        }
      : {},
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
  runsOn: notCarried("the host column names the host; a cluster's services are placed by its scheduler"),
  replicas: notCarried("a cluster's Deployment says it; the plan of Docker hosts has one container each"),
  scheduling: notCarried("a cluster's scheduler reads it; the plan of Docker hosts has no node placement"),
} satisfies PerKey<ServiceSpec, Row>;

/** One row per service, in the order of the model. */
export function planRows(model: DeploymentModel): Record<string, string>[] {
  return model.services.map((s) => Object.assign({}, ...carry(PLAN_COLUMNS, s)));
}

export function renderPlan(model: DeploymentModel): string {
  const lines = [`stack ${model.stack}${model.requirePinnedImages ? " (pinned images required)" : ""}`];
  for (const h of model.hosts) lines.push(`host ${h.name}: ${h.dockerHost} (clients reach it at ${h.address})`);
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
    .option("--stack <stack...>", "stacks to print", ["prod", "test"])
    .option("--json", "print JSON for scripts")
    .action((opts: { stack: string[]; json?: boolean }) => {
      const models: DeploymentModel[] = [];
      for (const stack of opts.stack) {
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
            models.map((m) => ({ stack: m.stack, services: planRows(m) })),
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
