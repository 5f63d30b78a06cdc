/**
 * Stack config -> one validated, plain deployment model.
 *
 * `buildModel` is the only place that interprets stack config: the zod schemas (`schema.ts`) check each host
 * and service on its own, the builders here check what needs the whole stack (pins, secrets, host names,
 * neighbour stacks, ports and GPUs per Docker daemon, what a service may use on its kind of host, names and node
 * ports per cluster). All problems are collected and thrown as one
 * `StackConfigError` that names the stack, each full key path and what is allowed. Components, plan printouts
 * and other tools read the returned `DeploymentModel` (`specs.ts`) and never the raw config.
 *
 * Nothing here needs the Pulumi runtime.
 */
import { z } from "zod";
import { createContext, type ModelContext } from "./context";
import { checkHosts } from "./docker/hostChecks";
import { buildHostSpec } from "./docker/buildHost";
import { buildClusterSpec } from "./cluster/buildCluster";
import { checkClusters } from "./cluster/clusterChecks";
import { resolveNeighbours } from "./neighbours";
import { asPlainObject, isPlainObject, parsePath, secretNameFor, type PlainObject } from "../formats";
import {
  StackConfigError,
  type ConfigProblem,
  CONFIG_NAMESPACE,
  HostSchema,
  ServiceSchema,
  StackConfigSchema,
  type SwitchConfig,
  SwitchFields,
} from "../stackConfig";
import { buildImageSpec, checkImagePins } from "./buildImage";
import { buildServiceSpec, checkServiceInStack } from "./buildService";
import type { ServiceDraft } from "./serviceDraft";
import { checkBehindSwitch } from "./docker/behindSwitch";
import { planReleases } from "./docker/fitRule";
import { placeCopies } from "./docker/placement";
import { planClusterReleases } from "./cluster/fitRule";
import { byName } from "./sorted";
import {
  isOnCluster,
  isOnDocker,
  type ClusterSpec,
  type DeploymentModel,
  type HostSpec,
  type ReleaseSpec,
  type ServiceSpec,
  type SwitchSpec,
} from "./types";

export interface BuildModelOptions {
  readonly stack: string;
  readonly project?: string;
  /** The project folder, which files the config names are read from. Default: the working folder (Pulumi's). */
  readonly projectDir?: string;
  /** Top-level config keys (without namespace) whose values were set with --secret. */
  readonly secretKeys?: ReadonlySet<string>;
  /** Full key paths (`services.tts.env.API_KEY`) of the values set with --secret, where they are known. */
  readonly secretPaths?: readonly string[];
  /**
   * The stacks named in `sharesHostsWith`, already built (or the reason they could not be): their use of the
   * shared hosts is checked against this stack's.
   */
  readonly neighbours?: ReadonlyMap<string, DeploymentModel | Error>;
}

/** A top-level key on its own, so one bad key does not hide the value of another. */
function topLevel<K extends keyof typeof StackConfigSchema.shape>(raw: PlainObject, key: K) {
  const parsed = StackConfigSchema.shape[key].safeParse(raw[key]);
  return parsed.success ? (parsed.data as z.output<(typeof StackConfigSchema.shape)[K]>) : undefined;
}

/** Each entry of `hosts` or `services` parsed on its own, so one bad entry does not hide the others' problems. */
function parseEntries<T>(ctx: ModelContext, raw: PlainObject, key: "hosts" | "services", schema: z.ZodType<T>) {
  const parsed: [string, T][] = [];
  for (const [name, value] of Object.entries(asPlainObject(raw[key]))) {
    const result = schema.safeParse(value);
    if (result.success) parsed.push([name, result.data]);
    else ctx.addZod(result.error, schema, value, [key, name]);
  }
  return parsed;
}

/** How to move a secret value from `path` into `secrets`, and what refers to it there. */
function moveSecretHint(path: string): string {
  const env = /^services\.([a-z0-9-]+)\.env\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(path);
  const name = env ? secretNameFor(env[2]) : "<name>";
  const refer = env
    ? `then set services.${env[1]}.secretEnv.${env[2]}: ${name}`
    : "then refer to it by name (services.<name>.secretEnv, hosts.<name>.registryAuth[].passwordSecret)";
  return (
    `pulumi config rm --path '${CONFIG_NAMESPACE}:${path}' && pulumi config set --secret --path ` +
    `'${CONFIG_NAMESPACE}:secrets.${name}' <value>; ${refer}`
  );
}

