/**
 * Which stack a `gpu-services` verb works on: `-s/--stack`, else `GPU_SERVICES_STACK`, else the only
 * `Pulumi.<stack>.yaml` of the project folder; with none of these, or several stack files, a usage error that
 * lists the stacks there are.
 */
import { listStacks } from "../model";
import { ReportedError } from "../errors";

/** The environment variable a shell sets once instead of passing `-s` to every verb. */
export const STACK_ENV = "GPU_SERVICES_STACK";

/** Where a stack was named, or undefined when neither the flag nor the environment names one. */
export function namedStack(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) return flag;
  const fromEnv = env[STACK_ENV];
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

/** The one stack a verb works on (see the file's comment). */
export function chooseStack(dir: string, flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const named = namedStack(flag, env);
  if (named !== undefined) return named;
  const stacks = listStacks(dir);
  if (stacks.length === 1) return stacks[0];
  const found = stacks.length === 0 ? `there is no Pulumi.<stack>.yaml in ${dir}` : `stacks: ${stacks.join(", ")}`;
  throw new ReportedError("invalid", `say which stack with -s <stack> or ${STACK_ENV}=<stack>; ${found}`);
}

/** The stacks `plan` prints: the one named, else every stack of the project folder. */
export function planStacks(dir: string, flag: string | undefined, env: NodeJS.ProcessEnv): string[] {
  const named = namedStack(flag, env);
  return named !== undefined ? [named] : listStacks(dir);
}
