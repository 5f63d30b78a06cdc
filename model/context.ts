/**
 * What every builder of the deployment model shares: the stack being built and its stack-wide facts, and the
 * one list its problems go to.
 */
import type { z } from "zod";
import { formatPath } from "../formats";
import { zodProblems, type ConfigProblem } from "../stackConfig";

export interface ModelContext {
  readonly stack: string;
  readonly project: string;
  /** `requirePinnedImages`: floating tags and unpinned builds are refused. */
  readonly requirePinned: boolean;
  /** Names of the entries in `secrets`, sorted. */
  readonly secretNames: readonly string[];
  /** Every key of `hosts`, valid or not: a service naming one of them is not on an unknown host. */
  readonly hostNames: readonly string[];
  /**
   * The kind of each key of `hosts` that gives exactly one of `dockerHost` and `kubernetes` (valid or not): what a
   * service placed there may use. A host that gives neither or both is reported by its schema, and has no kind.
   */
  readonly hostKinds: ReadonlyMap<string, "docker" | "kubernetes">;
  /** The project folder: files the config names (a readiness body) are read from it. */
  readonly projectDir: string;
  /** Record a problem at a key path. */
  add(path: readonly PropertyKey[], message: string): void;
  /** Record the issues of a failed parse of the value at `prefix`. */
  addZod(error: z.ZodError, schema: z.ZodType, input: unknown, prefix: readonly PropertyKey[]): void;
}

/** A context collecting problems into `problems`. */
export function createContext(
  facts: Omit<ModelContext, "add" | "addZod">,
  problems: ConfigProblem[],
  sensitive: (path: readonly PropertyKey[]) => boolean,
): ModelContext {
  return {
    ...facts,
    add: (path, message) => problems.push({ path: formatPath(path), message }),
    addZod: (error, schema, input, prefix) =>
      problems.push(...zodProblems(error, schema, input, prefix, { sensitive })),
  };
}
