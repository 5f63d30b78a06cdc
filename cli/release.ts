/**
 * Releases and rollbacks as one value in stack config: `gpu-services release|history|rollback|pins`
 * (commandTree.ts), and its alias `npm run release -- <command> <stack> …`:
 *
 *   release  <stack> <service> <tag|digest|git-ref>   resolve and pin it in Pulumi.<stack>.yaml
 *   history  <stack> <service>                        past releases from the file's git history
 *   rollback <stack> <service> [--to <value|n>]       write the previous (or the chosen) release back
 *   status   <stack>                                  what config says each service runs
 *
 * Then `pulumi up --stack <stack>` deploys it. Exit codes: EXIT (cli/errors.ts), docs/reference/exit-codes.md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DeploymentModel, ServiceSpec } from "../model";
import { DIGEST_RE, GIT_REF_RE, TAG_RE } from "../formats";
import { ReportedError } from "../errors";
import { cliProgram, runCli, runMain, stackFilePath, type CliDeps } from "./common";
import { writeAll } from "./files";
import { noProgress } from "./progress";
import {
  fileHistory,
  localEditsRefusal,
  resolveRef,
  credentialsFrom,
  DEFAULT_TIMEOUT_MS,
  locate,
  resolveDigest,
} from "../clients";
import { findService, formatRelease, releaseOf, withRelease, type Release } from "../pins";
import { modelOf } from "../stackEdit";

export interface ReleaseDeps extends CliDeps {
  readonly resolveDigest?: typeof resolveDigest;
  readonly env?: NodeJS.ProcessEnv;
}

export interface HistoryEntry {
  readonly commit: string;
  readonly date: string;
  readonly author: string;
  readonly value: string;
  readonly release: Release;
}

function load(file: string, stack: string): { text: string; model: DeploymentModel } {
  const text = fs.readFileSync(file, "utf8");
  return { text, model: modelOf(text, stack, path.dirname(file)) };
}

/** Past releases of a service, newest first: one entry per commit that changed its release. */
export function releaseHistory(file: string, stack: string, service: string): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  let previous: string | undefined;
  for (const version of fileHistory(file).reverse()) {
    let release: Release;
    try {
      release = releaseOf(findService(modelOf(version.text, stack), service));
    } catch {
      continue; // a version where the service did not exist or the file was invalid
    }
    const value = formatRelease(release);
    if (value !== previous)
      entries.push({ commit: version.commit, date: version.date, author: version.author, value, release });
    previous = value;
  }
  return entries.reverse();
}

async function resolveRelease(
  service: ServiceSpec,
  value: string,
  deps: ReleaseDeps,
  timeoutMs: number,
): Promise<Release> {
  const image = service.image;
  if (image.kind === "build") {
    if (image.contextKind !== "git") {
      throw new ReportedError(
        "invalid",
        `services.${service.name} builds from a local folder (${image.context}); only git builds have releases`,
      );
    }
    if (!GIT_REF_RE.test(value)) throw new ReportedError("invalid", `"${value}" is not a git branch, tag or commit`);
    return { kind: "build", ref: resolveRef(image.context, value, timeoutMs) };
  }
  const env = deps.env ?? process.env;
  const credentialsFor = credentialsFrom(env, locate(image.repository).registry);
  const resolve = deps.resolveDigest ?? resolveDigest;
  const at = value.lastIndexOf("@");
  const tag = at >= 0 ? value.slice(0, at) : DIGEST_RE.test(value) ? undefined : value;
  const digest = at >= 0 ? value.slice(at + 1) : DIGEST_RE.test(value) ? value : undefined;
  if (digest !== undefined && !DIGEST_RE.test(digest)) {
    throw new ReportedError("invalid", `"${digest}" is not a digest: sha256: followed by 64 lowercase hex digits`);
  }
  if (tag !== undefined && !TAG_RE.test(tag)) {
    throw new ReportedError("invalid", `"${tag}" is not a Docker tag (letters, digits, _ . -, at most 128)`);
  }
  // A digest is checked to exist; a tag is resolved to the digest it points at now.
  const pinned = await resolve(image.repository, digest ?? tag!, { credentialsFor, timeoutMs });
  return { kind: "registry", ...(tag !== undefined ? { tag } : {}), digest: pinned };
}

/** Write a release into the stack file, refusing to overwrite local edits. */
function write(file: string, stack: string, service: string, release: Release, deps: ReleaseDeps): void {
  const out = deps.out ?? console.log;
  const { text, model } = load(file, stack);
  const before = formatRelease(releaseOf(findService(model, service)));
  const after = formatRelease(release);
  if (before === after) {
    out(`${stack}/${service} is already at ${after}; ${path.basename(file)} unchanged`);
    return;
  }
  const next = withRelease(text, stack, service, release, path.dirname(file));
  writeAll([{ path: file, text: next, editsStackFile: true }]);
  out(`${stack}/${service}: ${before} -> ${after}`);
  out(`next: review and commit ${path.basename(file)}, then pulumi up --stack ${stack}`);
}

function refuseLocalEdits(file: string): void {
  const why = localEditsRefusal(file);
  if (why) throw new ReportedError("refused", `${why} (file left unchanged)`);
}

