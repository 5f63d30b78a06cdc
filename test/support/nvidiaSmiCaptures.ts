/**
 * Captures of the real nvidia-smi on real GPU machines (test/fixtures/nvidia-smi, source.json says where each comes
 * from), and what the stand-in nvidia-smi of the test images prints from them, read here in Node alone: the unit
 * tests parse it without a shell. test/docker/nvidiaSmiStandIn.test.ts proves that the stand-in, run by the static
 * busybox as in the image, prints exactly `captureAnswer`'s text.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "./harness";

export const STAND_IN_DIR = path.join(PROJECT_DIR, "test", "fixtures", "nvidia-smi");

/**
 * The captures the stand-in serves, with the sample it answers from: the heading its section starts with.
 */
export const CAPTURES = {
  /** One NVIDIA H100 80GB under load (nvidia_gpu_exporter's capture; GPU names, masked UUIDs). */
  h100: { file: "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt", sample: "# load :: " },
  /** Eight NVIDIA H200 (143771 MiB each), four of them just freed (the "After" sample; no GPU names). */
  h200x8: { file: "8x-nvidia-h200__exp23_gpu2456_release_for_corrected_pair.md", sample: "## After" },
} as const;
export type CaptureName = keyof typeof CAPTURES;

export const capturePath = (name: CaptureName): string => path.join(STAND_IN_DIR, CAPTURES[name].file);

/** A column or field name as the stand-in compares them: nvidia-smi's own aliases, units and case left out. */
function canonical(kind: "gpu" | "apps", field: string): string {
  const f = field
    .toLowerCase()
    .replace(/^[ \t]+/, "")
    .replace(/[ \t]*\[[^\]]*\][ \t]*$/, "")
    .replace(/[ \t]+$/, "");
  const aliases: Record<string, string> =
    kind === "gpu" ? { gpu_name: "name", gpu_uuid: "uuid" } : { name: "process_name", used_memory: "used_gpu_memory" };
  return aliases[f] ?? f;
}

/** Whether a line is a CSV header naming every field asked for. */
function covers(kind: "gpu" | "apps", line: string, fields: string[]): boolean {
  const columns = line.split(",").map((c) => canonical(kind, c));
  if (!columns.every((c) => /^[a-z_][a-z0-9_.]*$/.test(c))) return false;
  return fields.every((f) => columns.includes(canonical(kind, f)));
}

/**
 * What the stand-in prints for `--query-gpu=…` or `--query-compute-apps=…` (the query alone, `--format=csv`
 * implied): the first CSV block of the sample's section whose header names every field asked for, up to a blank
 * or comment line; undefined where the stand-in exits 2.
 */
export function captureAnswer(
  query: string,
  name: CaptureName = "h100",
  sample: string = CAPTURES[name].sample,
): string | undefined {
  const kind = query.startsWith("--query-gpu=")
    ? "gpu"
    : query.startsWith("--query-compute-apps=")
      ? "apps"
      : undefined;
  if (!kind) return undefined;
  const fields = query.slice(query.indexOf("=") + 1).split(",");
  const printed: string[] = [];
  let inside = false;
  for (const line of fs.readFileSync(capturePath(name), "utf8").split("\n")) {
    if (printed.length > 0) {
      if (/^[ \t]*$/.test(line) || line.startsWith("#")) break;
      printed.push(line);
    } else if (/^# [a-z]+ :: /.test(line) || line.startsWith("## ")) {
      inside = sample !== "" && line.startsWith(sample);
    } else if (inside && covers(kind, line, fields)) {
      printed.push(line);
    }
  }
  return printed.length > 0 ? `${printed.join("\n")}\n` : undefined;
}
