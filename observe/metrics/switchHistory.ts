/**
 * The switch's history of one host, read over the same path as `status`: `docker exec gpu-switch-<stack>
 * /gpu-switch history <seconds>` (the switch image is FROM scratch: no shell, no curl; the agent asks the admin
 * endpoint, which listens on localhost in the switch's network namespace only).
 */
import { HostUnreachable, connectionReason, isConnectionFailure, type DockerCli } from "../../clients";
import { switchName } from "../../formats";
import { historySchema, type SwitchHistory } from "./historySchema";

export type HistoryRead =
  | { readonly available: true; readonly history: SwitchHistory }
  | { readonly available: false; readonly reason: string };

/** Why an exec of the agent failed, in words an operator can act on. */
function reasonOf(container: string, code: number, stderr: string): string {
  const said = stderr.trim().split("\n").at(-1) ?? "";
  if (/No such container|is not running/i.test(said)) return `no running switch ${container} on the host (${said})`;
  if (code === 2 && /usage: gpu-switch/.test(stderr)) {
    return `${container} runs a switch image that keeps no history: an up with this program's switch image brings it`;
  }
  return `gpu-switch history in ${container} failed (exit ${code}): ${said || "no output"}`;
}

/** The last `seconds` of the switch's history (0: all it keeps); a host that does not answer is a HostUnreachable. */
export async function readSwitchHistory(cli: DockerCli, stack: string, seconds: number): Promise<HistoryRead> {
  const container = switchName(stack);
  const result = await cli.call(["exec", container, "/gpu-switch", "history", String(Math.round(seconds))]);
  if (result.timedOut || (result.code !== 0 && isConnectionFailure(result.stderr))) {
    const why = connectionReason(result.stderr, result.timedOut, cli.timeoutMs);
    throw new HostUnreachable(cli.host.name, cli.host.dockerHost, why);
  }
  if (result.code !== 0) return { available: false, reason: reasonOf(container, result.code, result.stderr) };
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    return {
      available: false,
      reason: `gpu-switch history in ${container} printed no JSON: ${result.stdout.slice(0, 200)}`,
    };
  }
  const parsed = historySchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return {
      available: false,
      reason: `gpu-switch history in ${container}: ${first.path.join(".")}: ${first.message}`,
    };
  }
  return { available: true, history: parsed.data };
}
