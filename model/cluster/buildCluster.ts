/** One cluster of the stack (`hosts.<h>.kubernetes`): its spec, and the secret its kubeconfig comes from. */
import type { ModelContext } from "../context";
import type { HostConfig } from "../../stackConfig";
import { definedOnly, type Complete } from "../perKey";
import type { ClusterSpec } from "../types";

/** The spec of a host whose config parsed with a `kubernetes` block. */
export function buildClusterSpec(
  ctx: ModelContext,
  name: string,
  host: HostConfig & { kubernetes: NonNullable<HostConfig["kubernetes"]> },
): ClusterSpec {
  const k8s = host.kubernetes;
  if (k8s.kubeconfigSecret !== undefined && !ctx.secretNames.includes(k8s.kubeconfigSecret)) {
    ctx.add(
      ["hosts", name, "kubernetes", "kubeconfigSecret"],
      `no secret "${k8s.kubeconfigSecret}" in secrets; set it to the whole kubeconfig with: pulumi config set ` +
        `--secret --path 'secrets.${k8s.kubeconfigSecret}' < kubeconfig.yaml, or remove kubeconfigSecret to use ` +
        "the operator's kubeconfig",
    );
  }
  const spec: Complete<ClusterSpec> = {
    name,
    context: k8s.context,
    kubeconfigSecret: k8s.kubeconfigSecret,
    namespace: k8s.namespace,
    serviceType: k8s.serviceType,
    address: host.address,
    spareGpus: k8s.spareGpus,
    storageClassName: k8s.storageClassName,
    volumeSize: k8s.volumeSize,
    volumeAccessMode: k8s.volumeAccessMode,
    nodePortRange: (([from, to]) => ({ from, to }))(k8s.nodePortRange.split("-").map(Number)),
  };
  return definedOnly(spec);
}
