import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { VolumeAccessMode } from "../formats";
import type { ClusterServiceType } from "../model";
import { kubectlCli, pendingPodsPoller, type Kubectl, type PendingPodsPoller } from "./pendingPods";

export interface ClusterArgs {
  /** Namespace of every object of the stack's services on this cluster; it must exist. Required. */
  readonly namespace: string;
  /** kubeconfig context. Default: the kubeconfig's current context. */
  readonly context?: string;
  /**
   * A whole kubeconfig (its contents); pass a Pulumi secret, it stays one in the provider's inputs. Default: the
   * operator's kubeconfig (`KUBECONFIG`, else `~/.kube/config`), as kubectl reads it.
   */
  readonly kubeconfig?: pulumi.Input<string>;
  /** How services expose their ports, on the same port numbers. Default: `LoadBalancer`. */
  readonly serviceType?: ClusterServiceType;
  /** Address clients use for a NodePort service (a node's or a VIP's). Default: none (no NodePort endpoint). */
  readonly address?: string;
  /** Storage class of each managed volume's claim. Default: the cluster's default class. */
  readonly storageClassName?: string;
  /** Size each managed volume's claim requests (a Kubernetes quantity). Default: `10Gi`. */
  readonly volumeSize?: string;
  /**
   * Access mode of each managed volume's claim. Default: `ReadWriteOnce` (the pods that mount a claim at once run on
   * the one node it is attached to).
   */
  readonly volumeAccessMode?: VolumeAccessMode;
  /**
   * kubectl for the watch of its services' Pending pods during an up (kubernetes/pendingPods.ts), or false for
   * none. Default: kubectl on PATH on `context`; none with a `kubeconfig` (the program does not write a secret to
   * disk).
   */
  readonly kubectl?: Kubectl | false;
}

/**
 * One Kubernetes cluster: an explicit `kubernetes` provider for its context (or a kubeconfig from the stack's
 * secrets) and namespace. Every object of the services placed on it uses this provider, never a default one.
 * Secrets are mutable in place (the provider's default replaces a Secret on every change of its data, and a
 * replaced Secret of a fixed name is deleted first: a pod starting in between would find no Secret).
 */
export class Cluster extends pulumi.ComponentResource {
  public readonly provider: k8s.Provider;
  public readonly namespace: string;
  public readonly serviceType: ClusterServiceType;
  public readonly address?: string;
  public readonly storageClassName?: string;
  public readonly volumeSize: string;
  public readonly volumeAccessMode: VolumeAccessMode;
  /** The kubeconfig context, as given (absent: the current context). */
  public readonly context?: string;
  /** Whether the provider's kubeconfig comes from the stack's secrets (not the operator's kubeconfig). */
  public readonly hasKubeconfigSecret: boolean;
  /** The one watch of Pending pods its services share during an up; none without kubectl. */
  public readonly pendingPods?: PendingPodsPoller;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-services:index:Cluster", name, {}, opts);
    this.namespace = args.namespace;
    this.serviceType = args.serviceType ?? "LoadBalancer";
    this.address = args.address;
    this.storageClassName = args.storageClassName;
    this.volumeSize = args.volumeSize ?? "10Gi";
    this.volumeAccessMode = args.volumeAccessMode ?? "ReadWriteOnce";
    this.context = args.context;
    this.hasKubeconfigSecret = args.kubeconfig !== undefined;
    const kubectl = args.kubectl ?? (this.hasKubeconfigSecret ? false : kubectlCli(args.context));
    if (kubectl) this.pendingPods = pendingPodsPoller(kubectl, args.namespace);
    this.provider = new k8s.Provider(name, providerArgs(args), { parent: this });
    this.registerOutputs({ namespace: this.namespace });
  }
}

/** The provider's inputs: the namespace, the context and the kubeconfig where given, Secrets mutable. */
function providerArgs(args: ClusterArgs): k8s.ProviderArgs {
  return {
    namespace: args.namespace,
    ...(args.context !== undefined ? { context: args.context } : {}),
    ...(args.kubeconfig !== undefined ? { kubeconfig: pulumi.secret(args.kubeconfig) } : {}),
    enableSecretMutable: true,
  };
}
