/**
 * The Pulumi program: stack config -> deployment model -> one DockerHost per Docker host and one GpuService per
 * service on it; with `gpu-services:switch`, one GpuSwitch and one push container per Docker host that has
 * services; one Cluster per Kubernetes cluster and one KubeService per service on it. The config is validated
 * completely before the first resource is registered.
 */
import { randomBytes } from "node:crypto";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DockerHost, GpuService } from "./docker";
import { Cluster, KubeService, type Kubectl } from "./kubernetes";
import { createSwitchPush, GpuSwitch } from "./switch";
import { type DeploymentModel, modelFromRaw, type ServiceSpec } from "./model";
import { CONFIG_NAMESPACE, readRuntimeConfig } from "./stackConfig";

/** Stack outputs of one service (`pulumi stack output --json` gives `ServiceOutputValues` per service). */
export interface ServiceOutputs {
  /** `scheme://address:port` of the service, when it publishes a port. */
  readonly endpoint: pulumi.Output<string | undefined>;
  /**
   * The image actually deployed (`repository@sha256:…`, or the local build tag and digest); on a cluster the
   * image the pods run, as configured.
   */
  readonly image: pulumi.Output<string>;
  /** The container's name on its Docker host; on a cluster, the Deployment's name. */
  readonly containerName: pulumi.Output<string>;
  /** The Docker host or the cluster (a key of `hosts`). */
  readonly host: string;
}

/** One service's stack outputs as `pulumi stack output --json` prints them. */
export type ServiceOutputValues = pulumi.Unwrap<ServiceOutputs>;

/** The validated model of the stack being deployed. Throws StackConfigError before anything is registered. */
export function currentModel(): DeploymentModel {
  // Pulumi runs the program in the project folder, beside the other stacks' files.
  return modelFromRaw(readRuntimeConfig(), pulumi.getStack(), process.cwd());
}

/** Stack outputs of one host's switch (`pulumi stack output switches`). */
export interface SwitchOutputs {
  /** The switch container's name on the daemon: `gpu-switch-<stack>`. */
  readonly container: pulumi.Output<string>;
  /** The host ports it publishes, sorted. */
  readonly ports: number[];
  /** The last push's exit code: 0 (any other code fails the up). */
  readonly pushExitCode: pulumi.Output<number>;
}

/** The stack outputs: per service, and (in a stack with a switch) per host with a switch. */
export interface StackOutputs {
  readonly services: Record<string, ServiceOutputs>;
  readonly switches?: Record<string, SwitchOutputs>;
}

export interface DeployOptions {
  /** Makes the suffix of a blue-green container's name (6 lowercase hex). Default: random per call. */
  readonly nameSuffix?: () => string;
  /**
   * kubectl for the watch of Pending pods of cluster services during an up, or false for none. Default: kubectl on
   * PATH, on each cluster's context.
   */
  readonly kubectl?: Kubectl | false;
}

const randomSuffix = () => randomBytes(3).toString("hex");

/**
 * The hosts whose switch ran before this `up`: the keys of the stack's own `switches` output of the last
 * update, read with a self StackReference (none for a stack never deployed).
 */
