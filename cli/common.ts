/** What the project's CLIs share: where stack files are, the commander setup, and exit codes. */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import { listStacks } from "../model";
import { ReportedError } from "../errors";
import { EXIT, EXIT_OF_KIND } from "./errors";
import { checkStackName } from "./files";
import type { Tracker } from "./progress";

export interface CliDeps {
  /** Folder holding Pulumi.<stack>.yaml; default the project root. */
  readonly projectDir?: string;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
  /** Shows the progress of long steps (default none: `gpu-services` gives a terminal's, cli/progress.ts). */
  readonly progress?: Tracker;
}

/** The path of a stack's file, or a usage error naming the stacks that exist. */
export function stackFilePath(dir: string, stack: string): string {
  checkStackName(stack);
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    throw new ReportedError(
      "invalid",
      `unknown stack "${stack}": no ${path.basename(file)}; stacks: ${listStacks(dir).join(", ") || "(none)"}`,
    );
  }
  return file;
}

/** A commander program that reports through `out`/`err` and throws instead of exiting. */
export function cliProgram(
  name: string,
  description: string,
  deps: CliDeps,
): { program: Command; out: (s: string) => void; err: (s: string) => void; dir: string } {
  const out = deps.out ?? console.log;
  const err = deps.err ?? console.error;
  const program = new Command()
    .name(name)
    .description(description)
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });
  return { program, out, err, dir: deps.projectDir ?? path.resolve(__dirname, "..") };
}

/** The exit code for what a CLI threw and what to say (never a raw stack trace for bad input). */
export function failureOf(error: unknown): { code: number; message?: string } {
  if (error instanceof ReportedError) return { code: EXIT_OF_KIND[error.kind], message: error.message };
  if (error instanceof CommanderError) return { code: error.exitCode === 0 ? EXIT.ok : EXIT.usage }; // commander said it
  return { code: EXIT.failure, message: (error as Error).stack ?? String(error) };
}

/** The exit code for what a CLI threw, after saying what went wrong. */
export function exitCodeFor(program: Command, error: unknown, err: (s: string) => void): number {
  const { code, message } = failureOf(error);
  if (message !== undefined) err(`${program.name()}: ${message}`);
  return code;
}

/** Run a program and turn what it throws into the exit codes of `EXIT`. */
export async function runCli(program: Command, argv: string[], err: (s: string) => void): Promise<number> {
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    return exitCodeFor(program, error, err);
  }
}

/** `runCli` for a program whose actions are synchronous. */
export function runCliSync(program: Command, argv: string[], err: (s: string) => void): number {
  try {
    program.parse(argv, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    return exitCodeFor(program, error, err);
  }
}

/** Start a CLI module's main when the file is run directly. */
export function runMain(main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
