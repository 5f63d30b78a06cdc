/**
 * The safety rails as Pulumi policies: a GPU container restarts and reports health, images are pinned where
 * the stack requires it, data volumes are protected, secret-looking env values are secrets, a service container
 * behind the switch publishes no ports, and containers run as a non-root user where they can (advisory). Each rule
 * reads the Docker resources (container, pulled image, volume) and their Kubernetes counterparts on a cluster (the
 * Deployment's pod template, the claim) alike.
 * `index.ts` makes them a policy pack; tests call `validateResource` directly.
 */
import { Secret, type ResourceValidationArgs, type ResourceValidationPolicy } from "@pulumi/policy";
import { FLOATING_TAGS, looksSecret, SECRET_ENV_LABEL } from "../formats";

export const TYPES = {
  container: "docker:index/container:Container",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  volume: "docker:index/volume:Volume",
  deployment: "kubernetes:apps/v1:Deployment",
  claim: "kubernetes:core/v1:PersistentVolumeClaim",
} as const;

/** The GPU resource the NVIDIA device plugin advertises (a Deployment's GPU limit). */
const GPU_RESOURCE = "nvidia.com/gpu";

interface PodContainer {
  readonly name?: string;
  readonly image?: string;
  readonly env?: { readonly name?: string; readonly value?: unknown; readonly valueFrom?: unknown }[];
  readonly resources?: { readonly limits?: Record<string, unknown> };
  readonly readinessProbe?: unknown;
  readonly securityContext?: { readonly runAsUser?: number };
}

/** The containers of a Deployment's pod template, and the template's pod spec. */
function podTemplate(props: Record<string, any>): { pod: Record<string, any>; containers: PodContainer[] } {
  const pod = (props.spec?.template?.spec ?? {}) as Record<string, any>;
  // A plain copy: the analyzer's props are proxies, whose arrays `map` and `filter` cannot copy.
  return { pod, containers: Array.isArray(pod.containers) ? Array.from(pod.containers as PodContainer[]) : [] };
}

const deploymentName = (props: Record<string, any>) => String(props.metadata?.name ?? "(unnamed)");

const isGpuPodContainer = (c: PodContainer) =>
  c.resources?.limits !== undefined && c.resources.limits[GPU_RESOURCE] !== undefined;

/** The raw value of a property, where a Pulumi secret is still a `Secret` (the props proxy unwraps them). */
function raw(obj: object, key: string | number): unknown {
  return Object.getOwnPropertyDescriptor(obj, String(key))?.value;
}

const isGpuContainer = (props: Record<string, any>) =>
  Array.isArray(props.deviceRequests) && props.deviceRequests.some((d: { driver?: string }) => d.driver === "nvidia");

/** A Deployment whose pods take GPUs: they restart (Always, a Deployment's only policy) and have a readiness probe. */
function gpuDeploymentRestartsAndReportsHealth(props: Record<string, any>, report: (message: string) => void): void {
  const { pod, containers } = podTemplate(props);
  if (!containers.some(isGpuPodContainer)) return;
  const name = deploymentName(props);
  if (pod.restartPolicy !== undefined && pod.restartPolicy !== "Always") {
    report(`GPU Deployment ${name} has restartPolicy "${pod.restartPolicy}": its pods must restart (Always).`);
  }
  for (const c of containers.filter(isGpuPodContainer)) {
    if (!c.readinessProbe) {
      report(
        `GPU Deployment ${name} has no readiness probe on container ${c.name}: set services.<name>.healthcheck so ` +
          "pulumi up waits for the model to load and a broken release fails the deployment.",
      );
    }
  }
}

