/**
 * Live status and host checks, read from each host's Docker (ssh included) and nvidia-smi; nothing here changes
 * a host:
 *
 * - status: per service, its containers, health, release against config, endpoint and GPU memory
 * - doctor: per host, the checks (checks/) that tell whether it can run the stack
 * - their renderings for people (renderStatus, renderDoctor, the job summary)
 * - the stack's secrets as doctor reads them (the Pulumi CLI)
 */
export { runDoctor, type DoctorReport, type HostDoctor } from "./doctor";
export { doctorMarkdown, renderDoctor } from "./renderDoctor";
export { renderStatus } from "./renderStatus";
export { collectStatus, type StatusReport, type WithExitCode } from "./status";
export { pulumiSecretReader } from "./stackSecrets";
