import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterServiceSpec, VolumeSpec } from "../model";
import type { Cluster } from "./cluster";
import {
  deploymentArgs,
  GPU_RESOURCE,
  INSTANCE_LABEL,
  kubeEndpoint,
  objectLabels,
  progressDeadlineSeconds,
  selectorLabels,
  servicePorts,
  type DeploymentArgs,
} from "./kubeInputs";

/**
 * A service as the deployment model describes it (`ClusterServiceSpec`: every field documented there, with the defaults
 * the stack schema fills in), placed on a `Cluster`, with its secret env values.
 */
export interface KubeServiceArgs extends Omit<ClusterServiceSpec, "name" | "host" | "secretEnv"> {
  /** The cluster the service runs on (its provider, namespace, service type, storage). */
  readonly cluster: Cluster;
  /** The stack the service belongs to, recorded in its objects' labels. */
  readonly stack: string;
  /** Env name -> value; pass Pulumi secrets, they stay secrets in the Secret's inputs. Default: none. */
  readonly secretEnv: Readonly<Record<string, pulumi.Input<string>>>;
}

/** Seconds left for the controller to mark a stuck rollout (ProgressDeadlineExceeded) before the up gives up. */
export const ROLLOUT_MARGIN_SECONDS = 60;

/**
 * How long `pulumi up` waits for a service's Deployment to roll out before it fails (its `customTimeouts` for
 * create and update): `replicas × progressDeadlineSeconds + stopGraceSeconds + 60` seconds.
 *
 * The provider's Deployment await does not stop at the controller's ProgressDeadlineExceeded: it waits for its own
 * timeout (10 minutes unless set) and then fails naming the conditions it saw. A RollingUpdate with `maxSurge: 1`
 * replaces the pods one after the other, each of which may take up to `progressDeadlineSeconds` (the healthcheck's
 * worst case plus a minute) to turn ready; old pods take up to `stopGraceSeconds` to stop (before the new ones
 * start, under Recreate). The 60 s margin lets the controller mark the stuck rollout first, so the error reads
 * `[ProgressDeadlineExceeded]`. A surge pod that finds no free GPU stays Pending: the up fails at this bound.
 */
export function rolloutTimeoutSeconds(
  service: Pick<ClusterServiceSpec, "replicas" | "stopGraceSeconds">,
  progressDeadlineSeconds: number,
): number {
  return service.replicas * progressDeadlineSeconds + service.stopGraceSeconds + ROLLOUT_MARGIN_SECONDS;
}

/** The service's Secret of its secret env (`<containerName>-env`), values as Pulumi secrets; none without. */
function createSecret(name: string, args: KubeServiceArgs, parent: KubeService): k8s.core.v1.Secret | undefined {
  const entries = Object.entries(args.secretEnv);
  if (entries.length === 0) return undefined;
  return new k8s.core.v1.Secret(
    `${name}-env`,
    {
      metadata: {
        name: `${args.containerName}-env`,
        namespace: args.cluster.namespace,
        labels: objectLabels(name, args.stack),
      },
      type: "Opaque",
      stringData: Object.fromEntries(entries.map(([env, value]) => [env, pulumi.secret(value)])),
    },
    { parent, provider: args.cluster.provider },
  );
}

/**
 * One claim per managed volume, named as the volume, protected and kept on delete as its spec says (by default
 * both), so neither a replacement nor `pulumi destroy` loses a model cache. An external volume is a claim that
 * exists already: referred to by name, no resource.
 */
function createClaims(
  name: string,
  args: KubeServiceArgs,
  parent: KubeService,
): { claims: k8s.core.v1.PersistentVolumeClaim[]; names: Record<string, pulumi.Input<string>> } {
  const claims: k8s.core.v1.PersistentVolumeClaim[] = [];
  const names: Record<string, pulumi.Input<string>> = {};
  for (const volume of args.volumes) {
    if (volume.external) {
      names[volume.name] = volume.name;
      continue;
    }
    const claim = createClaim(name, args, volume, parent);
    claims.push(claim);
    names[volume.name] = claim.metadata.name;
  }
  return { claims, names };
}

function createClaim(
  name: string,
  args: KubeServiceArgs,
  volume: VolumeSpec,
  parent: KubeService,
): k8s.core.v1.PersistentVolumeClaim {
  const cluster = args.cluster;
  return new k8s.core.v1.PersistentVolumeClaim(
    `${name}-claim-${volume.name}`,
    {
      metadata: { name: volume.name, namespace: cluster.namespace, labels: objectLabels(name, args.stack) },
      spec: {
        accessModes: [cluster.volumeAccessMode],
        resources: { requests: { storage: cluster.volumeSize } },
        ...(cluster.storageClassName !== undefined ? { storageClassName: cluster.storageClassName } : {}),
      },
    },
    { parent, provider: cluster.provider, protect: volume.protect, retainOnDelete: volume.retainOnDelete },
  );
}

