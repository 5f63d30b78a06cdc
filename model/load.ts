/**
 * The model of a stack from its raw config or its file in the project folder, checked against the stacks it
 * names in `sharesHostsWith` (read from their files beside it).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readStackFile, type RawConfig } from "../stackConfig";
import { buildModel } from "./buildModel";
import type { DeploymentModel } from "./types";

/**
 * The model of a stack from its raw config, checked against the stacks it names in `sharesHostsWith` (read
 * from their files in the project folder).
 */
export function modelFromRaw(raw: RawConfig, stack: string, projectDir: string): DeploymentModel {
  // The engine says only which top-level keys hold a secret; the stack file says where.
  const ownFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
  let secretPaths = raw.secretPaths;
  if (secretPaths === undefined && [...raw.secretKeys].some((key) => key !== "secrets") && fs.existsSync(ownFile)) {
    try {
      secretPaths = readStackFile(ownFile).secretPaths;
    } catch {
      secretPaths = undefined; // the key is still named
    }
  }
  const names = Array.isArray(raw.values.sharesHostsWith)
    ? raw.values.sharesHostsWith.filter((n) => typeof n === "string")
    : [];
  const neighbours = new Map<string, DeploymentModel | Error>();
  for (const name of names as string[]) {
    const file = path.join(projectDir, `Pulumi.${name}.yaml`);
    if (name === stack || !fs.existsSync(file)) continue;
    try {
      const theirs = readStackFile(file);
      neighbours.set(
        name,
        buildModel(theirs.values, {
          stack: name,
          secretKeys: theirs.secretKeys,
          secretPaths: theirs.secretPaths,
          projectDir,
        }),
      );
    } catch (e) {
      neighbours.set(name, e as Error);
    }
  }
  return buildModel(raw.values, { stack, secretKeys: raw.secretKeys, secretPaths, neighbours, projectDir });
}

/** Model of a stack straight from its file in the project folder. */
export function loadStackModel(stack: string, projectDir: string): DeploymentModel {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    throw new Error(
      `Stack "${stack}" has no ${path.basename(file)}; stacks here: ${listStacks(projectDir).join(", ")}`,
    );
  }
  return modelFromRaw(readStackFile(file), stack, projectDir);
}

/** Stacks that have a Pulumi.<stack>.yaml in the project folder. */
export function listStacks(projectDir: string): string[] {
  return fs
    .readdirSync(projectDir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}
