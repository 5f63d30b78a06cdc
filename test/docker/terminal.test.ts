/**
 * `gpu-services` in a real terminal (tmux), as a person runs it from a clone: `plan` and `doctor` on a local stack
 * (this machine's dockerd), the screen read back. On a terminal doctor's progress is listr2's live list (a
 * spinner per host, the check it is at, drawn over in place); piped, it is plain lines naming the host, with no
 * escape sequence. Then the zsh completion script, loaded by a real zsh, completes a verb.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable, requireDocker } from "../labs/docker";
import { CHECK_IDS } from "../../observe/checks/types";
import { Terminal, tmuxAvailable } from "../labs/terminal";
import { readerEnv, ScratchProject } from "../support/scratchProject";

const run = (dockerAvailable && tmuxAvailable) || requireDocker;
const zshAvailable = spawnSync("zsh", ["--version"], { stdio: "ignore" }).status === 0;

/** The getting-started guide's local stack: one service built from examples/hello on this machine's Docker. */
const LOCAL_STACK = [
  "config:",
  "  gpu-services:hosts:",
  "    laptop:",
  "      dockerHost: unix:///var/run/docker.sock",
  "  gpu-services:services:",
  "    hello:",
  "      host: laptop",
  "      build:",
  "        context: examples/hello",
  "      ports:",
  "        - host: 8099",
  "          container: 8080",
  "",
].join("\n");

/** Every check of doctor runs for the local host. */
const CHECKS = CHECK_IDS.length;
const ESC = "\u001b";
/** Escape sequences taken out, to read the text a terminal was sent. */
const text = (raw: string) => raw.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] host laptop/;

describe.skipIf(!run)("gpu-services in a real terminal", () => {
  let scratch: ScratchProject;
  const env: NodeJS.ProcessEnv = { ...readerEnv(), TERM: "xterm-256color" };
  delete env.NO_COLOR; // a person's terminal, colours and all

  beforeAll(() => {
    scratch = ScratchProject.create();
    fs.writeFileSync(path.join(scratch.dir, "Pulumi.local.yaml"), LOCAL_STACK);
  });
  afterAll(() => scratch?.remove());

  /** Run a command line in a fresh terminal to its end: the screen, the bytes sent, the exit code. */
  async function inTerminal(command: string, width = 120) {
    const terminal = Terminal.start(command, scratch.dir, env, width);
    try {
      const code = await terminal.exitCode(180_000);
      return { code, screen: terminal.screen(), raw: terminal.raw() };
    } finally {
      terminal.stop();
    }
  }

  it("doctor on a terminal: a live line per host with a spinner and the check it is at, then the report", async () => {
    const { code, screen, raw } = await inTerminal("npx gpu-services -s local doctor");
    expect(code).toBe(0);
    expect(text(raw)).toMatch(SPINNER);
    // The host's line says which check runs now, under its title, drawn over in place (cursor moves, erases).
    expect(text(raw)).toMatch(/› check (ssh|docker-version|ports|disk-space)/);
    expect(raw).toMatch(/\u001b\[\d*[AG]|\u001b\[2K/);
    expect(screen).toMatch(new RegExp(`✔ host laptop: ${CHECKS} checks, 0 failed, \\d+ warned \\([\\d.]+ s\\)`));
    expect(screen).toContain("ok    docker-version");
    expect(screen).toContain("result: no check failed (exit 0)");
    // What was drawn over is gone from the screen: the last state only.
    expect(screen).not.toMatch(SPINNER);
  }, 200_000);

  it("doctor piped: plain lines, one per step, naming the host; no spinner, no escape sequence", async () => {
    const { code, screen, raw } = await inTerminal("npx gpu-services -s local doctor 2>&1 | cat");
    expect(code).toBe(0);
    expect(raw).not.toContain(ESC);
    expect(raw).not.toMatch(SPINNER);
    const lines = raw.split("\r\n");
    expect(lines.slice(0, 3)).toEqual([
      "❯ host laptop",
      "› host laptop: reading unix:///var/run/docker.sock",
      "› host laptop: looking for nvidia-smi",
    ]);
    expect(lines).toContain("› host laptop: check ports");
    expect(lines).toContain("› host laptop: check registry-credentials");
    expect(lines.find((l) => l.startsWith("✔ host laptop:"))).toMatch(
      new RegExp(`^✔ host laptop: ${CHECKS} checks, 0 failed`),
    );
    expect(screen).toContain("result: no check failed (exit 0)");
  }, 200_000);

  it("plan on a terminal shows what it prints piped: the stack, its host and its service", async () => {
    const tty = await inTerminal("npx gpu-services -s local plan");
    const piped = await inTerminal("npx gpu-services -s local plan 2>&1 | cat");
    expect([tty.code, piped.code]).toEqual([0, 0]);
    const plan = [
      "stack local",
      "host laptop: unix:///var/run/docker.sock (clients reach it at localhost)",
      "",
      "  service      hello",
      "  host         laptop",
      "  container    hello-local",
      "  image        build examples/hello",
      "  ports        8099->8080/tcp",
    ].join("\n");
    expect(tty.screen).toContain(plan);
    expect(piped.screen).toContain(plan);
    expect(piped.raw).not.toContain(ESC);
  }, 400_000);

  it.skipIf(!zshAvailable && !requireDocker)(
    "zsh completes a verb with the generated script",
    async () => {
      const fpath = path.join(scratch.dir, ".zsh-completion");
      fs.mkdirSync(fpath, { recursive: true });
      const script = spawnSync("npx", ["gpu-services", "completion", "zsh"], {
        cwd: scratch.dir,
        env: readerEnv(),
        encoding: "utf8",
      });
      expect(script.status).toBe(0);
      fs.writeFileSync(path.join(fpath, "_gpu-services"), script.stdout);
      const terminal = Terminal.start("zsh -f", scratch.dir, { ...env, PS1: "% " });
      try {
        terminal.keys(`fpath=(${fpath} $fpath); autoload -U compinit; compinit -u; PS1='ready> '`, "Enter");
        await terminal.waitFor(/ready>$/);
        terminal.keys("gpu-services compl", "Tab");
        await terminal.waitFor(/ready> gpu-services completion$/, 20_000);
        terminal.keys("b", "Tab");
        await terminal.waitFor(/ready> gpu-services completion bash$/, 20_000);
      } finally {
        terminal.stop();
      }
    },
    120_000,
  );
});
