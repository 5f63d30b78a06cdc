/**
 * The pinned values of a stack file: a service's release (a registry tag and digest, or a git commit) read from
 * `Pulumi.<stack>.yaml`, written back with the stack-file editor, and formatted.
 */
export { findService, formatRelease, releaseOf, withRelease, type Release } from "./releases";
