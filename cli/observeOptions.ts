/** Options `status` and `doctor` share. */
import { InvalidArgumentError } from "commander";

/** `--timeout <seconds>` as milliseconds: a whole number of seconds from 1 to 600. */
export function timeoutOption(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) {
    throw new InvalidArgumentError("a whole number of seconds from 1 to 600");
  }
  return seconds * 1000;
}
