/**
 * The raw stack config: `Pulumi.<stack>.yaml` (keys under the `gpu-services:` namespace) as zod schemas, read from
 * the Pulumi runtime or a stack file, and its problems at full key paths. What needs the whole stack is the
 * model's (model/).
 *
 * - namespace: `CONFIG_NAMESPACE`
 * - stackSchema, hostSchema, serviceSchema, readinessSchema, switchSchema, imageSchema: the schemas (fields.ts: the
 *   small ones they share)
 * - problems: `StackConfigError`, zod issues as problems at key paths
 * - read: the config from the Pulumi runtime or a stack file (`StackFileError` when it is not one)
 */
export * from "./hostSchema";
export * from "./imageSchema";
export * from "./namespace";
export * from "./problems";
export * from "./read";
export * from "./readinessSchema";
export * from "./serviceSchema";
export * from "./stackSchema";
export * from "./switchSchema";
