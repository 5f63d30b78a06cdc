/** What `status` and `doctor` share: `--stack`, `--json` and `--timeout`, and the stack's model they read. */
import { InvalidArgumentError, type Command } from "commander";
import { modelFromRaw, type DeploymentModel } from "../model";
import { readStackFile } from "../stackConfig";
import { DEFAULT_CALL_TIMEOUT_MS } from "../clients";
import { stackFilePath } from "./common";

/** `--timeout <seconds>` as milliseconds: a whole number of seconds from 1 to 600. */
export function timeoutOption(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) {
    throw new InvalidArgumentError("a whole number of seconds from 1 to 600");
  }
  return seconds * 1000;
}

/** The options both commands take, as commander gives them. */
export interface ObserveOptions {
  readonly stack: string;
  readonly json?: boolean;
  /** Milliseconds (`timeoutOption`). */
  readonly timeout?: number;
}

/** Add `--stack`, `--json` and `--timeout` to `program`; `verb` says what is done to the stack. */
export function addObserveOptions(program: Command, verb: string): Command {
  return program
    .requiredOption("--stack <stack>", `the stack to ${verb}`)
    .option("--json", "print JSON for scripts (shapes: docs/reference/json.md)")
    .option(
      "--timeout <seconds>",
      `bound on each call to a host (default ${DEFAULT_CALL_TIMEOUT_MS / 1000})`,
      timeoutOption,
    );
}

/** The stack's model, from its file in `dir`, and the bound on each call to a host. */
export function observeInputs(dir: string, opts: ObserveOptions): { model: DeploymentModel; timeoutMs: number } {
  const model = modelFromRaw(readStackFile(stackFilePath(dir, opts.stack)), opts.stack, dir);
  return { model, timeoutMs: opts.timeout ?? DEFAULT_CALL_TIMEOUT_MS };
}
