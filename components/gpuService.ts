import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import {
  LABEL_PREFIX,
  type BindSpec,
  type GpuSpec,
  type HealthcheckSpec,
  type ImageSpec,
  type PortSpec,
  type VolumeSpec,
} from "../config/model";
import type { DockerHost } from "./dockerHost";

export interface GpuServiceArgs {
  /** The Docker host the service runs on (its providers and address). Required. */
  readonly host: DockerHost;
  /** Where the image comes from: a registry pull or a BuildKit build on the host. Required. */
  readonly image: ImageSpec;
  /** Docker container name; fixed, so the container is replaced delete-before-create. Required. */
  readonly containerName: string;
  /** Stack the service belongs to, recorded in a label. Default: the current stack. */
  readonly stack?: string;
  /** Published ports. Default: none. */
  readonly ports?: readonly PortSpec[];
  /** Named volumes; managed ones are protected and kept on delete unless their spec says otherwise. Default: none. */
  readonly volumes?: readonly VolumeSpec[];
  /** Host folders mounted into the container. Default: none. */
  readonly binds?: readonly BindSpec[];
  /** Plain environment variables. Default: none. */
  readonly env?: Readonly<Record<string, string>>;
  /** Environment variables whose values are secrets (pass Pulumi secrets). Default: none. */
  readonly secretEnv?: Readonly<Record<string, pulumi.Input<string>>>;
  /** NVIDIA GPUs to request (a Docker device request with driver nvidia). Default: no GPU. */
  readonly gpus?: GpuSpec;
  /** Docker restart policy. Default: `unless-stopped`. */
  readonly restart?: string;
  /** Container healthcheck; when set, `pulumi up` waits until the container is healthy. Default: none. */
  readonly healthcheck?: HealthcheckSpec;
  /** Command that replaces the image's CMD. Default: the image's. */
  readonly command?: readonly string[];
  /** User the container runs as. Default: the image's. */
  readonly user?: string;
  /** Extra container labels. Default: none. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Scheme of the endpoint output. Default: `http`. */
  readonly scheme?: "http" | "https";
  /** The published port that is the service endpoint. Default: none (no endpoint output). */
  readonly endpoint?: PortSpec;
  /** Seconds Docker waits after SIGTERM before killing the container. Default: 30. */
  readonly stopGraceSeconds?: number;
}

/**
 * One GPU inference service on one Docker host. Its container carries labels naming the service, the stack
 * and the release (the exact ref pulled, or the build's `url#commit`), so `docker inspect` tells what runs.
 * Children: its image (pulled or built), its managed volumes and its container.
 */
export class GpuService extends pulumi.ComponentResource {
  /** The image resource: a `docker.RemoteImage` or a `docker-build` `Image`. */
  public readonly image: docker.RemoteImage | dockerbuild.Image;
  /** Volumes this service manages (external volumes are referred to by name only). */
  public readonly volumes: docker.Volume[];
  public readonly container: docker.Container;
  /** The image actually deployed: `repository@sha256:…` for pulls, `tag@sha256:…` for builds. */
  public readonly imageRef: pulumi.Output<string>;
  /** `scheme://address:port`, when the service has an endpoint port. */
  public readonly endpoint: pulumi.Output<string | undefined>;
  public readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: GpuServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-services:index:GpuService", name, {}, opts);
    const provider = args.host.provider;
    const stack = args.stack ?? pulumi.getStack();

    let containerImage: pulumi.Output<string>;
    let imageIdentity: pulumi.Output<string>;
    let release: pulumi.Input<string>;
    if (args.image.kind === "registry") {
      // A tracked tag is resolved to its current digest at every preview and up, and pulled by that digest:
      // when the tag moves the image name changes, so `latest` never silently stays stale.
      const pulled: pulumi.Input<string> = args.image.track
        ? pulumi.interpolate`${args.image.repository}@${
            docker.getRegistryImageOutput({ name: args.image.ref }, { parent: this, provider }).sha256Digest
          }`
        : args.image.ref;
      const remote = new docker.RemoteImage(
        `${name}-image`,
        { name: pulled, keepLocally: true },
        { parent: this, provider },
      );
      this.image = remote;
      // The image ID changes exactly when the pulled image changes, and it is what the container's state
      // holds, so the container is replaced on a new image and left alone otherwise.
      containerImage = remote.imageId;
      imageIdentity = remote.imageId;
      this.imageRef = args.image.digest || args.image.track ? pulumi.output(pulled) : remote.repoDigest;
      release = pulled;
    } else {
      const b = args.image;
      if (!args.host.buildProvider) {
        throw new Error(`GpuService ${name} builds its image, but its DockerHost was created without builds: true`);
      }
      const built = new dockerbuild.Image(
        `${name}-image`,
        {
          context: { location: b.location },
          ...(b.contextKind === "local" ? { dockerfile: { location: path.join(b.location, b.dockerfile) } } : {}),
          ...(Object.keys(b.args).length > 0 ? { buildArgs: { ...b.args } } : {}),
          ...(b.target ? { target: b.target } : {}),
          noCache: b.noCache,
          tags: [b.localTag],
          push: false,
          load: true,
          // Previews run on every pull request: they must not start multi-GB GPU image builds on the server.
          buildOnPreview: false,
        },
        { parent: this, provider: args.host.buildProvider },
      );
      this.image = built;
      containerImage = built.ref;
      imageIdentity = built.digest;
      this.imageRef = pulumi
        .all([built.ref, built.digest])
        .apply(([ref, digest]) => (digest ? `${b.localTag}@${digest}` : ref));
      release = b.location;
    }

