import * as docker from "@pulumi/docker";
import type * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { readinessLine, releaseCostLine, type DockerServiceSpec } from "../model";
import { containerArgs, endpointUrl, type SwitchPlacement } from "./containerInputs";
import type { DockerHost } from "./dockerHost";
import { releaseKey } from "./releaseKey";
import { createImage } from "./serviceImage";
import { volumeMounts } from "./serviceVolumes";

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
   * The switch of the service's (stack, host): the container then publishes no ports, joins the switch's
   * network and is released as `release.strategy` says. Default: none, the container publishes its ports and
   * is replaced stop-then-start, as without a switch.
   */
  readonly placement?: SwitchPlacement;
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
  /**
   * What identifies this release of the container (docker/releaseKey.ts): `<image ref>+<hash of its inputs>`,
   * changed exactly when the container is replaced. Known before the container is registered.
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

    const inputs = containerArgs({
      name,
      stack: args.stack,
      service: args,
      secretEnv: args.secretEnv,
      image,
      mounts: serviceMounts,
      placement: args.placement,
    });
    this.releaseKey = releaseKey(inputs, image.ref, args.containerName);
    const made: pulumi.Input<pulumi.Resource>[] = [this.image, ...this.volumes];
    const stopAfter = args.placement?.stopAfter;
    const dependsOn: Promise<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource>[] = stopAfter
      ? stopAfter.then((after) => [...made, ...after])
      : made;
    this.container = new docker.Container(`${name}-container`, inputs, {
      parent: this,
      provider,
      ...replaceOptions(args.release, args.placement),
      dependsOn,
    });

    // How this service is released and why, in preview and up alike; behind a switch its readiness check and hold,
    // without one what a release costs its clients. Behind a switch the push container waits for its readiness and
    // fails the up (switch/switchPush.ts).
    pulumi.log.info(args.release.reason, this);
    const described = { name, readiness: args.readiness, hold: args.hold };
    pulumi.log.info(args.placement ? readinessLine(described) : releaseCostLine(described), this);
    if (!args.placement && args.healthcheck && !pulumi.runtime.isDryRun()) {
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
