/**
 * Env files as compose v2 reads them (compose-go's dotenv): dotenv syntax, and each value interpolated as the
 * compose file is (`${VAR:-default}` and the rest, see interpolate.ts) unless it is single-quoted. A variable
 * is looked up in what the reader is given first (the command's environment, or the project's variables for a
 * service's env file), then in the values read so far, earlier lines and earlier files.
 */
import * as fs from "node:fs";
import { parse as parseDotenv } from "dotenv";
import { ComposeError } from "./errors";
import { interpolate, InterpolationError } from "./interpolate";

/** The quote each key's (last) value opened with, if any: single-quoted values are not interpolated. */
function quotes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^[ \t]*(?:export[ \t]+)?([^\s=:#]+)[ \t]*[=:][ \t]*(['"`]?)/gm)) out.set(m[1], m[2]);
  return out;
}

/**
 * The variables of one env file, interpolated. `lookup` comes first, then `earlier` (values of files read before,
 * in the same run), then this file's own earlier values. `onUnset` hears of a variable used and set nowhere.
 */
export function readEnvFile(
  file: string,
  where: string,
  lookup: (name: string) => string | undefined = () => undefined,
  earlier: Readonly<Record<string, string>> = {},
  onUnset: (name: string) => void = () => {},
): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ComposeError(`${where}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const quoted = quotes(text);
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(parseDotenv(text))) {
    if (quoted.get(key) === "'") {
      out[key] = raw;
      continue;
    }
    try {
      out[key] = interpolate(raw, { lookup: (name) => lookup(name) ?? out[name] ?? earlier[name], onUnset });
    } catch (e) {
      if (e instanceof InterpolationError) throw new ComposeError(`${where}: ${file}: ${e.message}`);
      throw e;
    }
  }
  return out;
}
