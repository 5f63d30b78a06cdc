/** The gpu-services policy pack: `pulumi preview --policy-pack policy [--policy-pack-config policy/<stack>.json]`. */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("gpu-services", {
  description: "Safety rails for GPU services on Docker hosts and Kubernetes clusters",
  policies: POLICIES,
});
