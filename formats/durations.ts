/**
 * The one duration parser: Go durations as Docker and compose-go read them (30s, 1m30s, 500ms, 1h, 0). The stack
 * schema takes the narrower DURATION_RE; compose import takes what compose takes.
 */
import { GO_DURATION_RE } from "./regexes";

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  μs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Seconds in a duration such as 1m30s; a RangeError for anything that is not one ("10", "abc", "1m30"). */
export function durationSeconds(duration: string): number {
  if (!GO_DURATION_RE.test(duration)) {
    throw new RangeError(`"${duration}" is not a duration such as 30s, 1m30s or 500ms`);
  }
  let total = 0;
  for (const match of duration.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g))
    total += Number(match[1]) * UNIT_SECONDS[match[2]];
  return total;
}
