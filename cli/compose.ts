/**
 * From Dockge's compose files to stack config and back: `gpu-services compose import|export` (commandTree.ts),
 * and its alias `npm run compose -- <command>`:
 *
 *   import-compose <compose.yaml> --stack <stack> [--host <name>] [--rename a=b] [--service <name>]
 *                  [--replace] [--import-file <path>]
 *   export-compose --stack <stack> [--out <dir>]
 *
 * Exit codes: EXIT (cli/errors.ts), docs/reference/exit-codes.md; nothing is written on any error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { parseDocument, type Document } from "yaml";
import { asPlainObject } from "../formats";
import { CONFIG_NAMESPACE, parseStackYaml } from "../stackConfig";
import { isOnCluster, isOnDocker, loadStackModel, type DeploymentModel } from "../model";
import {
  adoptionCommands,
  findContainerId,
  importFile,
  exportCompose,
  exportNotes,
  ComposeError,
  importSteps,
  type importCompose,
  type ImportStep,
} from "../compose";
import { ReportedError } from "../errors";
import { cliProgram, runCli, runMain, stackFilePath, type CliDeps } from "./common";
import { writeAll, type PlannedWrite } from "./files";
import { noProgress, type ProgressLines } from "./progress";
import { renderChecked } from "../stackEdit";

export interface ComposeDeps extends CliDeps {
  /** Finds a running container's ID on a host (default: `docker -H <host> inspect`). */
  readonly findContainerId?: typeof findContainerId;
  /** The environment compose files are interpolated with (default: this process's). */
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

interface ImportOptions {
  readonly stack: string;
  readonly host?: string;
  readonly rename?: string[];
  readonly service?: string[];
  readonly replace?: boolean;
  readonly importFile?: string;
  readonly profile?: string[];
  readonly envFile?: string[];
}

interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly dir: string;
  readonly deps: ComposeDeps;
}

type Imported = ReturnType<typeof importCompose>;

/** The host the services go to: --host, or the stack's only one; a usage error naming the hosts otherwise. */
function chooseHost(stack: string, hosts: readonly string[], asked: string | undefined): string {
  const host = asked ?? (hosts.length === 1 ? hosts[0] : undefined);
  if (!host || !hosts.includes(host)) {
    throw new ReportedError(
      "invalid",
      `say which host the services run on with --host; hosts in stack "${stack}": ${hosts.join(", ") || "(none: add one first)"}`,
    );
  }
  return host;
}

function parseRenames(renames: readonly string[] = []): Record<string, string> {
  const rename: Record<string, string> = {};
  for (const r of renames) {
    const [from, to] = r.split("=");
    if (!from || !to) throw new ReportedError("invalid", `--rename takes from=to (got "${r}")`);
    rename[from] = to;
  }
  return rename;
}

/** The `secrets` names a stack has or its services refer to: an import gives none of them to a new value. */
function secretNamesOf(current: { config?: Record<string, unknown> } | null | undefined): string[] {
  const services = Object.values(asPlainObject(current?.config?.[`${CONFIG_NAMESPACE}:services`]));
  return [
    ...Object.keys(asPlainObject(current?.config?.[`${CONFIG_NAMESPACE}:secrets`])),
    ...services.flatMap((service) => Object.values(asPlainObject(asPlainObject(service).secretEnv)).map(String)),
  ];
}

