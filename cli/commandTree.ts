/**
 * The verbs of `gpu-services`, each declared once here (its arguments, options and help) and run by the main of
 * the per-verb CLI it names (plan.ts, release.ts, status.ts, doctor.ts, metrics.ts, logs.ts, compose.ts, summary.ts), with the stack
 * chosen once for all (stackChoice.ts). One word means one thing: `status` is what runs (live, from the hosts),
 * `pins` what the stack file pins, `plan` what the stack file asks for.
 */
import { Argument, Command, Option } from "commander";
import { main as compose, importOptions, type ComposeDeps } from "./compose";
import { main as doctor } from "./doctor";
import { main as logs } from "./logs";
import { main as metrics } from "./metrics";
import { main as plan } from "./plan";
import { main as release, type ReleaseDeps } from "./release";
import { main as status } from "./status";
import { main as summary } from "./summary";
import { chooseStack, planStacks, STACK_ENV } from "./stackChoice";
import { configSections, configReference } from "./configReference";
import { completionScript, SHELLS } from "./completion";
import { EXIT } from "./errors";

export interface TreeDeps extends ReleaseDeps, ComposeDeps {
  /** The environment `GPU_SERVICES_STACK` is read from (default this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** stdin for `summary` (default this process's). */
  readonly input?: () => Promise<string>;
}

/** What a verb's action gives the per-verb main: the stack chosen, the project folder, the verb's own options. */
interface VerbContext {
  readonly dir: string;
  readonly deps: TreeDeps;
  /** The exit code of the last main run. */
  code: number;
}

/** The verb's own options as the per-verb CLI takes them: `--name value`, `--flag`, `--list a b`. */
export function forwardedOptions(cmd: Command): string[] {
  const args: string[] = [];
  for (const option of cmd.options) {
    const key = option.attributeName();
    const value = cmd.getOptionValue(key);
    if (value === undefined || value === false || cmd.getOptionValueSource(key) === "default") continue;
    if (value === true) args.push(option.long!);
    else args.push(option.long!, ...(Array.isArray(value) ? value.map(String) : [String(value)]));
  }
  return args;
}

function stackOf(cmd: Command, ctx: VerbContext): string {
  return chooseStack(ctx.dir, cmd.optsWithGlobals<{ stack?: string }>().stack, ctx.deps.env ?? process.env);
}

const JSON_OPTION = "print JSON for scripts (shapes: docs/reference/json.md)";

function addPlan(root: Command, ctx: VerbContext): void {
  root
    .command("plan")
    .description("what each stack file asks for: hosts, services, ports, GPUs, each release's strategy and why")
    .option("--json", JSON_OPTION)
    .addHelpText("after", "\nWithout -s or GPU_SERVICES_STACK: every Pulumi.<stack>.yaml of the project folder.")
    .action((_opts, cmd: Command) => {
      const named = planStacks(ctx.dir, cmd.optsWithGlobals<{ stack?: string }>().stack, ctx.deps.env ?? process.env);
      const stacks = named.length > 0 ? ["--stack", ...named] : [];
      ctx.code = plan([...stacks, ...forwardedOptions(cmd)], ctx.deps);
    });
}

function addReleases(root: Command, ctx: VerbContext): void {
  root
    .command("release")
    .description("resolve a tag, digest or git ref and pin it for a service in Pulumi.<stack>.yaml")
    .argument("<service>")
    .argument("<value>", "registry tag, sha256:digest or tag@digest; or a git branch, tag or commit")
    .option("--timeout <seconds>", "how long the registry or git remote may take to answer (default 30)")
    .action(async (service: string, value: string, _opts, cmd: Command) => {
      const args = ["release", stackOf(cmd, ctx), service, value, ...forwardedOptions(cmd)];
      ctx.code = await release(args, ctx.deps);
    });
  root
    .command("rollback")
    .description("pin the previous release of a service again (or the one --to names)")
    .argument("<service>")
    .option("--to <value|n>", "a past release, by value or by its number in `history` (1 = the one before now)")
    .action(async (service: string, _opts, cmd: Command) => {
      ctx.code = await release(["rollback", stackOf(cmd, ctx), service, ...forwardedOptions(cmd)], ctx.deps);
    });
  root
    .command("history")
    .description("past releases of a service, newest first, from the git history of its stack file")
    .argument("<service>")
    .option("--json", JSON_OPTION)
    .action(async (service: string, _opts, cmd: Command) => {
      ctx.code = await release(["history", stackOf(cmd, ctx), service, ...forwardedOptions(cmd)], ctx.deps);
    });
  root
    .command("pins")
    .description("what the stack file pins for each service: image or build source, and its release")
    .option("--json", JSON_OPTION)
    .action(async (_opts, cmd: Command) => {
      ctx.code = await release(["status", stackOf(cmd, ctx), ...forwardedOptions(cmd)], ctx.deps);
    });
}