export const gpuContainerRestartsAndReportsHealth: ResourceValidationPolicy = {
  name: "gpu-container-restart-and-healthcheck",
  description:
    "A container with NVIDIA device requests (or a Deployment with an nvidia.com/gpu limit) restarts and has a " +
    "healthcheck (a readiness probe).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type === TYPES.deployment) return gpuDeploymentRestartsAndReportsHealth(args.props, report);
    if (args.type !== TYPES.container || !isGpuContainer(args.props)) return;
    const restart = args.props.restart;
    if (!restart || restart === "no") {
      report(
        `GPU container ${args.props.name} has restart "${restart ?? "no"}": set services.<name>.restart ` +
          "(unless-stopped, always or on-failure) so a crash or reboot does not leave the GPU idle.",
      );
    }
    const tests: string[] | undefined = args.props.healthcheck?.tests;
    if (!tests || tests.length === 0 || tests[0] === "NONE") {
      report(
        `GPU container ${args.props.name} has no healthcheck: set services.<name>.healthcheck so pulumi up ` +
          "waits for the model to load and a broken release fails the deployment.",
      );
    }
  },
};

export const pinnedImages: ResourceValidationPolicy = {
  name: "no-floating-image-tag",
  description: "Where the stack requires pinned images, every pulled image is a digest or a fixed tag.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { requirePinnedImages: { type: "boolean", default: true } },
  },
  validateResource: (args, report) => {
    if (args.type !== TYPES.remoteImage && args.type !== TYPES.deployment) return;
    if (!args.getConfig<{ requirePinnedImages?: boolean }>().requirePinnedImages) return;
    const images =
      args.type === TYPES.remoteImage
        ? [String(args.props.name ?? "")]
        : podTemplate(args.props).containers.map((c) => String(c.image ?? ""));
    for (const name of images) {
      if (/@sha256:[a-f0-9]{64}$/.test(name)) continue;
      const tag = /:([^/:@]+)$/.exec(name)?.[1];
      if (tag === undefined || (FLOATING_TAGS as readonly string[]).includes(tag)) {
        report(
          `image ${name} ${tag === undefined ? "has no tag (so: latest)" : `uses the floating tag "${tag}"`}; ` +
            "this stack requires pinned images: pin a digest with `npm run release -- release <stack> <service> <tag>`.",
        );
      }
    }
  },
};

export const protectedVolumes: ResourceValidationPolicy = {
  name: "data-volumes-protected",
  description: "Data volumes (and claims on a cluster) are protected, so no update or destroy deletes a model cache.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.volume && args.type !== TYPES.claim) return;
    if (!args.opts.protect) {
      const what = args.type === TYPES.volume ? `volume ${args.props.name}` : `claim ${args.props.metadata?.name}`;
      report(
        `${what} is not protected: a pulumi destroy would delete it with its data. ` +
          "Remove `protect: false` from its entry in services.<name>.volumes, or mark it external.",
      );
    }
  },
};

/**
 * A Deployment's env: a secret-looking value given as `value` is plain in the pod spec (and in the state); the
 * program puts secret env in a Secret and refers to it (`valueFrom.secretKeyRef`).
 */
function plainSecretPodEnv(props: Record<string, any>, report: (message: string) => void): void {
  for (const c of podTemplate(props).containers) {
    for (const entry of Array.isArray(c.env) ? c.env : []) {
      const value = raw(entry, "value");
      if (typeof value !== "string" || entry.name === undefined) continue;
      if (looksSecret(entry.name, value)) {
        report(
          `env ${entry.name} of Deployment ${deploymentName(props)} is a plain string: move it to ` +
            "services.<name>.secretEnv and set the value with pulumi config set --secret --path " +
            "'gpu-services:secrets.<name>' <value>.",
        );
      }
    }
  }
}

