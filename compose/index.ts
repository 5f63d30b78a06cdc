/**
 * Docker Compose files to stack config and back, as `npm run compose` uses them:
 *
 * - importCompose: a compose file read as `docker compose config` reads it (load, read, interpolate, envFile,
 *   extends, include), each service mapped to stack config by one mapper per concern (mappers/)
 * - exportCompose: a stack's services as a compose file docker-compose 1.29 and compose v2 both run
 * - adopt: the `pulumi import` file and commands that take over running containers
 */
export { adoptionCommands, findContainerId, importFile } from "./adopt";
export { ComposeError } from "./errors";
export { exportCompose, exportNotes } from "./export";
export { importCompose, importSteps, type ImportStep } from "./import";
