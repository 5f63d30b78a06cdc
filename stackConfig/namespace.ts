/** The config namespace: the project name in Pulumi.yaml; stack config keys are `gpu-services:<key>`. */
export const CONFIG_NAMESPACE = "gpu-services";
