/**
 * `healthcheck`: when it names its test, or is disabled.
 */
import { ComposeError } from "../errors";
import type { ComposeMap } from "../read";
import { map, shapeError } from "../shape";
import { DURATION_RE } from "../../formats";
import { composeDuration } from "../syntax";
import type { Mapper, ServiceScope } from "./scope";

/** A healthcheck duration checked as compose checks it, in the stack's form (`0` and `µs` as seconds). */
function duration(value: unknown, key: string, at: string): Record<string, string> {
  if (value === undefined) return {};
  const seconds = composeDuration(value, at);
  return { [key]: DURATION_RE.test(String(value)) ? String(value) : `${seconds}s` };
}

/** The healthcheck, when it names its test (or is disabled). */
function healthcheckConfig(svc: ComposeMap, { at, warnings }: ServiceScope): Record<string, unknown> {
  if (svc.healthcheck === undefined) return {};
  const h = map(svc.healthcheck, `${at}.healthcheck`);
  if (h.disable === true && h.test !== undefined)
    throw new ComposeError(`${at}.healthcheck: disable: true and test conflict`);
  for (const k of Object.keys(h)) {
    if (!["test", "interval", "timeout", "retries", "start_period", "disable"].includes(k)) {
      warnings.push(`${at}.healthcheck.${k}: not carried over`);
    }
  }
  if (h.test !== undefined && typeof h.test !== "string" && !Array.isArray(h.test)) {
    throw shapeError(`${at}.healthcheck.test`, "a list such as [CMD, curl, -f, …] or a string", h.test);
  }
  if (h.disable === true) return { healthcheck: { test: ["NONE"] } };
  if (h.test === undefined) {
    warnings.push(
      `${at}.healthcheck: has no test, so compose keeps the image's HEALTHCHECK test with these timings; ` +
        "not carried over (a stack healthcheck names its test)",
    );
    return {};
  }
  return {
    healthcheck: {
      test: typeof h.test === "string" ? h.test : (h.test as unknown[]).map(String),
      ...duration(h.interval, "interval", `${at}.healthcheck.interval`),
      ...duration(h.timeout, "timeout", `${at}.healthcheck.timeout`),
      ...(h.retries !== undefined ? { retries: Number(h.retries) } : {}),
      ...duration(h.start_period, "startPeriod", `${at}.healthcheck.start_period`),
    },
  };
}

export const healthcheckMapper: Mapper = { compose: ["healthcheck"], map: healthcheckConfig };
