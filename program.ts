/**
 * The Pulumi program: stack config -> deployment model -> one DockerHost per Docker host and one GpuService per
 * service on it; with `gpu-services:switch`, one GpuSwitch and one push container per Docker host that has
 * services; one Cluster per Kubernetes cluster and one KubeService per service on it. The config is validated
 * completely before the first resource is registered.
 */
import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { createDockerHosts, createDockerServices, type GpuService, type StackSecrets } from "./docker";
import { createClusters, createClusterServices, type KubeService, type Kubectl } from "./kubernetes";
import { createHostSwitches, type SwitchOutputs } from "./switch";
import { type DeploymentModel, modelFromRaw } from "./model";
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

/** One service's stack outputs, from its component (a GpuService or a KubeService). */
function outputsOf(component: GpuService | KubeService, host: string): ServiceOutputs {
  return {
    endpoint: component.endpoint,
    image: component.imageRef,
    containerName: component.containerName,
    host,
  };
}

/** The stack's secrets, read from config once and only where the stack has some. */
function stackSecrets(model: DeploymentModel): StackSecrets {
  const secrets =
    model.secretNames.length > 0
      ? new pulumi.Config(CONFIG_NAMESPACE).requireSecretObject<Record<string, string>>("secrets")
      : undefined;
  const value = (name: string): pulumi.Output<string> => secrets!.apply((s) => s[name]);
  return {
    value,
    env: (service) => Object.fromEntries(Object.entries(service.secretEnv).map(([env, name]) => [env, value(name)])),
  };
}

/**
 * The stack's resources: the Docker hosts and the clusters, the switch of each Docker host with services, the
 * services on either, then each switch's drain and push once the containers behind it are registered.
 */
export async function deploy(
  model: DeploymentModel = currentModel(),
  options: DeployOptions = {},
): Promise<StackOutputs> {
  const secrets = stackSecrets(model);
  const hosts = createDockerHosts(model, secrets);
  const clusters = createClusters(model, secrets, options.kubectl);
  const switches = await createHostSwitches(model, hosts);
  const onDocker = createDockerServices(model, hosts, secrets, switches, options.nameSuffix ?? randomSuffix);
  const onClusters = createClusterServices(model, clusters, secrets);

  const services: Record<string, ServiceOutputs> = {};
  for (const service of model.services) {
    services[service.name] = outputsOf(onDocker.get(service.name) ?? onClusters.get(service.name)!, service.host);
  }
  const switchOutputs: Record<string, SwitchOutputs> = {};
  for (const [hostName, sw] of switches) switchOutputs[hostName] = sw.finish();
  return model.switch ? { services, switches: switchOutputs } : { services };
}
