/**
 * `restart` and `deploy.restart_policy`, as compose v2 runs them: the policy of `deploy.restart_policy` when it is
 * there (its conditions mapped to Docker's policies), else `restart`, else compose's default `no` (not the stack's
 * `unless-stopped`).
 */
import { type ComposeMap } from "../read";
import { map } from "../shape";
import type { Mapper, ServiceScope } from "./scope";
import { isPlainObject } from "../../formats";

/** deploy.restart_policy.condition -> Docker's policy, as compose maps it (an empty condition restarts nothing). */
const CONDITIONS: Record<string, string> = {
  "": "no",
  none: "no",
  no: "no",
  "on-failure": "on-failure",
  "unless-stopped": "unless-stopped",
  any: "always",
  always: "always",
};

/** The policy of `deploy.restart_policy`; its retry limit and timings are named in warnings. */
function restartPolicy(policy: ComposeMap, at: string, warnings: string[]): string {
  for (const [key, value] of Object.entries(policy)) {
    if (key === "max_attempts")
      warnings.push(`${at}.max_attempts: the retry limit ${String(value)} is not carried over`);
    else if (key !== "condition")
      warnings.push(`${at}.${key}: not carried over (Docker restarts with its own back-off)`);
  }
  const condition = String(policy.condition ?? "");
  const restart = CONDITIONS[condition];
  if (restart === undefined) {
    warnings.push(`${at}.condition: "${condition}" is not a restart condition compose knows; taken as no`);
    return "no";
  }
  return restart;
}

/** The restart policy compose would run the container with. */
function restartConfig(svc: ComposeMap, { at, warnings }: ServiceScope): Record<string, unknown> {
  const deploy = isPlainObject(svc.deploy) ? svc.deploy : {};
  if (deploy.restart_policy !== undefined) {
    const where = `${at}.deploy.restart_policy`;
    return { restart: restartPolicy(map(deploy.restart_policy, where), where, warnings) };
  }
  if (svc.restart === undefined) return { restart: "no" };
  const [policy, retries] = String(svc.restart).split(":");
  if (retries) warnings.push(`${at}.restart: the retry limit ${retries} is not carried over`);
  return { restart: policy };
}

export const restartMapper: Mapper = { compose: ["restart"], map: restartConfig };
