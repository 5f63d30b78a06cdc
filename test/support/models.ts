/** Small models for unit tests of the model's consumers: services on one local host. */
import { buildModel, type DeploymentModel } from "../../model";

/** Stack "dev" with one host, `lab` (the local daemon), and these services on it (`host: "lab"` filled in). */
export function labModel(services: Record<string, Record<string, unknown>>): DeploymentModel {
  return buildModel(
    {
      hosts: { lab: { dockerHost: "unix:///var/run/docker.sock" } },
      services: Object.fromEntries(Object.entries(services).map(([name, s]) => [name, { host: "lab", ...s }])),
    },
    { stack: "dev" },
  );
}

/** The image most of those services pull. */
export const NGINX = { repository: "nginx", tag: "1.27" } as const;