async function switchedHosts(stack: string): Promise<Set<string>> {
  const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`);
  const previous = await self.getOutputDetails("switches");
  const value = (previous.value ?? previous.secretValue) as Record<string, unknown> | undefined;
  return new Set(value && typeof value === "object" ? Object.keys(value) : []);
}

/**
 * The release of a service on a host whose switch is new: stop-then-start, since its old container publishes
 * the ports the switch needs until it is deleted, and a blue-green one would be deleted only at the end.
 */
export function migrationRelease(service: ServiceSpec): ServiceSpec["release"] {
  return {
    ...service.release,
    strategy: "stop-then-start",
    reason:
      `${service.name}: stop-then-start: the switch on ${service.host} is new in this up, and the old ` +
      `container holds the ports it publishes until it is deleted (afterwards: ${service.release.reason})`,
  };
}

/** A service on a cluster: its KubeService on the cluster's provider, and its stack outputs. */
function kubeService(
  service: ServiceSpec,
  clusters: ReadonlyMap<string, Cluster>,
  stack: string,
  secretEnv: Record<string, pulumi.Output<string>>,
): ServiceOutputs {
  const cluster = clusters.get(service.host);
  if (!cluster)
    throw new Error(`service ${service.name} runs on cluster ${service.host}, which the model does not have`);
  const component = new KubeService(service.name, {
    ...service,
    cluster,
    stack,
    secretEnv,
  });
  return {
    endpoint: component.endpoint,
    image: component.imageRef,
    containerName: component.containerName,
    host: service.host,
  };
}

export async function deploy(
  model: DeploymentModel = currentModel(),
  options: DeployOptions = {},
): Promise<StackOutputs> {
  const secrets =
    model.secretNames.length > 0
      ? new pulumi.Config(CONFIG_NAMESPACE).requireSecretObject<Record<string, string>>("secrets")
      : undefined;
  const secret = (name: string): pulumi.Output<string> => secrets!.apply((s) => s[name]);
  const nameSuffix = options.nameSuffix ?? randomSuffix;

  const hosts = new Map<string, DockerHost>();
  for (const h of model.hosts) {
    hosts.set(
      h.name,
      new DockerHost(h.name, {
        dockerHost: h.dockerHost,
        address: h.address,
        builds:
          model.services.some((s) => s.host === h.name && s.image.kind === "build") ||
          (model.switch?.image.kind === "build" && model.services.some((s) => s.host === h.name)),
        sshOpts: h.sshOpts,
        registryAuth: h.registryAuth.map((a) => ({
          address: a.address,
          username: a.username,
          password: secret(a.passwordSecret),
        })),
      }),
    );
  }

  const clusters = new Map<string, Cluster>();
  for (const c of model.clusters) {
    clusters.set(
      c.name,
      new Cluster(c.name, {
        namespace: c.namespace,
        context: c.context,
        ...(c.kubeconfigSecret !== undefined ? { kubeconfig: secret(c.kubeconfigSecret) } : {}),
        serviceType: c.serviceType,
        address: c.address,
        storageClassName: c.storageClassName,
        volumeSize: c.volumeSize,
        volumeAccessMode: c.volumeAccessMode,
        ...(options.kubectl !== undefined ? { kubectl: options.kubectl } : {}),
      }),
    );
  }

  // One switch per host that has services, created once its service containers are (see startAfter).
  const switchSpec = model.switch;
  const switches = new Map<string, { component: GpuSwitch; isNew: boolean; made: (r: docker.Container[]) => void }>();
  if (switchSpec) {
    const before = await switchedHosts(model.stack);
    for (const h of model.hosts) {
      const placed = model.services.filter((s) => s.host === h.name);
      if (placed.length === 0) continue;
      const isNew = !before.has(h.name);
      let made: (r: docker.Container[]) => void = () => {};
      const containers = new Promise<docker.Container[]>((resolve) => (made = resolve));
      const component = new GpuSwitch(`${h.name}-switch`, {
        host: hosts.get(h.name)!,
        stack: model.stack,
        image: switchSpec.image,
        ports: placed.flatMap((s) => s.ports.map((p) => ({ listen: p.host, hostIp: p.hostIp }))),
        // A new switch starts after the service containers: their old copies, which publish its ports, are
        // deleted first (stop-then-start, migrationRelease).
        ...(isNew ? { startAfter: containers } : {}),
      });
      switches.set(h.name, { component, isNew, made });
    }
  }

  const services: Record<string, ServiceOutputs> = {};
  const containersOf = new Map<string, { service: ServiceSpec; container: docker.Container }[]>();
  for (const service of model.services) {
    const secretEnv = Object.fromEntries(
      Object.entries(service.secretEnv).map(([env, secretName]) => [env, secret(secretName)]),
    );
    if (service.runsOn === "kubernetes") {
      services[service.name] = kubeService(service, clusters, model.stack, secretEnv);
      continue;
    }
    const sw = switches.get(service.host);
    const spec = sw?.isNew ? { ...service, release: migrationRelease(service) } : service;
    const component = new GpuService(service.name, {
      ...spec,
      host: hosts.get(service.host)!,
      stack: model.stack,
      secretEnv,
      ...(sw
        ? {
            placement: {
              network: sw.component.network.name,
              nameSuffix: spec.release.strategy === "blue-green" ? nameSuffix() : "",
            },
          }
        : {}),
    });
    containersOf.set(service.host, [
      ...(containersOf.get(service.host) ?? []),
      { service: spec, container: component.container },
    ]);
    services[service.name] = {
      endpoint: component.endpoint,
      image: component.imageRef,
      containerName: component.containerName,
      host: service.host,
    };
  }

  const switchOutputs: Record<string, SwitchOutputs> = {};
  for (const [hostName, sw] of switches) {
    const targets = containersOf.get(hostName) ?? [];
    sw.made(targets.map((t) => t.container));
    const push = createSwitchPush(`${hostName}-switch-push`, {
      stack: model.stack,
      host: hosts.get(hostName)!,
      hostName,
      switch: sw.component,
      spec: switchSpec!,
      targets,
    });
    switchOutputs[hostName] = {
      container: sw.component.container.name,
      ports: sw.component.ports,
      pushExitCode: push.exitCode,
    };
  }
  return switchSpec ? { services, switches: switchOutputs } : { services };
}
