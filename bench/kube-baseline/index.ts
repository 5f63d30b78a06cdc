/**
 * The Kubernetes scale bench's baseline (bench/kubeScale.bench.ts): the Deployments and Services the gpu-services
 * program registers for the bench's stack, with the same inputs and rollout timeouts (the bench takes them from
 * the program's `pulumi preview --json`), registered directly with @pulumi/kubernetes on a provider like the
 * `Cluster` component's.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";

/** One object as the bench writes it: its resource type and name, its inputs, its create/update timeout. */
interface BaselineObject {
  readonly type: "kubernetes:apps/v1:Deployment" | "kubernetes:core/v1:Service";
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly timeout?: string;
}

const config = new pulumi.Config();
const objects = JSON.parse(fs.readFileSync(config.require("objects"), "utf8")) as BaselineObject[];
const provider = new k8s.Provider("lab", {
  namespace: config.require("namespace"),
  context: config.require("context"),
  enableSecretMutable: true,
});

for (const o of objects) {
  const opts: pulumi.CustomResourceOptions = {
    provider,
    ...(o.timeout ? { customTimeouts: { create: o.timeout, update: o.timeout } } : {}),
  };
  if (o.type === "kubernetes:apps/v1:Deployment") new k8s.apps.v1.Deployment(o.name, o.inputs, opts);
  else new k8s.core.v1.Service(o.name, o.inputs, opts);
}
