/**
 * The stack's secrets (the `secrets` config key, `secure:` values in the stack file), read for doctor the way
 * Pulumi reads them: `pulumi config get --path` in the project folder, with the stack's secrets provider (its
 * passphrase from PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, or its cloud KMS) and backend. A
 * secret that cannot be read (no Pulumi CLI, no passphrase, a wrong one, no backend login) is said, never guessed.
 */
import { execFile } from "node:child_process";
import { CONFIG_NAMESPACE } from "../stackConfig";

export type SecretRead = { readonly value: string } | { readonly unreadable: string };

/** One secret of the stack by its name in `secrets`. */
export type SecretReader = (name: string) => Promise<SecretRead>;

/** How long `pulumi config get` may take (it may ask a cloud backend and KMS). */
export const SECRET_READ_TIMEOUT_MS = 60_000;

/** What `pulumi config get`'s failure means, in words an operator can act on. */
export function unreadableReason(stderr: string): string {
  const text = stderr.trim();
  const last =
    text
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? "";
  if (/passphrase must be set|PULUMI_CONFIG_PASSPHRASE/i.test(text)) {
    return "no passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE where doctor runs";
  }
  if (/incorrect passphrase/i.test(text)) return "the passphrase is not this stack's (incorrect passphrase)";
  return `pulumi config get failed: ${last || "without saying why"}`;
}

/**
 * A reader of the stack's secrets through the Pulumi CLI on the PATH, run in `projectDir` (where Pulumi.yaml is);
 * each secret is read once however many hosts ask.
 */
export function pulumiSecretReader(
  projectDir: string,
  stack: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = SECRET_READ_TIMEOUT_MS,
): SecretReader {
  const read = new Map<string, Promise<SecretRead>>();
  const once = (name: string): Promise<SecretRead> =>
    new Promise((resolve) => {
      const key = `${CONFIG_NAMESPACE}:secrets.${name}`;
      execFile(
        "pulumi",
        ["config", "get", "--stack", stack, "--path", key, "--non-interactive"],
        { cwd: projectDir, env, timeout: timeoutMs, killSignal: "SIGKILL", encoding: "utf8" },
        (error, stdout, stderr) => {
          const err = error as (NodeJS.ErrnoException & { killed?: boolean }) | null;
          if (!err) return resolve({ value: stdout.replace(/\r?\n$/, "") });
          if (err.code === "ENOENT") return resolve({ unreadable: "no Pulumi CLI (`pulumi`) on the PATH" });
          if (err.killed) {
            return resolve({ unreadable: `pulumi config get did not finish within ${timeoutMs / 1000} s` });
          }
          resolve({ unreadable: unreadableReason(stderr || err.message) });
        },
      );
    });
  return (name) => {
    if (!read.has(name)) read.set(name, once(name));
    return read.get(name)!;
  };
}

/** A reader for where no way to read the stack's secrets is given (doctor as a library). */
export const noSecretReader: SecretReader = async () => ({
  unreadable: "no reader of the stack's secrets was given",
});