/** The past release `--to` names: a number back from the current one (default 1), or a value. */
function rollbackTarget(stack: string, service: string, current: string, entries: HistoryEntry[], to?: string) {
  if (to === undefined || /^\d+$/.test(to)) {
    const n = to === undefined ? 1 : Number(to);
    // Entry 0 is the release committed now; n counts back from it.
    const base = entries.length > 0 && entries[0].value === current ? 0 : -1;
    const target = entries[base + n];
    if (!target || n < 1) {
      throw new ReportedError(
        "unresolved",
        `${stack}/${service} has no release ${n} back (history has ${entries.length})`,
      );
    }
    return target;
  }
  const target = entries.find((e) => {
    const r = e.release;
    if (e.value === to) return true;
    if (r.kind === "build") return r.ref !== undefined && to.length >= 7 && r.ref.startsWith(to);
    return r.tag === to || r.digest === to;
  });
  if (!target) {
    throw new ReportedError(
      "unresolved",
      `"${to}" is not a past release of ${stack}/${service}; see: npm run release -- history ${stack} ${service}`,
    );
  }
  return target;
}

interface Io {
  readonly out: (line: string) => void;
  readonly dir: string;
  readonly deps: ReleaseDeps;
}

async function releaseCommand(stack: string, service: string, value: string, timeout: string, io: Io) {
  const seconds = Number(timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new ReportedError("invalid", `--timeout takes a number of seconds (got "${timeout}")`);
  }
  const file = stackFilePath(io.dir, stack);
  refuseLocalEdits(file);
  const spec = findService(load(file, stack).model, service);
  const item = `${stack}/${service}`;
  const source = spec.image.kind === "registry" ? spec.image.repository : spec.image.context;
  const release = await (io.deps.progress ?? noProgress)([item], async (lines) => {
    lines.update(item, `resolving ${value} at ${source}`);
    const resolved = await resolveRelease(spec, value, io.deps, seconds * 1000);
    lines.done(item, `${value} is ${formatRelease(resolved)}`);
    return resolved;
  });
  write(file, stack, service, release, io.deps);
}

function historyCommand(stack: string, service: string, json: boolean, io: Io): void {
  const file = stackFilePath(io.dir, stack);
  findService(load(file, stack).model, service);
  const entries = releaseHistory(file, stack, service);
  if (json) {
    io.out(
      JSON.stringify(
        entries.map(({ release: _, ...e }) => e),
        null,
        2,
      ),
    );
    return;
  }
  if (entries.length === 0) io.out(`no committed releases of ${stack}/${service} yet`);
  entries.forEach((e, i) =>
    io.out(`${String(i).padStart(2)}  ${e.commit.slice(0, 12)}  ${e.date}  ${e.author}  ${e.value}`),
  );
}

function rollbackCommand(stack: string, service: string, to: string | undefined, io: Io): void {
  const file = stackFilePath(io.dir, stack);
  refuseLocalEdits(file);
  const current = formatRelease(releaseOf(findService(load(file, stack).model, service)));
  const target = rollbackTarget(stack, service, current, releaseHistory(file, stack, service), to);
  write(file, stack, service, target.release, io.deps);
}

function statusCommand(stack: string, json: boolean, io: Io): void {
  const { model } = load(stackFilePath(io.dir, stack), stack);
  const rows = model.services.map((s) => ({
    service: s.name,
    source: s.image.kind === "registry" ? s.image.repository : s.image.context,
    kind: s.image.kind === "registry" ? (s.image.track ? "pull (tracking)" : "pull") : "build",
    release: formatRelease(releaseOf(s)),
  }));
  if (json) io.out(JSON.stringify(rows, null, 2));
  else for (const r of rows) io.out(`${r.service.padEnd(12)} ${r.kind.padEnd(15)} ${r.source}  ${r.release}`);
}

export async function main(argv: string[], deps: ReleaseDeps = {}): Promise<number> {
  const { program, out, err, dir } = cliProgram(
    "release",
    "Releases and rollbacks as one pinned value in Pulumi.<stack>.yaml",
    deps,
  );
  const io: Io = { out, dir, deps };
  program
    .command("release")
    .description("resolve a tag, digest or git ref and pin it for a service")
    .argument("<stack>")
    .argument("<service>")
    .argument("<value>", "registry tag, sha256:digest or tag@digest; or a git branch, tag or commit")
    .option(
      "--timeout <seconds>",
      "how long the registry or git remote may take to answer",
      String(DEFAULT_TIMEOUT_MS / 1000),
    )
    .action((stack: string, service: string, value: string, opts: { timeout: string }) =>
      releaseCommand(stack, service, value, opts.timeout, io),
    );
  program
    .command("history")
    .description("past releases of a service from the git history of its stack file, newest first")
    .argument("<stack>")
    .argument("<service>")
    .option("--json", "print JSON")
    .action((stack: string, service: string, opts: { json?: boolean }) =>
      historyCommand(stack, service, Boolean(opts.json), io),
    );
  program
    .command("rollback")
    .description("write the previous release of a service (or the one given) back")
    .argument("<stack>")
    .argument("<service>")
    .option("--to <value|n>", "a past release, by value or by number in `history` (1 = the one before now)")
    .action((stack: string, service: string, opts: { to?: string }) => rollbackCommand(stack, service, opts.to, io));
  program
    .command("status")
    .description("what the stack file says each service runs")
    .argument("<stack>")
    .option("--json", "print JSON")
    .action((stack: string, opts: { json?: boolean }) => statusCommand(stack, Boolean(opts.json), io));
  return runCli(program, argv, err);
}

if (require.main === module) runMain(main);
