import * as docker from "@pulumi/docker";
import type * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { readinessLine, releaseCostLine, type DockerServiceSpec } from "../model";
import { containerArgs, endpointUrl, type SwitchPlacement } from "./containerInputs";
import type { DockerHost } from "./dockerHost";
import { releaseKey } from "./releaseKey";
import { copyName, copySpec } from "./copies";
import { createImage, type ServiceImage } from "./serviceImage";
import { volumeMounts, type ServiceMounts } from "./serviceVolumes";

/**
 * A service as the deployment model describes it (`DockerServiceSpec`: every field documented there, with the
 * defaults the stack schema fills in), placed on a `DockerHost`, with its secret env values.
 */
export interface GpuServiceArgs extends Omit<DockerServiceSpec, "name" | "host" | "secretEnv"> {
  /** The Docker host the service runs on (its providers and address). */
  readonly host: DockerHost;
  /** The stack the service belongs to, recorded in a label. */
  readonly stack: string;
  /** Env name -> value; pass Pulumi secrets, they stay secrets in the container's inputs. */
  readonly secretEnv: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * The switch of the service's (stack, host), for each copy by index: the containers then publish no ports, join
   * the switch's network and are released as `release.strategy` says. Default: none, the container publishes its
   * ports and is replaced stop-then-start, as without a switch (one copy: the copies share the ports through it).
   */
  readonly placements?: readonly SwitchPlacement[];
}

/** One copy's container (docker/copies.ts), with what identifies its release. */
export interface ServiceCopy {
  readonly index: number;
  readonly container: docker.Container;
  /** The copy's release key (docker/releaseKey.ts). */
  readonly releaseKey: pulumi.Output<string>;
}

/**
 * How the container is replaced. Blue-green: create the new copy (a new name) before the old one is deleted,
 * and keep the name an update would change (the suffix is new every run). Otherwise the name (and without a
 * switch the host ports) are fixed: the old container must go before the new one starts. Both are explicit,
 * since the docker provider itself sets delete-before-replace on containers.
 */
export function replaceOptions(
  release: DockerServiceSpec["release"],
  placement: SwitchPlacement | undefined,
): Pick<pulumi.CustomResourceOptions, "deleteBeforeReplace" | "ignoreChanges"> {
  return placement && release.strategy === "blue-green"
    ? { deleteBeforeReplace: false, ignoreChanges: ["name"] }
    : { deleteBeforeReplace: true };
}

/** The resources one copy's container is registered after: the image, the volumes, and what its placement says. */
function copyDependsOn(
  made: readonly pulumi.Resource[],
  placement: SwitchPlacement | undefined,
): pulumi.Input<pulumi.Resource[]> {
  if (!placement?.stopAfter) return [...made];
  return pulumi.output(placement.stopAfter).apply((after) => [...made, ...after]);
}

/** What every copy's container is made from: the service's args, its image and mounts. */
interface CopySource {
  readonly name: string;
  readonly args: GpuServiceArgs;
  readonly image: ServiceImage;
  readonly mounts: ServiceMounts;
  readonly made: readonly pulumi.Resource[];
}

/** One copy's container, a child of the service. */
function createCopy(source: CopySource, copy: GpuServiceArgs["copies"][number], parent: GpuService): ServiceCopy {
  const { name, args } = source;
  const spec = copySpec(args, copy);
  const placement = args.placements?.[copy.index];
  const inputs = containerArgs({
    name,
    stack: args.stack,
    service: spec,
    secretEnv: args.secretEnv,
    image: source.image,
    mounts: source.mounts,
    placement,
    ...(copy.index > 0 ? { copy: copy.index } : {}),
  });
  const container = new docker.Container(`${copyName(name, copy.index)}-container`, inputs, {
    parent,
    provider: args.host.provider,
    ...replaceOptions(args.release, placement),
    dependsOn: copyDependsOn(source.made, placement),
  });
  return { index: copy.index, container, releaseKey: releaseKey(inputs, source.image.ref, spec.containerName) };
}

/**
 * One GPU inference service on one Docker host. Its containers carry labels naming the service, the stack
 * and the release (the exact ref pulled, or the build's `url#commit`), so `docker inspect` tells what runs.
 * Children: its image (pulled or built), its managed volumes and a container per copy, which share them.
 */
export class GpuService extends pulumi.ComponentResource {
  /** The image resource: a `docker.RemoteImage` or a `docker-build` `Image`. */
  public readonly image: docker.RemoteImage | dockerbuild.Image;
  /** Volumes this service manages (external volumes are referred to by name only). */
  public readonly volumes: docker.Volume[];
  /** Copy 0's container: the service's, as with one copy. */
  public readonly container: docker.Container;
  /** Every copy's container, by index. */
  public readonly copies: readonly ServiceCopy[];
  /** The image actually deployed: `repository@sha256:…` for pulls, `tag@sha256:…` for builds. */
  public readonly imageRef: pulumi.Output<string>;
  /** `scheme://address:port`, when the service has an endpoint port. */
  public readonly endpoint: pulumi.Output<string | undefined>;
  public readonly containerName: pulumi.Output<string>;
  /**
   * What identifies this release of the container (docker/releaseKey.ts): `<image ref>+<hash of its inputs>`,
   * changed exactly when the container is replaced. Known before the container is registered. Copy 0's.
   */
  public readonly releaseKey: pulumi.Output<string>;

  constructor(name: string, args: GpuServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-services:index:GpuService", name, {}, opts);
    const provider = args.host.provider;

    const image = createImage(name, args.image, args.host, this);
    this.image = image.resource;
    this.imageRef = image.ref;
    const serviceMounts = volumeMounts(name, args.stack, args.volumes, args.binds, { parent: this, provider });
    this.volumes = serviceMounts.volumes;

    const made: pulumi.Resource[] = [this.image, ...this.volumes];
    const source: CopySource = { name, args, image, mounts: serviceMounts, made };
    this.copies = args.copies.map((copy) => createCopy(source, copy, this));
    this.container = this.copies[0].container;
    this.releaseKey = this.copies[0].releaseKey;

    // How this service is released and why, in preview and up alike; behind a switch its readiness check and hold,
    // without one what a release costs its clients. Behind a switch the push container waits for its readiness and
    // fails the up (switch/switchPush.ts).
    pulumi.log.info(args.release.reason, this);
    const described = { name, readiness: args.readiness, hold: args.hold };
    pulumi.log.info(args.placements ? readinessLine(described) : releaseCostLine(described), this);
    if (!args.placements && args.healthcheck && !pulumi.runtime.isDryRun()) {
      // Printed under the service in `pulumi up`. Attached to this component, not the container: a log on a
      // resource is sent once the engine has finished its step, so one on a container that never turns
      // healthy would never be printed.
      pulumi.log.info(
        `if ${args.containerName} does not turn healthy within ${args.healthcheck.waitTimeoutSeconds}s, pulumi up ` +
          `fails: \`gpu-services -s ${args.stack} logs ${name} --tail 200\` shows why; roll back with ` +
          `\`npm run release -- rollback ${args.stack} ${name}\` and \`pulumi up --stack ${args.stack}\`.`,
        this,
      );
    }

    this.containerName = this.container.name;
    this.endpoint = pulumi.output(endpointUrl(args.scheme, args.endpoint, args.host.address));
    this.registerOutputs({
      imageRef: this.imageRef,
      endpoint: this.endpoint,
      containerName: this.containerName,
      releaseKey: this.releaseKey,
    });
  }
}
