/**
 * Runs the real program under `pulumi.runtime.setMocks` and records every resource it registers, with its
 * inputs exactly as the engine would receive them.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { DeploymentModel } from "../../model";
import type { DeployOptions, StackOutputs } from "../../program";
import { readStackFile, toEngineConfig, type RawConfig } from "../../stackConfig";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  /** The provider reference (`urn::id`) the resource was registered with, if any. */
  readonly provider?: string;
  /** Resource options as the engine receives them. */
  readonly options: {
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    /** Whether the program set deleteBeforeReplace (else the provider's default applies). */
    readonly deleteBeforeReplaceDefined: boolean;
    readonly ignoreChanges: string[];
    /** `customTimeouts` as sent (empty strings where unset), if any. */
    readonly customTimeouts?: { create: string; update: string; read: string; pb_delete: string };
    /** URNs this resource depends on. */
    readonly dependencies: string[];
  };
  /** The inputs as serialized for the engine (secret values appear wrapped in Pulumi's secret signature). */
  readonly wire: string;
}

/** Pulumi's wire signature of a secret value: `{[SIG_KEY]: SECRET_SIG, value}`. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Evaluation {
  readonly resources: Registered[];
  /** Resolved stack outputs, per service. */
  readonly outputs: Record<string, { endpoint?: string; image: string; containerName: string; host: string }>;
  /** The program's stack outputs as it returned them (`switches` unresolved: a failed push rejects). */
  readonly program: StackOutputs;
  /** Per host with a switch: the push's checked exit code, or the error the program fails the up with. */
  readonly push: Record<string, Promise<{ exitCode: number } | { error: unknown }>>;
  /** Registered resources of one type. */
  ofType(type: string): Registered[];
  /** The one resource of a type with a name. */
  get(type: string, name: string): Registered;
  /** The `host` input of the provider a resource was registered with. */
  providerHost(r: Registered): string | undefined;
}

/** What the mocked registry answers for `docker.getRegistryImage`: ref -> digest (a default hash otherwise). */
export const registryDigests = new Map<string, string>();

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** What a test makes the mock "cloud" answer beside its defaults. */
export interface MockWorld {
  /** The stack's outputs of its last update, as its self StackReference reads them. Default: none. */
  readonly previousOutputs?: Record<string, unknown>;
  /** Outputs a resource gets on top of its inputs (say a push container's `exitCode`), by resource name. */
  readonly outputsOf?: Record<string, Record<string, unknown>>;
}

/** What the mock "cloud" computes for a resource: the outputs the real providers would return. */
function mockState(type: string, name: string, inputs: Record<string, any>, world: MockWorld): Record<string, any> {
  const extra = world.outputsOf?.[name];
  if (extra) return { ...mockState(type, name, inputs, {}), ...extra };
  switch (type) {
    case "pulumi:pulumi:StackReference":
      return { name: inputs.name, outputs: world.previousOutputs ?? {}, secretOutputNames: [] };
    case "docker:index/remoteImage:RemoteImage": {
      const repository = String(inputs.name)
        .split("@")[0]
        .replace(/:[^/]*$/, "");
      return {
        ...inputs,
        imageId: `sha256:${sha(`id:${inputs.name}`)}`,
        repoDigest: `${repository}@sha256:${sha(String(inputs.name))}`,
      };
    }
    case "docker-build:index:Image":
      return { ...inputs, ref: inputs.tags?.[0] ?? "", digest: `sha256:${sha(`build:${inputs.context?.location}`)}` };
    default:
      return { ...inputs };
  }
}

/** Resolve an Output in a test (Outputs are promises underneath). */
export function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) =>
    pulumi.output(o).apply((v) => {
      resolve(v as T);
      return v;
    }),
  );
}

async function settle(resources: Registered[]): Promise<void> {
  let stable = 0;
  let last = -1;
  while (stable < 5) {
    await new Promise((r) => setImmediate(r));
    if (resources.length === last) stable++;
    else {
      stable = 0;
      last = resources.length;
    }
  }
}

/**
 * Runs `evaluation` (one whose program is expected to fail: a push that exits non-zero) and collects the rejections
 * its outputs leave unhandled, as the Pulumi runtime would report them (the first fails the up), instead of letting
 * the test runner report each as an error of its own. Every output derived from a failed one rejects too, so they
 * are many; they are given back for the test to check that each is the expected failure.
 */
export async function collectingRejections<T>(
  evaluation: () => Promise<T>,
): Promise<{ result: T; rejections: unknown[] }> {
  const rejections: unknown[] = [];
  const others = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  const collect = (reason: unknown) => void rejections.push(reason);
  process.on("unhandledRejection", collect);
  try {
    const result = await evaluation();
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { result, rejections };
  } finally {
    process.off("unhandledRejection", collect);
    for (const listener of others) process.on("unhandledRejection", listener);
  }
}

/**
 * Evaluate the program for a stack with the given config, as `pulumi preview` would (the providers mocked).
 * Errors thrown by the program (bad config) are rethrown; `resources` is still readable through `onResources`.
 */
export function evaluate(
  raw: RawConfig,
  stack: string,
  onResources?: (r: Registered[]) => void,
  preview = true,
): Promise<Evaluation> {
  return run(raw, stack, (deploy) => deploy(), { onResources, preview });
}

