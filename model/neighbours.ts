/** The stacks named in `sharesHostsWith`: loaded beforehand, checked against this one. */
import type { ModelContext } from "./context";
import type { DeploymentModel } from "./types";

/**
 * The models of the neighbour stacks this one is checked against; a neighbour that is this stack, is missing or
 * is itself invalid is a problem at its `sharesHostsWith` entry. Each stack is taken once, however often listed.
 * Without a `loaded` map (a neighbour being built, an old version of a file) no check is asked for.
 */
export function resolveNeighbours(
  ctx: ModelContext,
  sharesHostsWith: readonly string[],
  loaded: ReadonlyMap<string, DeploymentModel | Error> | undefined,
): DeploymentModel[] {
  if (!loaded) return [];
  const neighbours: DeploymentModel[] = [];
  sharesHostsWith.forEach((other, index) => {
    if (sharesHostsWith.indexOf(other) < index) return;
    const at = ["sharesHostsWith", index];
    const neighbour = loaded.get(other);
    if (other === ctx.stack) ctx.add(at, "names this stack itself");
    else if (neighbour === undefined) ctx.add(at, `stack "${other}" was not loaded (is there a Pulumi.${other}.yaml?)`);
    else if (neighbour instanceof Error) {
      const firstProblem = neighbour.message.split("\n").slice(1, 2).join("").trim();
      ctx.add(at, `stack "${other}" cannot be checked against, its config is invalid: ${firstProblem}`);
    } else neighbours.push(neighbour);
  });
  return neighbours;
}
