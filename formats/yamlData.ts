/**
 * YAML text as plain data, read the careful way for files a person edits or downloads: duplicate keys are
 * errors, aliases are capped (against alias bombs), merge keys (`<<: *base`) only where asked for. Stack files
 * and compose files are both read through here.
 */
import { parseDocument } from "yaml";

export interface YamlDataOptions {
  /** Resolve `<<` merge keys (compose files); default not (stack files). */
  readonly merge?: boolean;
  /** How many alias expansions the text may make. */
  readonly maxAliasCount: number;
}

/**
 * Why a text could not be read: `invalid` YAML (`detail`: ` at line L, column C: …`), or `unreadable` as data
 * (too many aliases; `detail`: `: …`).
 */
export type YamlFailure = (reason: "invalid" | "unreadable", detail: string) => Error;

/** The data of the text, or the error `fail` makes of what is wrong with it. */
export function yamlData(text: string, options: YamlDataOptions, fail: YamlFailure): unknown {
  const doc = parseDocument(text, { merge: options.merge ?? false, uniqueKeys: true, prettyErrors: true });
  const error = doc.errors[0];
  if (error) {
    const at = error.linePos ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : "";
    throw fail("invalid", `${at}: ${error.message.split("\n")[0]}`);
  }
  try {
    return doc.toJS({ maxAliasCount: options.maxAliasCount });
  } catch (e) {
    throw fail("unreadable", `: ${(e as Error).message}`);
  }
}
