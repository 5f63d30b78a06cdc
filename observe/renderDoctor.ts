/** `doctor` for people (a table per host) and for a GitHub job summary (Markdown). */
import type { DoctorReport, HostDoctor } from "./doctor";
import type { WithExitCode } from "./status";
import { table } from "./table";

const MARK = { ok: "ok", warn: "WARN", fail: "FAIL" } as const;

function hostLines(h: HostDoctor): string[] {
  const head = `host ${h.name} (${h.dockerHost})${h.reachable ? "" : ": NOT REACHABLE"}, ${h.seconds} s`;
  const lines = table(
    ["", "CHECK", "FINDING"],
    h.checks.map((c) => [MARK[c.level], c.id, c.summary]),
  );
  const indent = " ".repeat(lines[0].indexOf("FINDING"));
  const out = [head, lines[0]];
  h.checks.forEach((c, i) => {
    out.push(lines[i + 1]);
    if (c.fix) out.push(`${indent}fix: ${c.fix}`);
  });
  if (h.notRun.length > 0) out.push(`  not run (host not reachable): ${h.notRun.join(", ")}`);
  return out;
}

const WORDS = { ok: "no check failed", fail: "a check failed", unreachable: "a host could not be reached" };

export function renderDoctor(report: WithExitCode<DoctorReport>): string {
  const lines = [`doctor for stack ${report.stack}, ${report.checkedAt}`, ""];
  for (const h of report.hosts) lines.push(...hostLines(h), "");
  lines.push(`result: ${WORDS[report.result]} (exit ${report.exitCode})`);
  return lines.join("\n");
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The findings as Markdown, for $GITHUB_STEP_SUMMARY. */
export function doctorMarkdown(report: DoctorReport): string {
  const lines = [`## doctor: stack \`${report.stack}\`: ${WORDS[report.result]}`, ""];
  for (const h of report.hosts) {
    lines.push(
      `### host \`${h.name}\` (\`${h.dockerHost}\`)${h.reachable ? "" : ": not reachable"}`,
      "",
      "| | check | finding | fix |",
      "| --- | --- | --- | --- |",
    );
    for (const c of h.checks) lines.push(`| ${MARK[c.level]} | ${c.id} | ${cell(c.summary)} | ${cell(c.fix ?? "")} |`);
    if (h.notRun.length > 0) lines.push("", `Not run: ${h.notRun.join(", ")}.`);
    lines.push("");
  }
  return lines.join("\n");
}
