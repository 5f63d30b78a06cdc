/**
 * Stack config -> one validated, plain deployment model.
 *
 * `buildModel` is the only place that interprets stack config: the zod schemas (`schema.ts`) check each host
 * and service on its own, the builders here check what needs the whole stack (pins, secrets, host names,
 * neighbour stacks, ports and GPUs per Docker daemon). All problems are collected and thrown as one
 * `StackConfigError` that names the stack, each full key path and what is allowed. Components, plan printouts
 * and other tools read the returned `DeploymentModel` (`specs.ts`) and never the raw config.
 *
 * Nothing here needs the Pulumi runtime.
 */
import { z } from "zod";
import { createContext, type ModelContext } from "./context";
import { checkHosts } from "./hostChecks";
import { buildHostSpec } from "./hostSpec";
import { resolveNeighbours } from "./neighbours";
import { StackConfigError, type ConfigProblem } from "./problems";
import { CONFIG_NAMESPACE, HostSchema, ServiceSchema, StackConfigSchema } from "./schema";
import { buildServiceSpec, checkServiceInStack } from "./serviceSpec";
import { byName } from "./sorted";
import type { DeploymentModel, HostSpec, ServiceSpec } from "./specs";

export { addressOf } from "./hostSpec";
export { formatPath, StackConfigError, type ConfigProblem } from "./problems";
export { durationSeconds } from "./serviceSpec";
export * from "./specs";

export interface BuildModelOptions {
  readonly stack: string;
  readonly project?: string;
  /** Top-level config keys (without namespace) whose values were set with --secret. */
  readonly secretKeys?: ReadonlySet<string>;
  /**
   * The stacks named in `sharesHostsWith`, already built (or the reason they could not be): their use of the
   * shared hosts is checked against this stack's.
   */
  readonly neighbours?: ReadonlyMap<string, DeploymentModel | Error>;
}

type RawObject = Record<string, unknown>;

const asObject = (value: unknown): RawObject =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as RawObject) : {};

/** A top-level key on its own, so one bad key does not hide the value of another. */
function topLevel<K extends keyof typeof StackConfigSchema.shape>(raw: RawObject, key: K) {
  const parsed = StackConfigSchema.shape[key].safeParse(raw[key]);
  return parsed.success ? (parsed.data as z.output<(typeof StackConfigSchema.shape)[K]>) : undefined;
}

/** Each entry of `hosts` or `services` parsed on its own, so one bad entry does not hide the others' problems. */
function parseEntries<T>(ctx: ModelContext, raw: RawObject, key: "hosts" | "services", schema: z.ZodType<T>) {
  const parsed: [string, T][] = [];
  for (const [name, value] of Object.entries(asObject(raw[key]))) {
    const result = schema.safeParse(value);
    if (result.success) parsed.push([name, result.data]);
    else ctx.addZod(result.error, schema, value, [key, name]);
  }
  return parsed;
}

/**
 * Validate raw stack config (the object under the `gpu-services:` namespace, keys without the prefix) and turn
 * it into the deployment model. Throws `StackConfigError` listing every problem.
 */
export function buildModel(raw: unknown, options: BuildModelOptions): DeploymentModel {
  const problems: ConfigProblem[] = [];
  const rawConfig = asObject(raw);
  const secretNames = Object.keys(topLevel(rawConfig, "secrets") ?? {}).sort();
  const ctx = createContext(
    {
      stack: options.stack,
      project: options.project ?? CONFIG_NAMESPACE,
      requirePinned: topLevel(rawConfig, "requirePinnedImages") ?? false,
      secretNames,
      hostNames: Object.keys(asObject(rawConfig.hosts)),
    },
    problems,
    (path) => path[0] === "secrets",
  );

  const top = StackConfigSchema.safeParse(raw);
  if (!top.success) ctx.addZod(top.error, StackConfigSchema, raw, []);
  if (secretNames.length > 0 && options.secretKeys && !options.secretKeys.has("secrets")) {
    ctx.add(["secrets"], `must be set with --secret: pulumi config set --secret --path 'secrets.<name>' <value>`);
  }

  const hosts: HostSpec[] = parseEntries(ctx, rawConfig, "hosts", HostSchema).map(([name, host]) =>
    buildHostSpec(ctx, name, host),
  );
  for (const [name, service] of Object.entries(asObject(rawConfig.services))) {
    checkServiceInStack(ctx, name, asObject(service));
  }
  const services: ServiceSpec[] = parseEntries(ctx, rawConfig, "services", ServiceSchema).map(([name, service]) =>
    buildServiceSpec(ctx, name, service),
  );
  const sharesHostsWith = topLevel(rawConfig, "sharesHostsWith") ?? [];
  checkHosts(ctx, hosts, services, resolveNeighbours(ctx, sharesHostsWith, options.neighbours));

  if (problems.length > 0) throw new StackConfigError(options.stack, problems);
  return {
    project: ctx.project,
    stack: ctx.stack,
    requirePinnedImages: ctx.requirePinned,
    hosts: hosts.sort(byName),
    services: services.sort(byName),
    secretNames,
    sharesHostsWith,
  };
}
