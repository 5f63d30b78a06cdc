import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LABEL_PREFIX, switchName } from "../formats";
import type { ImageSpec } from "../model";
import type { DockerHost } from "../docker/dockerHost";
import { createImage, type ServiceImage } from "../docker/serviceImage";

/** One port the switch publishes: `hostIp:listen -> listen`, tcp. */
export interface SwitchPort {
  /** The host port, and the port inside the switch. */
  readonly listen: number;
  /** The host address it is bound to, as the service configured it. */
  readonly hostIp: string;
}

export interface GpuSwitchArgs {
  /** The Docker host it runs on (its providers). Required. */
  readonly host: DockerHost;
  /** The stack it belongs to: names its network, volume and container `gpu-switch-<stack>`. Required. */
  readonly stack: string;
  /** The switch image (Caddy and the `gpu-switch` agent, `FROM scratch`): `gpu-services:switch.image`. Required. */
  readonly image: ImageSpec;
  /** The ports it publishes: the union of the stack's service ports on this host. Required. */
  readonly ports: readonly SwitchPort[];
  /** Seconds `pulumi up` waits for a new switch to turn healthy. Default: 60. */
  readonly waitTimeoutSeconds?: number;
  /**
   * Resources the switch container is created after: the service containers on the first `up` with a switch,
   * whose old copies hold its ports until they are deleted (stop-then-start). Default: none.
   */
  readonly startAfter?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
}

/**
 * Where Caddy keeps its autosaved config, the switch's route table (gpu-switch-upstreams.json, beside
 * autosave.json) and its internal CA (XDG_CONFIG_HOME, XDG_DATA_HOME in the image).
 */
export const SWITCH_DATA = "/data";

/** Caddy resumes the last config it loaded (autosave.json in the volume); the bootstrap only on a fresh volume. */
export const SWITCH_COMMAND = ["/caddy", "run", "--resume", "--config", "/etc/gpu-switch/bootstrap.json"];

/** The switch's restart policy: it owns every service's port, so it comes back with the daemon whatever stopped it. */
export const SWITCH_RESTART = "always";

/** The switch is healthy when Caddy's admin API answers (`gpu-switch health`: GET localhost:2019/config/). */
export const SWITCH_HEALTHCHECK = {
  tests: ["CMD", "/gpu-switch", "health"],
  interval: "2s",
  timeout: "2s",
  retries: 3,
  startPeriod: "1s",
};

/** Each port as the docker provider publishes it: the same port inside, sorted by port and address. */
export function switchPortArgs(ports: readonly SwitchPort[]): docker.types.input.ContainerPort[] {
  return [...ports]
    .sort((a, b) => a.listen - b.listen || a.hostIp.localeCompare(b.hostIp))
    .map((p) => ({ internal: p.listen, external: p.listen, ip: p.hostIp, protocol: "tcp" }));
}

/**
 * The switch of one stack on one Docker host: a Caddy that owns the published ports of the stack's services
 * there and proxies to their containers on its network, by their names on the daemon. A release never replaces it; its
 * routing is loaded by the push container (switch/switchPush.ts) and resumed from its volume after a
 * restart of the container or the daemon. Children: its image, network, data volume (protected, kept on
 * delete) and container.
 */
export class GpuSwitch extends pulumi.ComponentResource {
  /** The switch image, which the push container runs too. */
  public readonly image: ServiceImage;
  public readonly network: docker.Network;
  /** Caddy's autosaved config, the route table and the internal CA. */
  public readonly volume: docker.Volume;
  public readonly container: docker.Container;
  /** `gpu-switch-<stack>`: the network's and the container's name on the daemon. */
  public readonly name: string;
  /** The host ports it publishes, sorted. */
  public readonly ports: number[];

  constructor(name: string, args: GpuSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-services:index:GpuSwitch", name, {}, opts);
    this.name = switchName(args.stack);
    const published = switchPortArgs(args.ports);
    this.ports = [...new Set(args.ports.map((p) => p.listen))].sort((a, b) => a - b);
    const children = { parent: this, provider: args.host.provider };
    const labels = [{ label: `${LABEL_PREFIX}stack`, value: args.stack }];

    this.image = createImage(name, args.image, args.host, this);
    this.network = new docker.Network(`${name}-network`, { name: this.name, driver: "bridge", labels }, children);
    this.volume = new docker.Volume(
      `${name}-volume`,
      { name: `${this.name}-data`, labels },
      { ...children, protect: true, retainOnDelete: true },
    );
    const startAfter: Promise<pulumi.Input<pulumi.Resource>[]> = Promise.resolve(args.startAfter ?? []).then(
      (after) => [this.image.resource, this.network, this.volume, ...after],
    );
    this.container = new docker.Container(
      `${name}-container`,
      {
        name: this.name,
        image: this.image.containerImage,
        command: SWITCH_COMMAND,
        // Not unless-stopped: Docker counts a `docker kill` as a stop by hand, and unless-stopped then keeps the
        // switch down across a daemon restart too, with every service's port. `always` brings it back with the
        // daemon (e2e/docker/switchRestart.e2e.ts).
        restart: SWITCH_RESTART,
        mustRun: true,
        ports: published,
        mounts: [{ type: "volume", source: this.volume.name, target: SWITCH_DATA }],
        networksAdvanced: [{ name: this.network.name }],
        healthcheck: SWITCH_HEALTHCHECK,
        wait: true,
        waitTimeout: args.waitTimeoutSeconds ?? 60,
        labels,
      },
      {
        ...children,
        // Its host ports and name are fixed.
        deleteBeforeReplace: true,
        dependsOn: startAfter,
      },
    );
    this.registerOutputs({ name: this.name, ports: this.ports, container: this.container.name });
  }
}