export const secretEnvValues: ResourceValidationPolicy = {
  name: "no-plain-secret-env",
  description:
    "An env value that looks secret (a TOKEN, KEY, PASSWORD or SECRET name, no flag or number) is a Pulumi secret.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type === TYPES.deployment) return plainSecretPodEnv(args.props, report);
    if (args.type !== TYPES.container) return;
    const envs = raw(args.props, "envs");
    if (envs === undefined || envs instanceof Secret || !Array.isArray(args.props.envs)) return;
    const list = args.props.envs as unknown[];
    // Names the program declares secret (GpuService's label): under the real engine the analyzer sees the
    // provider-checked inputs, where list elements no longer carry their secret mark.
    const labels = (args.props.labels ?? []) as { label?: string; value?: string }[];
    const declared = labels.find((l) => l.label === SECRET_ENV_LABEL)?.value?.split(",") ?? [];
    list.forEach((_, i) => {
      const item = raw(list, i);
      if (item instanceof Secret || typeof item !== "string") return;
      const name = item.split("=", 1)[0];
      if (looksSecret(name, item.slice(name.length + 1)) && !declared.includes(name)) {
        report(
          `env ${name} of container ${args.props.name} is a plain string: move it to services.<name>.secretEnv ` +
            `and set the value with pulumi config set --secret --path 'gpu-services:secrets.<name>' <value>.`,
        );
      }
    });
  },
};

export const nonRootUser: ResourceValidationPolicy = {
  name: "non-root-user",
  description: "Containers run as a non-root user where the service allows it.",
  enforcementLevel: "advisory",
  validateResource: (args, report) => {
    if (args.type === TYPES.deployment) {
      for (const c of podTemplate(args.props).containers) {
        const uid = c.securityContext?.runAsUser;
        if (uid === undefined || uid === 0) {
          report(
            `container ${c.name} of Deployment ${deploymentName(args.props)} runs as ` +
              `${uid === 0 ? "uid 0" : "the image's user (root unless the image sets one)"}: ` +
              "set services.<name>.user (a numeric uid[:gid] on a cluster) if the service allows it.",
          );
        }
      }
      return;
    }
    if (args.type !== TYPES.container) return;
    const user = args.props.user as string | undefined;
    if (!user || /^(root|0)(:|$)/.test(user)) {
      report(
        `container ${args.props.name} runs as ${user ?? "the image's user (root unless the image sets one)"}: ` +
          "set services.<name>.user (TTS runs as uid 1000) if the service allows it.",
      );
    }
  },
};

/** The prefix of a switch's network (and container) name on the daemon: `gpu-switch-<stack>` (switch/gpuSwitch.ts). */
export const SWITCH_NETWORK_PREFIX = "gpu-switch-";

export const switchOwnsPorts: ResourceValidationPolicy = {
  name: "no-ports-behind-the-switch",
  description:
    "A service container on a gpu-switch-<stack> network publishes no ports: the switch owns the host ports and dials the container.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.container) return;
    // Indexed reads only: the analyzer's props are a proxy whose arrays cannot make new arrays (map, filter).
    const networks = (Array.isArray(args.props.networksAdvanced) ? args.props.networksAdvanced : []) as {
      name?: unknown;
    }[];
    let behind: string | undefined;
    for (let i = 0; i < networks.length; i++) {
      const name = networks[i]?.name;
      if (typeof name === "string" && name.startsWith(SWITCH_NETWORK_PREFIX)) behind ??= name;
    }
    // The switch itself carries its network's name, and publishes the ports.
    if (behind === undefined || args.props.name === behind) return;
    const ports = (Array.isArray(args.props.ports) ? args.props.ports : []) as {
      external?: number;
      internal?: number;
    }[];
    if (ports.length === 0) return;
    const published: string[] = [];
    for (let i = 0; i < ports.length; i++) published.push(`${ports[i].external ?? "?"}->${ports[i].internal ?? "?"}`);
    const list = published.join(", ");
    report(
      `container ${args.props.name} is on the switch network ${behind} and publishes ${list}: the switch ` +
        `${behind} owns the host ports (a second copy of a blue/green release could not bind them); ` +
        "keep them in services.<name>.ports, which the switch publishes, and publish nothing from the container.",
    );
  },
};

export const POLICIES: ResourceValidationPolicy[] = [
  gpuContainerRestartsAndReportsHealth,
  pinnedImages,
  protectedVolumes,
  secretEnvValues,
  nonRootUser,
  switchOwnsPorts,
];

export type { ResourceValidationArgs };
