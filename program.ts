/**
 * The Pulumi program: stack config -> deployment model -> one DockerHost per Docker host and one GpuService per
 * service on it; with `gpu-services:switch`, one GpuSwitch and one push container per Docker host that has
 * services; one Cluster per Kubernetes cluster and one KubeService per service on it. The config is validated
 * completely before the first resource is registered.
 */
import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { DockerHost, GpuService } from "./docker";
import { Cluster, KubeService, type Kubectl } from "./kubernetes";
import { createHostSwitches, type SwitchOutputs } from "./switch";
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

  // One switch per host that has services: its drain and push come once the service containers are registered.
  const switches = await createHostSwitches(model, hosts);

  const services: Record<string, ServiceOutputs> = {};
  for (const service of model.services) {
    const secretEnv = Object.fromEntries(
      Object.entries(service.secretEnv).map(([env, secretName]) => [env, secret(secretName)]),
    );
    if (service.runsOn === "kubernetes") {
      services[service.name] = kubeService(service, clusters, model.stack, secretEnv);
      continue;
    }
    const sw = switches.get(service.host);
    const spec = sw ? sw.deployed(service) : service;
    const component = new GpuService(service.name, {
      ...spec,
      host: hosts.get(service.host)!,
      stack: model.stack,
      secretEnv,
      ...(sw ? { placement: sw.placement(spec, nameSuffix) } : {}),
    });
    sw?.add({
      service: spec,
      container: component.container,
      image: component.image,
      releaseKey: component.releaseKey,
    });
    services[service.name] = {
      endpoint: component.endpoint,
      image: component.imageRef,
      containerName: component.containerName,
      host: service.host,
    };
  }

  const switchOutputs: Record<string, SwitchOutputs> = {};
  for (const [hostName, sw] of switches) switchOutputs[hostName] = sw.finish();
  return model.switch ? { services, switches: switchOutputs } : { services };
}
