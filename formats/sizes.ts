/** Docker sizes: bytes in `16g`, `512m`, `2gb` (go-units RAMInBytes), and the MiB the docker provider takes. */

/** Bytes in a MiB: Docker's provider takes /dev/shm in MiB, compose and the plan print it as `<n>m`. */
export const MIB = 2 ** 20;

/** The largest request body of a readiness check (inline, a file, or a multipart part's file). */
export const READINESS_BODY_MAX_BYTES = MIB;

/** Binary multiples, as Docker reads `16g`, `512m`, `2gb` (go-units RAMInBytes). */
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i;
const SIZE_UNITS: Record<string, number> = { "": 1, k: 2 ** 10, m: MIB, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Bytes in a Docker size: a number of bytes, or `16g`, `512m`, `2gb`, `1GiB`; undefined if it is not one. */
export function sizeBytes(size: string | number): number | undefined {
  if (typeof size === "number") return Number.isInteger(size) && size >= 0 ? size : undefined;
  const match = SIZE_RE.exec(size.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()];
  return Number.isFinite(bytes) ? Math.round(bytes) : undefined;
}
