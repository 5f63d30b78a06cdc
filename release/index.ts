/**
 * What the release CLI reads and writes:
 *
 * - releases: a service's release in a stack file (read, written back, formatted)
 * - git: refs to commits (git ls-remote), the stack file's history, the local-edits check
 * - registry: tags to digests through the registry API; credentials: whose they are, for which registry
 */
export { credentialsFrom, sourcedCredentialsFrom } from "./credentials";
export { fileHistory, localEditsRefusal, resolveRef } from "./git";
export { DEFAULT_TIMEOUT_MS, locate, resolveDigest, type RegistryCredentials } from "./registry";
export { findService, formatRelease, releaseOf, withRelease, type Release } from "./releases";
