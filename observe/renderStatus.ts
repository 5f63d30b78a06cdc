/** `status` for people: hosts with their GPUs, one row per service, then what needs a person. */
import type { GpuFigures } from "./gpuProbe";
import type { HostStatus, ServiceStatus, StatusReport, WithExitCode } from "./status";
import { table } from "./table";

function gpuLines(figures: GpuFigures): string[] {
  if (!figures.available) return [`  GPUs: not available (${figures.reason})`];
  const lines = figures.gpus.map((g) => {
    const used = g.memoryUsedMiB ?? "n/a";
    const total = g.memoryTotalMiB ?? "n/a";
    const busy = g.utilizationPercent === undefined ? "utilisation n/a" : `${g.utilizationPercent} % busy`;
    return `  GPU ${g.index ?? "?"} ${g.name ?? g.uuid}: ${used} / ${total} MiB used, ${busy}`;
  });
  return [...lines, `  (${figures.source}; ${figures.processes.length} GPU processes)`];
}

function hostLines(h: HostStatus): string[] {
  if (!h.reachable) return [`host ${h.name} (${h.dockerHost}): NOT REACHABLE after ${h.seconds} s: ${h.error}`];
  return [`host ${h.name} (${h.dockerHost}): Docker ${h.engine?.version}, read in ${h.seconds} s`, ...gpuLines(h.gpus)];
}

function row(s: ServiceStatus): string[] {
  const primary = s.containers.find((c) => c.name === s.containerName) ?? s.containers[0];
  return [
    s.name,
    s.host,
    s.containers.map((c) => c.name).join(",") || s.containerName,
    primary ? `${primary.state}${primary.restartCount > 0 ? ` (${primary.restartCount} restarts)` : ""}` : "-",
    primary?.health ?? "-",
    s.release.state,
    s.endpoint ? (s.endpoint.answers ? s.endpoint.detail : `no answer (${s.endpoint.detail})`) : "-",
    s.gpuMemoryMiB === null ? (s.gpuMemoryNote === "no GPU requested" ? "-" : "n/a") : `${s.gpuMemoryMiB} MiB`,
  ];
}

/**
 * A service with several copies: a line per container, by copy, with its GPUs, state, health and the release it
 * runs (after a release that stopped at a copy that never got ready, the copies after it still run the old one).
 */
function copyLines(s: ServiceStatus): string[] {
  const byCopy = [...s.containers].sort((a, b) => a.copy - b.copy || (a.name < b.name ? -1 : 1));
  return [
    `${s.name}: ${new Set(byCopy.map((c) => c.copy)).size} copies`,
    ...byCopy.map(
      (c) =>
        `  copy ${c.copy}  ${c.name}  GPU ${c.gpus.join(",") || "-"}  ${c.state}` +
        `${c.restartCount > 0 ? ` (${c.restartCount} restarts)` : ""}  ${c.health}  ${c.release ?? "-"}`,
    ),
  ];
}

export function renderStatus(report: WithExitCode<StatusReport>): string {
  const lines = [`stack ${report.stack}, checked ${report.checkedAt}`, ...report.hosts.flatMap(hostLines), ""];
  const header = ["SERVICE", "HOST", "CONTAINER", "STATE", "HEALTH", "RELEASE", "ENDPOINT", "GPU MEMORY"];
  lines.push(...table(header, report.services.map(row)));
  const copied = report.services.filter((s) => s.containers.some((c) => c.copy > 0));
  if (copied.length > 0) lines.push("", ...copied.flatMap(copyLines));
  const attention = report.services.flatMap((s) => s.attention.map((a) => `  ${s.name}: ${a}`));
  if (attention.length > 0) lines.push("", "to look at:", ...attention);
  const notes = report.services.filter((s) => s.gpuMemoryMiB === null && s.gpuMemoryNote?.startsWith("not available"));
  for (const s of notes) lines.push(`  ${s.name}: GPU memory ${s.gpuMemoryNote}`);
  const words = {
    ok: "all in sync, running, healthy and answering",
    attention: "something to look at",
    unreachable: "a host could not be reached",
  };
  lines.push("", `result: ${words[report.result]} (exit ${report.exitCode})`);
  return lines.join("\n");
}