/** The Service in front of the pods: the cluster's type, each published port on its own number. */
function createService(name: string, args: KubeServiceArgs, parent: KubeService): k8s.core.v1.Service | undefined {
  if (args.ports.length === 0) return undefined;
  return new k8s.core.v1.Service(
    `${name}-service`,
    {
      metadata: {
        name: args.containerName,
        namespace: args.cluster.namespace,
        labels: objectLabels(name, args.stack),
      },
      spec: {
        type: args.cluster.serviceType,
        selector: selectorLabels(name, args.stack),
        ports: servicePorts(args.ports, args.cluster.serviceType),
      },
    },
    { parent, provider: args.cluster.provider },
  );
}

function deploymentInputs(
  name: string,
  args: KubeServiceArgs,
  secret: k8s.core.v1.Secret | undefined,
  claims: Record<string, pulumi.Input<string>>,
): DeploymentArgs {
  return deploymentArgs(
    {
      name,
      stack: args.stack,
      service: args,
      secretEnvNames: Object.keys(args.secretEnv).sort(),
      ...(secret ? { secret: { name: secret.metadata.name, version: secret.metadata.resourceVersion } } : {}),
      claims,
    },
    args.cluster.namespace,
  );
}

/** How to look into a rollout that does not finish: kubectl on the cluster's context and namespace. */
function kubectlHint(name: string, args: KubeServiceArgs, timeoutSeconds: number): string {
  const context = args.cluster.context !== undefined ? ` --context ${args.cluster.context}` : "";
  const kubectl = `kubectl${context} -n ${args.cluster.namespace}`;
  return (
    `if deployment/${args.containerName} does not roll out within ${timeoutSeconds}s (a pod that stays Pending, ` +
    `for example a surge pod with no free ${GPU_RESOURCE}, or one that never turns ready), pulumi up fails: ` +
    `\`${kubectl} get pods -l ${INSTANCE_LABEL}=${name}-${args.stack}\` and ` +
    `\`${kubectl} describe pod <pod>\` show the scheduler's reason; roll back with ` +
    `\`npm run release -- rollback ${args.stack} ${name}\` and \`pulumi up --stack ${args.stack}\`.`
  );
}

/**
 * One GPU inference service on one Kubernetes cluster: its Secret (secret env), its claims (managed volumes), its
 * Deployment and its Service, all in the cluster's namespace, labelled with the service, its instance in the stack
 * and the stack. The Deployment's inputs come per key of the spec (kubernetes/kubeInputs.ts).
 */
export class KubeService extends pulumi.ComponentResource {
  public readonly secret?: k8s.core.v1.Secret;
  /** Claims this service manages (external volumes are referred to by name only). */
  public readonly claims: k8s.core.v1.PersistentVolumeClaim[];
  public readonly deployment: k8s.apps.v1.Deployment;
  public readonly service?: k8s.core.v1.Service;
  /** The image the pods run, as configured (`repository@sha256:…` or `repository:tag`). */
  public readonly imageRef: pulumi.Output<string>;
  /** `scheme://address:port`, when the service has an endpoint port and an address is known. */
  public readonly endpoint: pulumi.Output<string | undefined>;
  /** The Deployment's name. */
  public readonly containerName: pulumi.Output<string>;
  /** Seconds `pulumi up` waits for the rollout before it fails (rolloutTimeoutSeconds). */
  public readonly rolloutTimeoutSeconds: number;
  /** During an up: the watch of Pending pods, settled when it has stopped. */
  public readonly pendingWatch?: Promise<void>;

  constructor(name: string, args: KubeServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-services:index:KubeService", name, {}, opts);
    const provider = args.cluster.provider;
    this.secret = createSecret(name, args, this);
    const claims = createClaims(name, args, this);
    this.claims = claims.claims;

    const inputs = deploymentInputs(name, args, this.secret, claims.names);
    this.rolloutTimeoutSeconds = rolloutTimeoutSeconds(args, progressDeadlineSeconds(args));
    const timeout = `${this.rolloutTimeoutSeconds}s`;
    this.deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, inputs, {
      parent: this,
      provider,
      customTimeouts: { create: timeout, update: timeout },
    });
    this.service = createService(name, args, this);

    pulumi.log.info(args.release.reason, this);
    if (!pulumi.runtime.isDryRun()) {
      pulumi.log.info(kubectlHint(name, args, this.rolloutTimeoutSeconds), this);
      // The cluster's one watch (kubernetes/pendingPods.ts), until the Deployment's registration is done.
      this.pendingWatch = args.cluster.pendingPods?.watch({
        instance: selectorLabels(name, args.stack)[INSTANCE_LABEL],
        report: (line) =>
          void pulumi.log.warn(`${line} (pulumi up fails after ${this.rolloutTimeoutSeconds}s if it stays)`, this),
        until: new Promise((resolve) => this.deployment.metadata.apply((m) => (resolve(m), m))),
      });
    }

    this.imageRef = pulumi.output(args.image.ref);
    this.containerName = this.deployment.metadata.name;
    this.endpoint = this.service
      ? pulumi.all([this.service.status, this.service.spec]).apply(([status, spec]) =>
          kubeEndpoint(args.scheme, args.endpoint, args.cluster.address, {
            ingress: status?.loadBalancer?.ingress,
            clusterIP: spec?.clusterIP,
          }),
        )
      : pulumi.output(undefined);
    this.registerOutputs({
      imageRef: this.imageRef,
      endpoint: this.endpoint,
      containerName: this.containerName,
    });
  }
}
