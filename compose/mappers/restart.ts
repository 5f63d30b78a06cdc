/**
 * `restart`: compose's default is `no`.
 */
import type { ComposeMap } from "../read";
import type { Mapper, ServiceScope } from "./scope";

/** The restart policy: compose's default is no (the stack's default would be unless-stopped). */
function restartConfig(svc: ComposeMap, { at, warnings }: ServiceScope): Record<string, unknown> {
  if (svc.restart === undefined) return { restart: "no" };
  const [policy, retries] = String(svc.restart).split(":");
  if (retries) warnings.push(`${at}.restart: the retry limit ${retries} is not carried over`);
  return { restart: policy };
}

export const restartMapper: Mapper = { compose: ["restart"], map: restartConfig };
