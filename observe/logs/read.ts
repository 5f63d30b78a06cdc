/**
 * `logs`: the containers in scope on each host, read with `docker logs --timestamps` over the same path as
 * `status` (ssh included), each call bounded in time and lines; the lines of every host and container in one
 * stream ordered by time, each prefixed with its host and container. A host that cannot be reached is named with
 * why, and the others are still read. With `follow`, each container's lines are written as they come.
 */
import type { Readable } from "node:stream";
import type { DeploymentModel } from "../../model";
import { DockerCli, HostUnreachable } from "../../clients";
import { readContainers } from "../hostSnapshot";
import { scopeContainers, scopeHosts, type LogScope } from "./scope";

export interface LogOptions {
  /** Docker's `--since`: a duration (10m, 1h) or a time (RFC 3339). */
  readonly since?: string;
  /** The last lines of each container. */
  readonly tail: number;
  /** Only the lines whose text matches. */
  readonly grep?: RegExp;
  readonly timeoutMs?: number;
}

export interface LogLine {
  readonly host: string;
  readonly container: string;
  /** Docker's timestamp of the line (RFC 3339, UTC). */
  readonly time: string;
  readonly text: string;
}

/** What a read found besides its lines: hosts not reached, and why a host has no container in scope. */
export interface LogsRead {
  readonly containers: readonly { readonly host: string; readonly container: string }[];
  readonly unreachable: readonly string[];
}

const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d) ?(.*)$/;

/** A line of `docker logs --timestamps`; its time with nine fraction digits, so that times sort as text. */
export function stampedLine(raw: string): { time: string; text: string } {
  const m = STAMPED.exec(raw);
  if (!m) return { time: "", text: raw };
  return { time: `${m[1]}.${(m[2] ?? "").padEnd(9, "0").slice(0, 9)}${m[3]}`, text: m[4] };
}

export function logArgs(container: string, opts: LogOptions, follow: boolean): string[] {
  const since = opts.since !== undefined ? ["--since", opts.since] : [];
  return ["logs", "--timestamps", "--tail", String(opts.tail), ...since, ...(follow ? ["--follow"] : []), container];
}

/** The line as `logs` prints it: host and container first, then Docker's time and the text. */
export const formatLine = (l: LogLine): string => `${l.host}/${l.container} ${l.time} ${l.text}`;

function linesOf(host: string, container: string, output: string, grep?: RegExp): LogLine[] {
  return output
    .split("\n")
    .filter((raw) => raw !== "")
    .map((raw) => ({ host, container, ...stampedLine(raw) }))
    .filter((l) => !grep || grep.test(l.text));
}

type HostTargets = { host: string; cli: DockerCli; containers: string[] } | { host: string; unreachable: string };

async function targetsOn(
  model: DeploymentModel,
  host: string,
  scope: LogScope,
  timeoutMs?: number,
): Promise<HostTargets> {
  const cli = new DockerCli(
    model.hosts.find((h) => h.name === host)!,
    timeoutMs,
  );
  try {
    return { host, cli, containers: scopeContainers(model, host, await readContainers(cli), scope) };
  } catch (error) {
    cli.close();
    if (error instanceof HostUnreachable) return { host, unreachable: error.message };
    throw error;
  }
}

/** The containers in scope on every host the scope reads, in parallel; a host not reached is said as such. */
async function targets(model: DeploymentModel, scope: LogScope, timeoutMs?: number): Promise<HostTargets[]> {
  return Promise.all(scopeHosts(model, scope).map((host) => targetsOn(model, host, scope, timeoutMs)));
}

function summary(found: HostTargets[]): LogsRead {
  return {
    containers: found.flatMap((t) =>
      "cli" in t ? t.containers.map((container) => ({ host: t.host, container })) : [],
    ),
    unreachable: found.flatMap((t) => ("unreachable" in t ? [t.unreachable] : [])),
  };
}

/** The lines in scope, across hosts, ordered by time. */
export async function readLogs(
  model: DeploymentModel,
  scope: LogScope,
  opts: LogOptions,
): Promise<LogsRead & { lines: LogLine[] }> {
  const found = await targets(model, scope, opts.timeoutMs);
  const lines: LogLine[] = [];
  const unreachable: string[] = [];
  await Promise.all(
    found.map(async (t) => {
      if (!("cli" in t)) return;
      try {
        for (const container of t.containers) {
          const out = await t.cli.call(logArgs(container, opts, false));
          if (out.timedOut)
            throw new HostUnreachable(t.host, t.cli.host.dockerHost, `docker logs ${container} did not finish in time`);
          lines.push(
            ...linesOf(t.host, container, out.stdout, opts.grep),
            ...linesOf(t.host, container, out.stderr, opts.grep),
          );
        }
      } catch (error) {
        if (!(error instanceof HostUnreachable)) throw error;
        unreachable.push(error.message);
      } finally {
        t.cli.close();
      }
    }),
  );
  lines.sort((a, b) => a.time.localeCompare(b.time));
  const read = summary(found);
  return { ...read, unreachable: [...read.unreachable, ...unreachable], lines };
}

/** Calls `write` with each line of a stream as it comes. */
function eachLine(stream: Readable, write: (raw: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    parts.forEach(write);
  });
  stream.on("end", () => rest && write(rest));
}

/** `docker logs --follow` of every container in scope: lines written as they come, until `signal` or every stream ends. */
export async function followLogs(
  model: DeploymentModel,
  scope: LogScope,
  opts: LogOptions,
  write: (line: LogLine) => void,
  signal?: AbortSignal,
): Promise<LogsRead> {
  const found = await targets(model, scope, opts.timeoutMs);
  const streams = found.flatMap((t) =>
    "cli" in t ? t.containers.map((c) => ({ t, c, child: t.cli.stream(logArgs(c, opts, true)) })) : [],
  );
  await Promise.all(
    streams.map(
      ({ t, c, child }) =>
        new Promise<void>((resolve) => {
          const onLine = (raw: string) => linesOf(t.host, c, raw, opts.grep).forEach(write);
          eachLine(child.stdout!, onLine);
          eachLine(child.stderr!, onLine);
          child.on("close", () => resolve());
          child.on("error", () => resolve());
          signal?.addEventListener("abort", () => child.kill("SIGTERM"), { once: true });
        }),
    ),
  );
  for (const t of found) if ("cli" in t) t.cli.close();
  return summary(found);
}