/**
 * A value set with --secret anywhere but under `secrets` would reach the program's inputs in plain text (the
 * engine only says that a top-level key holds a secret somewhere): refused, naming the path where it is known,
 * never the value.
 */
function checkSecretsOutsideSecrets(
  ctx: ModelContext,
  secretKeys: ReadonlySet<string> | undefined,
  secretPaths: readonly string[] = [],
): void {
  for (const key of secretKeys ?? []) {
    if (key === "secrets") continue;
    const known = secretPaths.filter(
      (path) => path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`),
    );
    for (const path of known.length > 0 ? known : [key]) {
      ctx.add(
        parsePath(path),
        `${path === key ? "holds a value" : "is"} set with --secret, but only the "secrets" key holds secret values ` +
          `(anywhere else it would be plain text in the deployment): ${moveSecretHint(path)}`,
      );
    }
  }
}

/** The switch's spec; its image pins are read from the raw value, as a service's are. */
function buildSwitchSpec(
  ctx: ModelContext,
  raw: PlainObject,
  parsed: SwitchConfig | undefined,
): SwitchSpec | undefined {
  if (raw.switch !== undefined) checkImagePins(ctx, ["switch"], asPlainObject(raw.switch));
  if (!parsed) return undefined;
  return {
    image: buildImageSpec(ctx, "gpu-switch", parsed),
    holdSeconds: parsed.holdSeconds,
    streamCloseDelay: parsed.streamCloseDelay,
    dockerSocket: parsed.dockerSocket,
  };
}

/** Each host that gives exactly one of `dockerHost` and `kubernetes`, by kind (read from the raw values). */
function hostKinds(rawHosts: PlainObject): Map<string, "docker" | "kubernetes"> {
  const kinds = new Map<string, "docker" | "kubernetes">();
  for (const [name, host] of Object.entries(rawHosts)) {
    if (!isPlainObject(host)) continue;
    const docker = host.dockerHost !== undefined;
    const cluster = host.kubernetes !== undefined;
    if (docker !== cluster) kinds.set(name, docker ? "docker" : "kubernetes");
  }
  return kinds;
}

/**
 * A service's spec: its draft with the release the fit rule resolved. On a cluster its image is a pull: a build
 * there is a problem (cluster/clusterChecks.ts), and the model is built only where there is none.
 */
function resolved(draft: ServiceDraft, release: ReleaseSpec): ServiceSpec {
  if (isOnDocker(draft)) return { ...draft, release };
  const { image } = draft;
  if (image.kind !== "registry") throw new Error(`services.${draft.name}: a build on a cluster passed the checks`);
  return { ...draft, image, release };
}

/** The Docker hosts and the clusters (a host with a `kubernetes` block) of `hosts`. */
function buildHosts(ctx: ModelContext, rawConfig: PlainObject): { hosts: HostSpec[]; clusters: ClusterSpec[] } {
  const hosts: HostSpec[] = [];
  const clusters: ClusterSpec[] = [];
  for (const [name, host] of parseEntries(ctx, rawConfig, "hosts", HostSchema)) {
    if (host.kubernetes) clusters.push(buildClusterSpec(ctx, name, { ...host, kubernetes: host.kubernetes }));
    else hosts.push(buildHostSpec(ctx, name, host));
  }
  return { hosts, clusters };
}

/** Every service whose config parses, its release not yet resolved; each checked in the stack first. */
function draftServices(
  ctx: ModelContext,
  rawConfig: PlainObject,
  switchConfig: SwitchConfig | undefined,
): ServiceDraft[] {
  for (const [name, service] of Object.entries(asPlainObject(rawConfig.services))) {
    checkServiceInStack(ctx, name, asPlainObject(service));
  }
  // Without a switch the hold is what it would be with one of default settings (plan prints what a release costs).
  const holdFloor = switchConfig?.holdSeconds ?? SwitchFields.shape.holdSeconds.parse(undefined);
  return parseEntries(ctx, rawConfig, "services", ServiceSchema).map(([name, service]) =>
    buildServiceSpec(ctx, name, service, holdFloor),
  );
}

/** What the checks across the services of a stack read: its hosts, clusters, services and neighbour stacks. */
interface StackDrafts {
  readonly hosts: readonly HostSpec[];
  readonly clusters: readonly ClusterSpec[];
  readonly drafts: readonly ServiceDraft[];
  readonly neighbours: readonly DeploymentModel[];
  readonly hasSwitch: boolean;
}

/**
 * The checks across the services of each kind of host, Docker hosts' and clusters' apart, and the releases their
 * fit rules resolve, by service name.
 */
function checkAndPlan(ctx: ModelContext, stack: StackDrafts): Map<string, ReleaseSpec> {
  const { hosts, clusters, drafts, neighbours, hasSwitch } = stack;
  const onDocker = drafts.filter(isOnDocker);
  const onClusters = drafts.filter(isOnCluster);
  checkHosts(ctx, hosts, onDocker, neighbours);
  checkClusters(ctx, clusters, onClusters);
  // The switch is on Docker hosts only: a cluster's own rollout moves the traffic there.
  if (hasSwitch) checkBehindSwitch(ctx, onDocker);
  return new Map([
    ...planReleases(ctx, hosts, onDocker, hasSwitch, neighbours),
    ...planClusterReleases(ctx, clusters, onClusters),
  ]);
}

/**
 * Validate raw stack config (the object under the `gpu-services:` namespace, keys without the prefix) and turn
 * it into the deployment model. Throws `StackConfigError` listing every problem.
 */
export function buildModel(raw: unknown, options: BuildModelOptions): DeploymentModel {
  const problems: ConfigProblem[] = [];
  const rawConfig = asPlainObject(raw);
  // The names, even when a value is invalid (reported by the schema without its value).
  const secretNames = Object.keys(asPlainObject(rawConfig.secrets)).sort();
  const ctx = createContext(
    {
      stack: options.stack,
      project: options.project ?? CONFIG_NAMESPACE,
      requirePinned: topLevel(rawConfig, "requirePinnedImages") ?? false,
      secretNames,
      hostNames: Object.keys(asPlainObject(rawConfig.hosts)),
      hostKinds: hostKinds(asPlainObject(rawConfig.hosts)),
      projectDir: options.projectDir ?? process.cwd(),
    },
    problems,
    (path) => path[0] === "secrets",
  );

  const top = StackConfigSchema.safeParse(raw);
  if (!top.success) ctx.addZod(top.error, StackConfigSchema, raw, []);
  if (secretNames.length > 0 && options.secretKeys && !options.secretKeys.has("secrets")) {
    ctx.add(["secrets"], `must be set with --secret: pulumi config set --secret --path 'secrets.<name>' <value>`);
  }
  checkSecretsOutsideSecrets(ctx, options.secretKeys, options.secretPaths);

  const { hosts, clusters } = buildHosts(ctx, rawConfig);
  const switchConfig = topLevel(rawConfig, "switch");
  const unplaced = draftServices(ctx, rawConfig, switchConfig);
  const switchSpec = buildSwitchSpec(ctx, rawConfig, switchConfig);
  const sharesHostsWith = topLevel(rawConfig, "sharesHostsWith") ?? [];
  const neighbours = resolveNeighbours(ctx, sharesHostsWith, options.neighbours);
  const hasSwitch = switchSpec !== undefined;
  const drafts = placeCopies(ctx, hosts, unplaced, neighbours, hasSwitch);
  const releases = checkAndPlan(ctx, { hosts, clusters, drafts, neighbours, hasSwitch });

  if (problems.length > 0) throw new StackConfigError(options.stack, problems);
  const services = drafts.map((draft) => resolved(draft, releases.get(draft.name)!));
  return {
    project: ctx.project,
    stack: ctx.stack,
    requirePinnedImages: ctx.requirePinned,
    hosts: hosts.sort(byName),
    clusters: clusters.sort(byName),
    services: services.sort(byName),
    secretNames,
    sharesHostsWith,
    ...(switchSpec ? { switch: switchSpec } : {}),
  };
}
