/**
 * `gpu-services logs [service] [--release old|new|<release>] [--switch | --push] [--since] [--tail] [--grep]
 * [--follow] [--timeout]`: the logs of a stack's containers across its hosts, over the same path as `status`,
 * each line prefixed with its host and container. Reads only. Exit codes: 0 read, 1 no container in scope,
 * 3 a host could not be reached (said on stderr; the others are still read); bad input as every CLI.
 */
import { InvalidArgumentError } from "commander";
import { durationSeconds } from "../formats";
import { ReportedError } from "../errors";
import { followLogs, formatLine, readLogs, type LogOptions, type LogsRead } from "../observe/logs/read";
import type { LogScope } from "../observe/logs/scope";
import { cliProgram, runCli, runMain, type CliDeps } from "./common";
import { OBSERVE_EXIT } from "./observeExit";
import { addObserveOptions, observeInputs, type ObserveOptions } from "./observeOptions";

/** Lines of each container by default, and at most. */
export const DEFAULT_TAIL = 200;
export const MAX_TAIL = 10_000;

/** `--since`: a duration (10m, 1h30m) or an RFC 3339 time, as docker logs takes it. */
export function logSinceOption(value: string): string {
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(value) && !Number.isNaN(Date.parse(value))) {
    return value;
  }
  try {
    if (durationSeconds(value) > 0) return value;
  } catch {
    // said below
  }
  throw new InvalidArgumentError("a duration such as 10m or 1h30m, or a time such as 2026-07-01T09:05:00Z");
}

export function tailOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TAIL)
    throw new InvalidArgumentError(`a whole number from 1 to ${MAX_TAIL}`);
  return n;
}

export function grepOption(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (error) {
    throw new InvalidArgumentError(`not a regular expression: ${(error as Error).message}`);
  }
}

interface LogsFlags extends ObserveOptions {
  readonly release?: string;
  readonly switch?: boolean;
  readonly push?: boolean;
  readonly since?: string;
  readonly tail?: number;
  readonly grep?: RegExp;
  readonly follow?: boolean;
}

/** The scope the flags ask for; a usage error for flags that contradict each other. */
function scopeOf(service: string | undefined, opts: LogsFlags, services: readonly string[]): LogScope {
  const picked = [opts.switch && "--switch", opts.push && "--push", service && `service ${service}`].filter(Boolean);
  if (picked.length > 1) throw new ReportedError("invalid", `logs: one scope at a time, not ${picked.join(" and ")}`);
  if ((opts.switch || opts.push) && opts.release !== undefined) {
    throw new ReportedError("invalid", "logs: --release picks a copy of a service, not of the switch or the push");
  }
  if (opts.switch) return { kind: "switch" };
  if (opts.push) return { kind: "push" };
  if (service !== undefined && !services.includes(service)) {
    throw new ReportedError(
      "invalid",
      `logs: unknown service "${service}"; services: ${services.join(", ") || "(none)"}`,
    );
  }
  return { kind: "services", service, release: opts.release };
}

/** What the read found besides lines, on stderr; the exit code. */
function verdict(read: LogsRead, scope: string, err: (s: string) => void): number {
  for (const u of read.unreachable) err(`logs: NOT REACHABLE: ${u}`);
  if (read.containers.length === 0) {
    err(`logs: no container of ${scope} on the hosts read`);
    return read.unreachable.length > 0 ? OBSERVE_EXIT.unreachable : OBSERVE_EXIT.attention;
  }
  return read.unreachable.length > 0 ? OBSERVE_EXIT.unreachable : OBSERVE_EXIT.ok;
}

function describe(scope: LogScope): string {
  if (scope.kind !== "services") return scope.kind === "switch" ? "the switch" : "the last push";
  const what = scope.service ?? "the stack's services";
  return scope.release === undefined ? what : `${what} (release ${scope.release})`;
}

export interface LogsDeps extends CliDeps {
  /** Ends `--follow` (default: SIGINT or SIGTERM of this process). */
  readonly signal?: AbortSignal;
}

export async function main(argv: string[], deps: LogsDeps = {}): Promise<number> {
  const { program, out, err, dir } = cliProgram(
    "logs",
    "The logs of a stack's containers across its hosts (reads only)",
    deps,
  );
  let code = 0;
  addObserveOptions(program, "read")
    .argument("[service]", "one service (default: every service of the stack)")
    .option(
      "--release <old|new|release>",
      "the copy of one release: old or new during a blue-green release, or a tag, digest or commit",
    )
    .option("--switch", "the stack's switch on each host")
    .option(
      "--push",
      "the last push: the agent that carried the routing to the switch, with the logs of a copy it removed",
    )
    .option("--since <duration|time>", "lines since then: 10m, 1h, or an RFC 3339 time", logSinceOption)
    .option("--tail <lines>", `the last lines of each container (default ${DEFAULT_TAIL})`, tailOption)
    .option("--grep <regex>", "only the lines that match", grepOption)
    .option("--follow", "keep writing new lines until interrupted")
    .action(async (service: string | undefined, opts: LogsFlags) => {
      const { model, timeoutMs } = observeInputs(dir, opts);
      const scope = scopeOf(
        service,
        opts,
        model.services.map((s) => s.name),
      );
      const options: LogOptions = { since: opts.since, tail: opts.tail ?? DEFAULT_TAIL, grep: opts.grep, timeoutMs };
      if (!opts.follow) {
        const read = await readLogs(model, scope, options);
        for (const line of read.lines) out(formatLine(line));
        code = verdict(read, describe(scope), err);
        return;
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      if (!deps.signal) process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
      try {
        const read = await followLogs(model, scope, options, (l) => out(formatLine(l)), deps.signal ?? stop.signal);
        code = verdict(read, describe(scope), err);
      } finally {
        process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
      }
    });
  const parsed = await runCli(program, argv, err);
  return parsed === 0 ? code : parsed;
}

if (require.main === module) runMain((argv) => main(argv));
