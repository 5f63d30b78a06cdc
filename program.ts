/**
 * The Pulumi program: stack config -> deployment model -> one DockerHost per host and one GpuService per
 * service. The config is validated completely before the first resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerHost, GpuService } from "./components";
import { type DeploymentModel, modelFromRaw } from "./model";
import { CONFIG_NAMESPACE, readRuntimeConfig } from "./stackConfig";

/** Stack outputs of one service (`pulumi stack output --json` gives `ServiceOutputValues` per service). */
export interface ServiceOutputs {
  /** `scheme://address:port` of the service, when it publishes a port. */
  readonly endpoint: pulumi.Output<string | undefined>;
  /** The image actually deployed (`repository@sha256:…`, or the local build tag and digest). */
  readonly image: pulumi.Output<string>;
  readonly containerName: pulumi.Output<string>;
  readonly host: string;
}

/** One service's stack outputs as `pulumi stack output --json` prints them. */
export type ServiceOutputValues = pulumi.Unwrap<ServiceOutputs>;

/** The validated model of the stack being deployed. Throws StackConfigError before anything is registered. */
export function currentModel(): DeploymentModel {
  // Pulumi runs the program in the project folder, beside the other stacks' files.
  return modelFromRaw(readRuntimeConfig(), pulumi.getStack(), process.cwd());
}

export function deploy(model: DeploymentModel = currentModel()): Record<string, ServiceOutputs> {
  const secrets =
    model.secretNames.length > 0
      ? new pulumi.Config(CONFIG_NAMESPACE).requireSecretObject<Record<string, string>>("secrets")
      : undefined;
  const secret = (name: string): pulumi.Output<string> => secrets!.apply((s) => s[name]);

  const hosts = new Map<string, DockerHost>();
  for (const h of model.hosts) {
    hosts.set(
      h.name,
      new DockerHost(h.name, {
        dockerHost: h.dockerHost,
        address: h.address,
        builds: model.services.some((s) => s.host === h.name && s.image.kind === "build"),
        sshOpts: h.sshOpts,
        registryAuth: h.registryAuth.map((a) => ({
          address: a.address,
          username: a.username,
          password: secret(a.passwordSecret),
        })),
      }),
    );
  }

  const outputs: Record<string, ServiceOutputs> = {};
  for (const service of model.services) {
    const secretEnv = Object.fromEntries(
      Object.entries(service.secretEnv).map(([env, secretName]) => [env, secret(secretName)]),
    );
    const component = new GpuService(service.name, {
      ...service,
      host: hosts.get(service.host)!,
      stack: model.stack,
      secretEnv,
    });
    outputs[service.name] = {
      endpoint: component.endpoint,
      image: component.imageRef,
      containerName: component.containerName,
      host: service.host,
    };
  }
  return outputs;
}