/**
 * Evaluate the program for a model built directly (test/support/models.ts), as `pulumi preview` would, or
 * `pulumi up` with `preview: false`; the mocks answer as `world` says; `config` is the stack config the program
 * reads beside the model (its `secrets`). Default: none.
 */
export function evaluateModel(
  model: DeploymentModel,
  options: DeployOptions & MockWorld & { preview?: boolean; config?: RawConfig } = {},
): Promise<Evaluation> {
  const config = options.config ?? { values: {}, secretKeys: new Set<string>() };
  return run(config, model.stack, (deploy) => deploy(model, options), {
    preview: options.preview ?? true,
    world: options,
  });
}

async function run(
  raw: RawConfig,
  stack: string,
  program: (deploy: typeof import("../../program").deploy) => Promise<StackOutputs>,
  {
    onResources,
    preview,
    world = {},
  }: { onResources?: (r: Registered[]) => void; preview: boolean; world?: MockWorld },
): Promise<Evaluation> {
  const resources: Registered[] = [];
  onResources?.(resources);
  let pending: Pick<Registered, "options" | "wire"> | undefined;
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          provider: args.provider,
          ...pending!,
        });
        return { id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs, world) };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        if (args.token === "docker:index/getRegistryImage:getRegistryImage") {
          const digest = registryDigests.get(args.inputs.name) ?? `sha256:${sha(`registry:${args.inputs.name}`)}`;
          return { name: args.inputs.name, sha256Digest: digest };
        }
        throw new Error(`unexpected call ${args.token}`);
      },
    },
    "gpu-services",
    stack,
    preview,
    "organization", // what a DIY backend reports, as the program's self StackReference names it
  );
  // See what the engine sees: wrap the mock monitor to record resource options and the serialized inputs.
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: any) => {
    pending = {
      options: {
        protect: req.getProtect() === true,
        retainOnDelete: req.hasRetainondelete?.() ? req.getRetainondelete() : false,
        deleteBeforeReplace: req.getDeletebeforereplace(),
        deleteBeforeReplaceDefined: req.getDeletebeforereplacedefined(),
        ignoreChanges: req.getIgnorechangesList(),
        ...(req.getCustomtimeouts() ? { customTimeouts: req.getCustomtimeouts().toObject() } : {}),
        dependencies: req.getDependenciesList(),
      },
      wire: JSON.stringify(req.getObject()?.toJavaScript() ?? {}),
    };
    return register(req, callback);
  };
  const { config, secretKeys } = toEngineConfig(raw);
  pulumi.runtime.setAllConfig(config, secretKeys);
  process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(secretKeys);

  const { deploy } = await import("../../program");
  const returned = await program(deploy);
  // A failed push rejects its output, as the real program's does (the CLI reports it): caught here, at once.
  const push: Evaluation["push"] = {};
  for (const [host, sw] of Object.entries(returned.switches ?? {})) {
    const checked = sw.pushExitCode as unknown as {
      promise(): Promise<number>;
      isKnown: Promise<boolean>;
      isSecret: Promise<boolean>;
    };
    checked.isKnown.catch(() => {});
    checked.isSecret.catch(() => {});
    push[host] = checked.promise().then(
      (exitCode) => ({ exitCode }),
      (error: unknown) => ({ error }),
    );
  }
  const outputs: Evaluation["outputs"] = {};
  for (const [name, o] of Object.entries(returned.services)) {
    outputs[name] = {
      endpoint: await valueOf(o.endpoint),
      image: await valueOf(o.image),
      containerName: await valueOf(o.containerName),
      host: o.host,
    };
  }
  await settle(resources);
  const providers = new Map<string, Registered>();
  for (const r of resources) if (r.type.startsWith("pulumi:providers:")) providers.set(r.name, r);
  return {
    resources,
    outputs,
    program: returned,
    push,
    ofType: (type) => resources.filter((r) => r.type === type),
    get(type, name) {
      const found = resources.filter((r) => r.type === type && r.name === name);
      if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
      return found[0];
    },
    providerHost(r) {
      if (!r.provider) return undefined;
      const urn = r.provider.split("::").slice(0, -1).join("::");
      const providerName = urn.split("::").pop()!;
      return providers.get(providerName)?.inputs.host;
    },
  };
}

/** Evaluate a stack from its real `Pulumi.<stack>.yaml`. */
export function evaluateStackFile(stack: string): Promise<Evaluation> {
  return evaluate(readStackFile(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`)), stack);
}

export const T = {
  container: "docker:index/container:Container",
  volume: "docker:index/volume:Volume",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  build: "docker-build:index:Image",
  dockerProvider: "pulumi:providers:docker",
  buildProvider: "pulumi:providers:docker-build",
  gpuService: "gpu-services:index:GpuService",
  dockerHost: "gpu-services:index:DockerHost",
  gpuSwitch: "gpu-services:index:GpuSwitch",
  network: "docker:index/network:Network",
  stackReference: "pulumi:pulumi:StackReference",
  kubeProvider: "pulumi:providers:kubernetes",
  cluster: "gpu-services:index:Cluster",
  kubeService: "gpu-services:index:KubeService",
  deployment: "kubernetes:apps/v1:Deployment",
  kubeSecret: "kubernetes:core/v1:Secret",
  claim: "kubernetes:core/v1:PersistentVolumeClaim",
  kubeServiceObject: "kubernetes:core/v1:Service",
} as const;
