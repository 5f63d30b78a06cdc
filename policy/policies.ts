/**
 * The safety rails as Pulumi policies: a GPU container restarts and reports health, images are pinned where
 * the stack requires it, data volumes are protected, secret-looking env values are secrets, a service container
 * behind the switch publishes no ports, and containers run as a non-root user where they can (advisory).
 * `index.ts` makes them a policy pack; tests call `validateResource` directly.
 */
import { Secret, type ResourceValidationArgs, type ResourceValidationPolicy } from "@pulumi/policy";
import { FLOATING_TAGS, looksSecret, SECRET_ENV_LABEL } from "../formats";

export const TYPES = {
  container: "docker:index/container:Container",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  volume: "docker:index/volume:Volume",
} as const;

/** The raw value of a property, where a Pulumi secret is still a `Secret` (the props proxy unwraps them). */
function raw(obj: object, key: string | number): unknown {
  return Object.getOwnPropertyDescriptor(obj, String(key))?.value;
}

const isGpuContainer = (props: Record<string, any>) =>
  Array.isArray(props.deviceRequests) && props.deviceRequests.some((d: { driver?: string }) => d.driver === "nvidia");

export const gpuContainerRestartsAndReportsHealth: ResourceValidationPolicy = {
  name: "gpu-container-restart-and-healthcheck",
  description: "A container with NVIDIA device requests has a restart policy and a healthcheck.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
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
    if (args.type !== TYPES.remoteImage) return;
    if (!args.getConfig<{ requirePinnedImages?: boolean }>().requirePinnedImages) return;
    const name = String(args.props.name ?? "");
    if (/@sha256:[a-f0-9]{64}$/.test(name)) return;
    const tag = /:([^/:@]+)$/.exec(name)?.[1];
    if (tag === undefined || (FLOATING_TAGS as readonly string[]).includes(tag)) {
      report(
        `image ${name} ${tag === undefined ? "has no tag (so: latest)" : `uses the floating tag "${tag}"`}; ` +
          "this stack requires pinned images: pin a digest with `npm run release -- release <stack> <service> <tag>`.",
      );
    }
  },
};

export const protectedVolumes: ResourceValidationPolicy = {
  name: "data-volumes-protected",
  description: "Data volumes are protected, so no update or destroy deletes a model cache.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.volume) return;
    if (!args.opts.protect) {
      report(
        `volume ${args.props.name} is not protected: a pulumi destroy would delete it with its data. ` +
          "Remove `protect: false` from its entry in services.<name>.volumes, or mark it external.",
      );
    }
  },
};

export const secretEnvValues: ResourceValidationPolicy = {
  name: "no-plain-secret-env",
  description:
    "An env value that looks secret (a TOKEN, KEY, PASSWORD or SECRET name, no flag or number) is a Pulumi secret.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
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

/** The prefix of a switch's network (and container) name on the daemon: `gpu-switch-<stack>` (components/gpuSwitch.ts). */
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