/** Run an import to its end, letting progress lines be drawn between its services. */
async function stepThrough(steps: Generator<ImportStep, Imported>, item: string, lines: ProgressLines) {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    const { service, index, count } = next.value;
    lines.update(item, `service ${index + 1} of ${count}: ${service}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The compose file's services as stack config; a ComposeError is bad input, naming the file. */
async function readCompose(
  composePath: string,
  host: string,
  takenSecretNames: string[],
  opts: ImportOptions,
  lines: ProgressLines,
  io: Io,
): Promise<Imported> {
  try {
    const steps = importSteps(fs.readFileSync(composePath, "utf8"), {
      composeDir: path.dirname(path.resolve(composePath)),
      host,
      rename: parseRenames(opts.rename),
      environment: io.deps.environment ?? process.env,
      ...(opts.service ? { only: opts.service } : {}),
      takenSecretNames,
      ...(opts.profile ? { profiles: opts.profile } : {}),
      ...(opts.envFile ? { envFiles: opts.envFile } : {}),
    });
    return await stepThrough(steps, composePath, lines);
  } catch (e) {
    if (e instanceof ComposeError) throw new ReportedError("invalid", `${composePath}: ${e.message}`);
    throw e;
  }
}

/** The services set into the stack file's document; one the stack has already is refused without --replace. */
function mergeServices(doc: Document, imported: Imported, opts: ImportOptions): void {
  const at = ["config", `${CONFIG_NAMESPACE}:services`];
  if (!doc.hasIn(at)) doc.setIn(at, doc.createNode({}));
  for (const [name, s] of Object.entries(imported.services)) {
    if (doc.hasIn([...at, name]) && !opts.replace) {
      throw new ReportedError(
        "refused",
        `stack "${opts.stack}" already has services.${name}; --replace to overwrite it, or --rename`,
      );
    }
    doc.setIn([...at, name], doc.createNode(s.config));
  }
}

/** The `pulumi import --file` document adopting the running containers (a warning for each not found). */
function adoptionWrite(model: DeploymentModel, host: string, imported: Imported, file: string, io: Io): PlannedWrite {
  const find = io.deps.findContainerId ?? findContainerId;
  const ids = new Map<string, string>();
  const dockerHost = model.hosts.find((h) => h.name === host)!.dockerHost;
  for (const [name, s] of Object.entries(imported.services)) {
    const id = find(dockerHost, [s.composeContainer, `${imported.project}_${s.composeName}_1`]);
    if (id) ids.set(name, id);
    else
      io.err(
        `warning: no running container ${s.composeContainer} on ${dockerHost}: services.${name} is not in the import file`,
      );
  }
  return { path: file, text: `${JSON.stringify(importFile(model, ids), null, 2)}\n` };
}

/** What was written, skipped and left to do: the secrets to set, the adoption commands. */
function reportImport(
  file: string,
  host: string,
  model: DeploymentModel,
  imported: Imported,
  opts: ImportOptions,
  io: Io,
) {
  for (const w of imported.warnings) io.err(`warning: ${w}`);
  io.out(
    `wrote services ${Object.keys(imported.services).join(", ")} into ${path.basename(file)} (compose project "${imported.project}")`,
  );
  for (const [name, profiles] of Object.entries(imported.skipped)) {
    io.err(`skipped services.${name}: only in profiles ${profiles.join(", ")} (--profile to import it)`);
  }
  if (imported.secrets.length > 0) {
    io.out("secret values were not written; set them (the stack refers to them) with:");
    for (const secret of imported.secrets) {
      io.out(
        `  pulumi config set --stack ${opts.stack} --secret --path '${CONFIG_NAMESPACE}:secrets.${secret.name}' ` +
          `<the value of ${secret.from}>`,
      );
    }
  }
  if (opts.importFile) {
    io.out(`wrote ${opts.importFile}; to adopt the running containers, run:`);
    for (const command of adoptionCommands(model, [host], opts.importFile)) io.out(`  ${command}`);
  }
}

async function importComposeCommand(composePath: string, opts: ImportOptions, io: Io): Promise<void> {
  // Bad arguments are said before any progress line is drawn.
  if (!fs.existsSync(composePath)) throw new ReportedError("invalid", `no compose file at ${composePath}`);
  stackFilePath(io.dir, opts.stack);
  await (io.deps.progress ?? noProgress)([composePath], (lines) => importInto(composePath, opts, lines, io));
}

async function importInto(composePath: string, opts: ImportOptions, lines: ProgressLines, io: Io): Promise<void> {
  const file = stackFilePath(io.dir, opts.stack);
  const text = fs.readFileSync(file, "utf8");
  // A file that is not YAML is a StackFileError: EXIT.config, naming the file and line (cli/common.ts).
  const current = parseStackYaml(text, path.basename(file));
  const doc = parseDocument(text);
  const host = chooseHost(
    opts.stack,
    Object.keys(asPlainObject(current?.config?.[`${CONFIG_NAMESPACE}:hosts`])),
    opts.host,
  );
  const hostConfig = asPlainObject(asPlainObject(current?.config?.[`${CONFIG_NAMESPACE}:hosts`])[host]);
  if (opts.importFile && hostConfig.kubernetes !== undefined) {
    throw new ReportedError(
      "invalid",
      `--import-file adopts the running containers of a Docker host, and host "${host}" is a cluster ` +
        "(hosts." +
        host +
        ".kubernetes): import without --import-file; the first pulumi up creates its objects",
    );
  }
  lines.update(composePath, "reading");
  const imported = await readCompose(composePath, host, secretNamesOf(current), opts, lines, io);
  mergeServices(doc, imported, opts);
  lines.update(composePath, `checking stack "${opts.stack}" with the imported services`);
  const { text: next, model } = renderChecked(
    doc,
    opts.stack,
    io.dir,
    "the imported services would make the stack invalid; nothing written",
    imported.secrets.map((secret) => secret.name),
  );
  const writes: PlannedWrite[] = [{ path: file, text: next, editsStackFile: true }];
  if (opts.importFile) writes.push(adoptionWrite(model, host, imported, opts.importFile, io));
  // Every output checked first, then each written whole: a refused import file leaves the stack file as it was.
  writeAll(writes);
  lines.done(composePath, `${Object.keys(imported.services).length} services imported`);
  reportImport(file, host, model, imported, opts, io);
}

function exportComposeCommand(opts: { stack: string; out: string }, io: Io): void {
  stackFilePath(io.dir, opts.stack);
  const model = loadStackModel(opts.stack, io.dir);
  const outStat = fs.lstatSync(opts.out, { throwIfNoEntry: false });
  if (outStat && !outStat.isDirectory()) {
    throw new ReportedError("invalid", `--out ${opts.out} is not a folder (it is an existing file); nothing written`);
  }
  if (!outStat) fs.mkdirSync(opts.out, { recursive: true });
  const files = [...exportCompose(model)].map(([name, text]) => ({ path: path.join(opts.out, name), text }));
  writeAll(files);
  for (const written of files) io.out(written.path);
  // Compose runs containers on a Docker host: a cluster's services are left out, each named.
  for (const s of model.services.filter(isOnCluster)) {
    io.err(
      `note: services.${s.name} runs on cluster "${s.host}" (Kubernetes objects, not a container): not exported; ` +
        "compose files are for the Docker hosts",
    );
  }
  for (const note of exportNotes(model)) io.err(note);
  if (model.services.filter(isOnDocker).some((s) => Object.keys(s.secretEnv).length > 0)) {
    io.err("warning: secret env values are not written; compose takes them from its environment (${NAME})");
  }
}

/**
 * The import's description, argument and options, the same under `gpu-services compose import` and this CLI's
 * `import-compose`.
 */
export function importOptions(command: Command): Command {
  return command
    .description("write the services of a compose file into Pulumi.<stack>.yaml")
    .argument("<compose>", "compose file (Dockge: stacks/<stack>/compose.yaml)")
    .option("--host <name>", "host (a key of hosts in the stack) the services run on; default the only one")
    .option("--rename <from=to...>", "give a compose service another name in the stack")
    .option("--service <name...>", "import only these compose services")
    .option("--replace", "replace services the stack already has")
    .option("--import-file <path>", "also write a `pulumi import --file` document adopting the running containers")
    .option("--profile <name...>", "also import the services of these compose profiles (as docker compose --profile)")
    .option(
      "--env-file <path...>",
      "variables for interpolation instead of the .env beside the file (later files win)",
    );
}

export async function main(argv: string[], deps: ComposeDeps = {}): Promise<number> {
  const { program, out, err, dir } = cliProgram("compose", "Docker Compose files to stack config and back", deps);
  const io: Io = { out, err, dir, deps };
  importOptions(
    program.command("import-compose").requiredOption("--stack <stack>", "stack whose file receives the services"),
  ).action((composePath: string, opts: ImportOptions) => importComposeCommand(composePath, opts, io));
  program
    .command("export-compose")
    .description("write one compose file per host of a stack")
    .requiredOption("--stack <stack>", "stack to export")
    .option("--out <dir>", "folder for the files", "compose-export")
    .action((opts: { stack: string; out: string }) => exportComposeCommand(opts, io));
  return runCli(program, argv, err);
}

if (require.main === module) runMain(main);
