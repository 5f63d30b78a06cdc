/**
 * Adoption of the containers Dockge started: a `pulumi import --file` document that brings them into the
 * stack under the names the program gives them, so the first `pulumi up` replaces them itself (delete-first)
 * instead of failing on their ports. Named volumes need no adoption: imported as `external`, they are used by
 * name and never created or deleted.
 */
import { execFileSync } from "node:child_process";
import type { DeploymentModel } from "../model";

export interface ImportFile {
  readonly nameTable: Record<string, string>;
  readonly resources: {
    readonly type: string;
    readonly name: string;
    readonly id?: string;
    readonly parent?: string;
    readonly provider?: string;
    readonly component?: boolean;
  }[];
}

export const COMPONENT_TYPE = "gpu-services:index:GpuService";
export const CONTAINER_TYPE = "docker:index/container:Container";

/** URN of a resource of this program, as the engine names it. */
export function urnOf(model: DeploymentModel, typePath: string, name: string): string {
  return `urn:pulumi:${model.stack}::${model.project}::${typePath}::${name}`;
}

/** The import document for existing containers: service name -> container ID on its host. */
export function importFile(model: DeploymentModel, containers: ReadonlyMap<string, string>): ImportFile {
  const nameTable: Record<string, string> = {};
  const resources: ImportFile["resources"][number][] = [];
  for (const s of model.services) {
    const id = containers.get(s.name);
    if (!id) continue;
    const provider = `${s.host}-docker`;
    nameTable[provider] = urnOf(model, "gpu-services:index:DockerHost$pulumi:providers:docker", provider);
    // The component is created empty by the import (a resource of the file, referred to by its name).
    resources.push({ type: COMPONENT_TYPE, name: s.name, component: true });
    resources.push({ type: CONTAINER_TYPE, name: `${s.name}-container`, id, parent: s.name, provider });
  }
  return { nameTable, resources };
}

/**
 * The commands that adopt the containers, in order, as the real engine takes them (`npm run e2e`, its adoption step): the
 * import file refers to each host's docker provider, which must exist first, and `--target` of a provider
 * needs its parent DockerHost targeted too; `pulumi import` generates no code (the program already has it).
 */
export function adoptionCommands(model: DeploymentModel, hostNames: readonly string[], file: string): string[] {
  const targets = hostNames.flatMap((host) => [
    `--target '${urnOf(model, "gpu-services:index:DockerHost", host)}'`,
    `--target '${urnOf(model, "gpu-services:index:DockerHost$pulumi:providers:docker", `${host}-docker`)}'`,
  ]);
  return [
    `pulumi up --stack ${model.stack} ${targets.join(" ")}`,
    `pulumi import --stack ${model.stack} --file ${file} --protect=false --generate-code=false`,
    `pulumi up --stack ${model.stack}`,
  ];
}

/** The ID of the first of these containers that exists on the Docker host, if any. */
export function findContainerId(dockerHost: string, names: readonly string[]): string | undefined {
  for (const name of names) {
    try {
      return execFileSync("docker", ["-H", dockerHost, "inspect", "--type", "container", "--format", "{{.Id}}", name], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      // not there under that name
    }
  }
  return undefined;
}
