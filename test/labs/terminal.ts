/**
 * A real terminal for tests: a tmux session on a server of its own (`tmux -L`, never a person's), running one
 * command in a pane of a fixed size. `screen()` reads what a person sees (capture-pane); `raw()` every byte the
 * command wrote to the terminal (pipe-pane, started before the command runs), escape sequences included.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "../support/gitRepos";

export const tmuxAvailable = spawnSync("tmux", ["-V"], { stdio: "ignore" }).status === 0;

/** Single quotes for sh. */
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class Terminal {
  private constructor(
    private readonly socket: string,
    private readonly dir: string,
  ) {}

  /**
   * Start `command` (an sh command line) in `cwd`, in a terminal of `width` × `height`. The pane stays after the
   * command ends, its last line `[exit <code>]`.
   */
  static start(command: string, cwd: string, env: NodeJS.ProcessEnv, width = 120, height = 50): Terminal {
    const dir = tempDir("tmux");
    const socket = `gpu-services-test-${process.pid}-${path.basename(dir)}`;
    const go = path.join(dir, "go");
    // The command waits for `go`, so that pipe-pane records from its first byte.
    const script = `while [ ! -e ${quote(go)} ]; do sleep 0.05; done; ${command}; echo "[exit $?]"; exec sleep 3600`;
    const terminal = new Terminal(socket, dir);
    terminal.tmux(
      ["new-session", "-d", "-s", "t", "-x", String(width), "-y", String(height), "-c", cwd, "sh", "-c", script],
      env,
    );
    terminal.tmux(["pipe-pane", "-t", "t", "-o", `cat >> ${quote(path.join(dir, "raw"))}`]);
    fs.writeFileSync(go, "");
    return terminal;
  }

  private tmux(args: string[], env: NodeJS.ProcessEnv = process.env): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8", env });
  }

  /** What the pane shows now, line by line, trailing blanks trimmed. */
  screen(): string {
    return this.tmux(["capture-pane", "-p", "-t", "t", "-S", "-", "-E", "-"]).replace(/\s+$/, "");
  }

  /** Every byte the command has written to the terminal so far. */
  raw(): string {
    const file = path.join(this.dir, "raw");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  }

  /** Type keys, as tmux send-keys takes them (`Tab`, `Enter`, or text). */
  keys(...keys: string[]): void {
    this.tmux(["send-keys", "-t", "t", ...keys]);
  }

  /** Wait until the screen matches, or fail with what it shows. */
  async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${pattern}; it shows:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The exit code the pane's last line gives, once the command has ended. */
  async exitCode(timeoutMs = 120_000): Promise<number> {
    const screen = await this.waitFor(/\[exit \d+\]$/, timeoutMs);
    return Number(/\[exit (\d+)\]$/.exec(screen)![1]);
  }

  stop(): void {
    spawnSync("tmux", ["-L", this.socket, "kill-server"], { stdio: "ignore" });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
