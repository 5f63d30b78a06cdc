/**
 * The shared formats: what a value of the stack config, a compose file or a CLI argument may look like, and how it
 * is read or written. Nothing here knows the stack config's shape (stackConfig/) or the model (model/).
 *
 * - regexes: names, image references, digests, git refs, env names, durations, Docker host URIs
 * - sizes: Docker sizes (`16g`) in bytes, MiB
 * - durations: the one strict duration parser (`1m30s` -> 90)
 * - urls: credentials in URLs, found and redacted
 * - addresses: Docker host addresses, `[v6]:port`, overlapping published ports
 * - keyPaths: `services.stt.ports[0].host`, written and read back
 * - kubernetes: Kubernetes names, label keys and values, quantities, numeric users
 * - objects: the plain-object guard
 * - vocabulary: restart policies, IPC modes, ulimit names, floating tags, label keys, secret names
 * - yamlData: the careful YAML reader (duplicate keys refused, aliases capped)
 */
export * from "./addresses";
export * from "./durations";
export * from "./keyPaths";
export * from "./kubernetes";
export * from "./objects";
export * from "./regexes";
export * from "./sizes";
export * from "./urls";
export * from "./vocabulary";
export * from "./yamlData";