    this.volumes = [];
    const mounts: pulumi.Input<docker.types.input.ContainerMount>[] = [];
    for (const v of args.volumes ?? []) {
      let source: pulumi.Input<string> = v.name;
      if (!v.external) {
        const volume = new docker.Volume(
          `${name}-volume-${v.name}`,
          {
            name: v.name,
            labels: [
              { label: `${LABEL_PREFIX}service`, value: name },
              { label: `${LABEL_PREFIX}stack`, value: stack },
            ],
          },
          { parent: this, provider, protect: v.protect, retainOnDelete: v.retainOnDelete },
        );
        this.volumes.push(volume);
        source = volume.name;
      }
      mounts.push({ type: "volume", source, target: v.target, readOnly: v.readOnly });
    }
    for (const b of args.binds ?? []) {
      mounts.push({ type: "bind", source: b.source, target: b.target, readOnly: b.readOnly });
    }

    const envs: pulumi.Input<string>[] = Object.entries(args.env ?? {}).map(([k, v]) => `${k}=${v}`);
    for (const [k, v] of Object.entries(args.secretEnv ?? {})) {
      envs.push(pulumi.secret(pulumi.interpolate`${k}=${v}`));
    }

    const labels: Record<string, pulumi.Input<string>> = {
      ...(args.labels ?? {}),
      [`${LABEL_PREFIX}service`]: name,
      [`${LABEL_PREFIX}stack`]: stack,
      [`${LABEL_PREFIX}release`]: release,
      [`${LABEL_PREFIX}image`]: imageIdentity,
    };

    const hc = args.healthcheck;
    const gpus = args.gpus;
    this.container = new docker.Container(
      `${name}-container`,
      {
        name: args.containerName,
        image: containerImage,
        restart: args.restart ?? "unless-stopped",
        ports: (args.ports ?? []).map((p) => ({
          internal: p.container,
          external: p.host,
          ip: p.hostIp,
          protocol: p.protocol,
        })),
        mounts,
        envs,
        ...(gpus
          ? {
              deviceRequests: [
                {
                  driver: "nvidia",
                  ...(gpus.deviceIds
                    ? { deviceIds: [...gpus.deviceIds] }
                    : { count: gpus.count === "all" ? -1 : gpus.count }),
                  capabilities: [...gpus.capabilities],
                },
              ],
            }
          : {}),
        ...(hc
          ? {
              healthcheck: {
                tests: [...hc.test],
                interval: hc.interval,
                timeout: hc.timeout,
                retries: hc.retries,
                startPeriod: hc.startPeriod,
              },
              wait: true,
              waitTimeout: hc.waitTimeoutSeconds,
            }
          : { wait: false }),
        labels: Object.keys(labels)
          .sort()
          .map((label) => ({ label, value: labels[label] })),
        ...(args.command ? { command: [...args.command] } : {}),
        ...(args.user ? { user: args.user } : {}),
        destroyGraceSeconds: args.stopGraceSeconds ?? 30,
        mustRun: true,
      },
      {
        parent: this,
        provider,
        // Host ports and the container name are fixed: the old container must go before the new one starts.
        deleteBeforeReplace: true,
        dependsOn: [this.image, ...this.volumes],
      },
    );

    if (hc && !pulumi.runtime.isDryRun()) {
      // Printed beside the container in `pulumi up`: if it never turns healthy, the up fails and this says what next.
      const docker = `docker -H ${args.host.dockerHost}`;
      pulumi.log.info(
        `waiting up to ${hc.waitTimeoutSeconds}s for ${args.containerName} to turn healthy. If it does not: ` +
          `\`${docker} logs --tail 200 ${args.containerName}\` shows why; roll back with ` +
          `\`npm run release -- rollback ${stack} ${name}\` and \`pulumi up --stack ${stack}\`.`,
        this.container,
      );
    }

    this.containerName = this.container.name;
    const endpoint = args.endpoint;
    this.endpoint = pulumi.output(
      endpoint
        ? `${args.scheme ?? "http"}://${hostForUrl(endpointAddress(endpoint, args.host.address))}:${endpoint.host}`
        : undefined,
    );
    this.registerOutputs({
      imageRef: this.imageRef,
      endpoint: this.endpoint,
      containerName: this.containerName,
    });
  }
}

/** A port bound to one address is reached there; a port on all addresses at the host's address. */
function endpointAddress(port: PortSpec, hostAddress: string): string {
  return port.hostIp === "0.0.0.0" || port.hostIp === "::" ? hostAddress : port.hostIp;
}

function hostForUrl(address: string): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}
