/**
 * Shell completion for `gpu-services`, generated from its command tree (commandTree.ts), so that a verb or an
 * option added there completes with no other change: verbs, options, the stacks of the folder after -s, files
 * where a value is a file, and an argument's choices.
 */
import type { Command, Option } from "commander";

export const SHELLS = ["bash", "zsh"] as const;

/** One node of the tree as the scripts need it: its words and which of its options take a value. */
interface Node {
  /** `""`, `/compose`, `/compose/import`. */
  readonly path: string;
  /** Subcommands, options and argument choices that may come next. */
  readonly words: string[];
  /** Its first argument names a file (a compose file). */
  readonly fileArgument: boolean;
}

const flagsOf = (o: Option) => [o.short, o.long].filter((f): f is string => f !== undefined);

/** Every command of the tree, depth first, with the options its ancestors add (the global -s). */
function nodes(cmd: Command, path = "", inherited: readonly Option[] = []): Node[] {
  const options = [...inherited, ...cmd.options];
  const choices = cmd.registeredArguments.flatMap((a) => a.argChoices ?? []);
  const words = [...cmd.commands.map((c) => c.name()), ...choices, ...options.flatMap(flagsOf), "-h", "--help"];
  const fileArgument = cmd.registeredArguments.some((a) => /compose|file/.test(a.name()));
  const here: Node = { path, words, fileArgument };
  return [here, ...cmd.commands.flatMap((c) => nodes(c, `${path}/${c.name()}`, path === "" ? cmd.options : inherited))];
}

/** Every option of the tree that takes a value, and those whose value is a file or folder. */
function valueOptions(root: Command): { value: string[]; file: string[]; stack: string[] } {
  const all: Option[] = [];
  const walk = (c: Command) => (all.push(...c.options), c.commands.forEach(walk));
  walk(root);
  const takes = all.filter((o) => o.required || o.optional);
  const isStack = (o: Option) => o.long === "--stack";
  const isFile = (o: Option) => /<(file|path|dir)/.test(o.flags);
  const unique = (os: Option[]) => [...new Set(os.flatMap(flagsOf))].sort();
  return {
    value: unique(takes.filter((o) => !isStack(o) && !isFile(o))),
    file: unique(takes.filter(isFile)),
    stack: unique(takes.filter(isStack)),
  };
}

const verbCase = (tree: Node[]) =>
  tree
    .filter((n) => n.path !== "")
    .map((n) => n.path)
    .join("|");

/**
 * The loop both shells run over the words before the cursor: it skips options and their values, and follows the
 * verbs into `$verb` (`/compose/import`). Only the loop's head and the word differ between bash and zsh.
 */
function verbWalk(head: string, word: string, tree: Node[], opts: ReturnType<typeof valueOptions>): string[] {
  return [
    `  ${head}`,
    `    w=${word}`,
    "    case $w in",
    `      ${[...opts.stack, ...opts.value, ...opts.file].join("|")}) ((i++)) ;;`,
    "      -*) ;;",
    `      *) case "$verb/$w" in ${verbCase(tree)}) verb="$verb/$w" ;; esac ;;`,
    "    esac",
    "  done",
  ];
}

function bash(root: Command): string {
  const tree = nodes(root);
  const opts = valueOptions(root);
  const name = root.name();
  return [
    `# bash completion for ${name}, generated from its command tree by \`${name} completion bash\`.`,
    `# Load it with: source <(${name} completion bash)`,
    "_gpu_services() {",
    "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} verb= i w words=",
    ...verbWalk("for ((i = 1; i < COMP_CWORD; i++)); do", "${COMP_WORDS[i]}", tree, opts),
    "  case $prev in",
    `    ${opts.stack.join("|")})`,
    '      words=$(for f in Pulumi.*.yaml; do [ -e "$f" ] && w=${f#Pulumi.} && echo "${w%.yaml}"; done)',
    '      COMPREPLY=($(compgen -W "$words" -- "$cur")); return ;;',
    `    ${opts.file.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`,
    `    ${opts.value.join("|")}) COMPREPLY=(); return ;;`,
    "  esac",
    "  case $verb in",
    ...tree.map((n) => `    "${n.path}") words="${n.words.join(" ")}" ;;`),
    "  esac",
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    ...tree
      .filter((n) => n.fileArgument)
      .map((n) => `  [[ $verb == "${n.path}" && $cur != -* ]] && COMPREPLY+=($(compgen -f -- "$cur"))`),
    "  return 0",
    "}",
    `complete -F _gpu_services ${name}`,
  ].join("\n");
}

function zsh(root: Command): string {
  const tree = nodes(root);
  const opts = valueOptions(root);
  const name = root.name();
  return [
    `#compdef ${name}`,
    `# zsh completion for ${name}, generated from its command tree by \`${name} completion zsh\`.`,
    `# Put it on fpath as _${name} (then compinit), or load it with: source <(${name} completion zsh)`,
    `_${name}() {`,
    "  local verb= w i prev=${words[CURRENT-1]}",
    "  local -a candidates stacks",
    ...verbWalk("for ((i = 2; i < CURRENT; i++)); do", "${words[i]}", tree, opts),
    "  case $prev in",
    `    ${opts.stack.join("|")})`,
    "      stacks=(Pulumi.*.yaml(N)); stacks=(${${stacks#Pulumi.}%.yaml})",
    "      compadd -a stacks; return ;;",
    `    ${opts.file.join("|")}) _files; return ;;`,
    `    ${opts.value.join("|")}) return ;;`,
    "  esac",
    "  case $verb in",
    ...tree.map((n) => `    "${n.path}") candidates=(${n.words.join(" ")}) ;;`),
    "  esac",
    "  compadd -a candidates",
    ...tree.filter((n) => n.fileArgument).map((n) => `  [[ $verb == "${n.path}" ]] && _files`),
    "}",
    "if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then",
    `  _${name} "$@"`,
    "else",
    `  compdef _${name} ${name}`,
    "fi",
  ].join("\n");
}

/** The completion script of `shell` for the tree under `root`. */
export function completionScript(shell: (typeof SHELLS)[number], root: Command): string {
  return shell === "bash" ? bash(root) : zsh(root);
}
