/**
 * nvidia-smi's CSV output (`--format=csv`) read by its header: each column is named by the field with its unit
 * in brackets (`memory.used [MiB]`), values carry the unit (`130013 MiB`, `100 %`), and `[N/A]`, `[Not
 * Supported]` and the like mean the figure is not available. Columns are looked up by name, so any field order
 * (and the extra fields another tool asked for) reads the same.
 */

/** The queries status and doctor make (one call each): the figures per GPU, and the processes holding memory. */
export const GPU_QUERY = "--query-gpu=index,uuid,memory.used,memory.total,utilization.gpu";
export const APPS_QUERY = "--query-compute-apps=gpu_uuid,pid,process_name,used_memory";
/** The GPUs' names, for people: a call of its own, whose failure leaves the names out and the figures in. */
export const GPU_NAMES_QUERY = "--query-gpu=uuid,name";
export const CSV_FORMAT = "--format=csv";
/**
 * Temperature, power and ECC counts (volatile: since the driver loaded), for `metrics`: a call of its own, whose
 * failure (an nvidia-smi that lacks a field) leaves them out. nvidia-smi has no query field for XID errors (the
 * kernel log has them), so none is read.
 */
export const SENSORS_QUERY =
  "--query-gpu=uuid,temperature.gpu,power.draw,power.limit,ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total";

export interface GpuReading {
  readonly index?: number;
  readonly uuid: string;
  readonly name?: string;
  /** Absent where nvidia-smi says the figure is not available. */
  readonly memoryUsedMiB?: number;
  readonly memoryTotalMiB?: number;
  readonly utilizationPercent?: number;
}

/** A GPU's sensors (SENSORS_QUERY); each absent where nvidia-smi says it is not available. */
export interface GpuSensors {
  readonly temperatureC?: number;
  readonly powerDrawW?: number;
  readonly powerLimitW?: number;
  /** ECC errors since the driver loaded, corrected and not; absent where ECC is off or not supported. */
  readonly eccCorrected?: number;
  readonly eccUncorrected?: number;
}

export interface ComputeApp {
  readonly gpuUuid: string;
  /** The process ID as the host sees it. */
  readonly pid: number;
  readonly processName?: string;
  readonly usedMemoryMiB?: number;
}

export class NvidiaSmiParseError extends Error {
  constructor(message: string) {
    super(`nvidia-smi output: ${message}`);
    this.name = "NvidiaSmiParseError";
  }
}

/** Rows of nvidia-smi CSV as maps of field name (unit stripped) to raw value; `[…]` values are absent. */
export function parseCsv(text: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new NvidiaSmiParseError("empty (expected a CSV header line)");
  const header = lines[0].split(",").map((h) => h.trim().replace(/\s*\[[^\]]*\]$/, ""));
  if (!header.every((h) => /^[a-z_][\w.]*$/i.test(h))) {
    throw new NvidiaSmiParseError(`the first line is not a CSV header: ${lines[0].slice(0, 120)}`);
  }
  return lines.slice(1).map((line, i) => {
    const cells = line.split(",").map((c) => c.trim());
    if (cells.length !== header.length) {
      throw new NvidiaSmiParseError(`line ${i + 2} has ${cells.length} values for ${header.length} columns`);
    }
    const row: Record<string, string> = {};
    header.forEach((name, j) => {
      if (!/^\[.*\]$/.test(cells[j])) row[name] = cells[j];
    });
    return row;
  });
}

/** A number with its unit (`2566 MiB`, `100 %`, `71`); absent when not available. */
function quantity(raw: string | undefined, what: string): number | undefined {
  if (raw === undefined) return undefined;
  const match = /^(-?\d+(?:\.\d+)?)(?:\s*(MiB|%|W|C))?$/.exec(raw);
  if (!match) throw new NvidiaSmiParseError(`${what} is not a number: "${raw}"`);
  return Number(match[1]);
}

function required(row: Record<string, string>, column: string, line: number): string {
  const value = row[column];
  if (value === undefined) throw new NvidiaSmiParseError(`line ${line} has no ${column}`);
  return value;
}

/** The GPUs of `nvidia-smi --query-gpu=… --format=csv`. */
export function parseGpus(text: string): GpuReading[] {
  return parseCsv(text).map((row, i) => {
    const index = quantity(row.index, "index");
    return {
      ...(index !== undefined ? { index } : {}),
      uuid: required(row, "uuid", i + 2),
      ...(row.name !== undefined ? { name: row.name } : {}),
      ...defined("memoryUsedMiB", quantity(row["memory.used"], "memory.used")),
      ...defined("memoryTotalMiB", quantity(row["memory.total"], "memory.total")),
      ...defined("utilizationPercent", quantity(row["utilization.gpu"], "utilization.gpu")),
    };
  });
}

/** `gpus` with the names of `nvidia-smi --query-gpu=uuid,name --format=csv`, matched by UUID. */
export function withNames(gpus: readonly GpuReading[], text: string): GpuReading[] {
  const names = new Map(parseCsv(text).map((row, i) => [required(row, "uuid", i + 2), row.name]));
  return gpus.map((g) => {
    const name = names.get(g.uuid);
    return name === undefined ? g : { ...g, name };
  });
}

/** The processes of `nvidia-smi --query-compute-apps=… --format=csv`. */
export function parseComputeApps(text: string): ComputeApp[] {
  return parseCsv(text).map((row, i) => ({
    gpuUuid: required(row, "gpu_uuid", i + 2),
    pid: quantity(required(row, "pid", i + 2), "pid")!,
    ...(row.process_name !== undefined ? { processName: row.process_name } : {}),
    ...defined("usedMemoryMiB", quantity(row.used_gpu_memory ?? row.used_memory, "used_gpu_memory")),
  }));
}

function defined<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

/** The sensors of `nvidia-smi --query-gpu=uuid,temperature.gpu,… --format=csv` (SENSORS_QUERY), by GPU UUID. */
export function parseSensors(text: string): Map<string, GpuSensors> {
  return new Map(
    parseCsv(text).map((row, i) => [
      required(row, "uuid", i + 2),
      {
        ...defined("temperatureC", quantity(row["temperature.gpu"], "temperature.gpu")),
        ...defined("powerDrawW", quantity(row["power.draw"], "power.draw")),
        ...defined("powerLimitW", quantity(row["power.limit"], "power.limit")),
        ...defined("eccCorrected", quantity(row["ecc.errors.corrected.volatile.total"], "ecc corrected")),
        ...defined("eccUncorrected", quantity(row["ecc.errors.uncorrected.volatile.total"], "ecc uncorrected")),
      },
    ]),
  );
}
