/**
 * The I/O clients the rest of the project speaks to the outside world through:
 *
 * - registry: tags to digests through the registry API; credentials: whose they are, for which registry
 * - git: refs to commits (git ls-remote), a file's history, the local-edits check
 * - dockerCli: the docker CLI per host (ssh included), bounded; hostShell: a shell on a host through it
 * - remote: how a remote that did not answer in time is reported
 */
export { credentialsFrom, sourcedCredentialsFrom } from "./credentials";
export { fileHistory, localEditsRefusal, resolveRef } from "./git";
export { DEFAULT_TIMEOUT_MS, locate, resolveDigest, type RegistryCredentials } from "./registry";
export {
  DEFAULT_CALL_TIMEOUT_MS,
  DockerCli,
  DockerCliUnusable,
  HostUnreachable,
  connectionReason,
  isConnectionFailure,
  sshWrapperDir,
} from "./dockerCli";
export { runOnHost, sshTarget } from "./hostShell";