function addObserve(root: Command, ctx: VerbContext): void {
  root
    .command("status")
    .description("what runs, live from each host: containers, health, release against config, endpoints, GPU memory")
    .option("--json", JSON_OPTION)
    .option("--timeout <seconds>", "bound on each call to a host (default 15)")
    .option("--wait <seconds>", "read again until every service is ready, for at most this long")
    .action(async (_opts, cmd: Command) => {
      ctx.code = await status(["--stack", stackOf(cmd, ctx), ...forwardedOptions(cmd)], ctx.deps);
    });
  root
    .command("doctor")
    .description("will each host take the stack? ssh, Docker, NVIDIA runtime, GPUs, ports, volumes, disk, registry")
    .option("--json", JSON_OPTION)
    .option("--summary <file>", "append the findings as Markdown to this file (for $GITHUB_STEP_SUMMARY)")
    .option("--timeout <seconds>", "bound on each call to a host (default 15)")
    .action(async (_opts, cmd: Command) => {
      ctx.code = await doctor(["--stack", stackOf(cmd, ctx), ...forwardedOptions(cmd)], ctx.deps);
    });
  root
    .command("metrics")
    .description("how each service did over a window: requests/s, errors, p50/p99, held, shed, GPU use (reads only)")
    .option("--since <duration>", "the window: the last 15m, 1h, 24h … (default 1h)")
    .option("--json", JSON_OPTION)
    .option("--timeout <seconds>", "bound on each call to a host (default 15)")
    .action(async (_opts, cmd: Command) => {
      ctx.code = await metrics(["--stack", stackOf(cmd, ctx), ...forwardedOptions(cmd)], ctx.deps);
    });
  root
    .command("logs")
    .description("the logs of a service, one release's copy, the switch or the last push, across hosts (reads only)")
    .argument("[service]", "one service (default: every service of the stack)")
    .option(
      "--release <old|new|release>",
      "the copy of one release: old or new during a blue-green release, or a tag, digest or commit",
    )
    .option("--switch", "the stack's switch on each host")
    .option("--push", "the last push: the agent that carried the routing to the switch")
    .option("--since <duration|time>", "lines since then: 10m, 1h, or an RFC 3339 time")
    .option("--tail <lines>", "the last lines of each container (default 200)")
    .option("--grep <regex>", "only the lines that match")
    .option("--follow", "keep writing new lines until interrupted")
    .option("--timeout <seconds>", "bound on each call to a host (default 15)")
    .action(async (service: string | undefined, _opts, cmd: Command) => {
      const args = ["--stack", stackOf(cmd, ctx), ...(service ? [service] : []), ...forwardedOptions(cmd)];
      ctx.code = await logs(args, ctx.deps);
    });
  root
    .command("summary")
    .description("`pulumi stack output --json` (on stdin) as a Markdown job summary: endpoints, images deployed")
    .action(async (_opts, cmd: Command) => {
      ctx.code = await summary(["--stack", stackOf(cmd, ctx)], ctx.deps);
    });
}

function addCompose(root: Command, ctx: VerbContext): void {
  const group = root.command("compose").description("Docker Compose files (Dockge's) into the stack file, and back");
  importOptions(group.command("import")).action(async (file: string, _opts, cmd: Command) => {
    const args = ["import-compose", file, "--stack", stackOf(cmd, ctx), ...forwardedOptions(cmd)];
    ctx.code = await compose(args, ctx.deps);
  });
  group
    .command("export")
    .description("write one compose file per Docker host of the stack")
    .option("--out <dir>", "folder for the files (default compose-export)")
    .action(async (_opts, cmd: Command) => {
      const args = ["export-compose", "--stack", stackOf(cmd, ctx), ...forwardedOptions(cmd)];
      ctx.code = await compose(args, ctx.deps);
    });
}

function addHelpers(root: Command, ctx: VerbContext, out: (s: string) => void): void {
  root
    .command("docs")
    .description("print the stack config reference (every key, its type, default and meaning)")
    .addArgument(new Argument("[section]", "one section of it").choices(configSections()))
    .action((section: string | undefined) => {
      out(configReference(section));
      ctx.code = EXIT.ok;
    });
  root
    .command("completion")
    .description("print the shell completion script (bash: source it; zsh: put it on fpath as _gpu-services)")
    .addArgument(new Argument("<shell>", "bash or zsh").choices(SHELLS))
    .action((shell: (typeof SHELLS)[number]) => {
      out(completionScript(shell, root));
      ctx.code = EXIT.ok;
    });
}

/** The whole command tree; its actions set `ctx.code` to the exit code of what they ran. */
export function commandTree(
  root: Command,
  dir: string,
  deps: TreeDeps,
  out: (s: string) => void,
): { root: Command; ctx: VerbContext } {
  const ctx: VerbContext = { dir, deps, code: EXIT.ok };
  root.addOption(
    new Option(
      "-s, --stack <stack>",
      `the stack to work on (default: $${STACK_ENV}, else the only Pulumi.<stack>.yaml)`,
    ),
  );
  addPlan(root, ctx);
  addReleases(root, ctx);
  addObserve(root, ctx);
  addCompose(root, ctx);
  addHelpers(root, ctx, out);
  return { root, ctx };
}
