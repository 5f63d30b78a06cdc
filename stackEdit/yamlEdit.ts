/**
 * Edits of single scalar values in a YAML file that change those values and nothing else: every other byte
 * (comments and their spacing, `010`, folded scalars, flow lists, CRLF line ends) stays as it is. The yaml
 * package's Document API finds where each value is; the text is spliced there. Each result is parsed again and
 * must equal the old data with exactly the asked changes, or the edit is refused.
 */
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, parse, parseDocument, type Node, type Pair, type YAMLMap } from "yaml";

export interface ScalarEdit {
  /** Keys from the document root to the value: `["config", "gpu-services:services", "tts", "image", "tag"]`. */
  readonly path: readonly string[];
  /** The new string value, or undefined to remove the key. */
  readonly value: string | undefined;
}

export class YamlEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "YamlEditError";
  }
}

/** Whether a plain scalar reads back as this same string in YAML 1.2 (the yaml package) and 1.1 (older tools). */
function readsBackPlain(value: string): boolean {
  if (!/^[A-Za-z0-9_./][A-Za-z0-9_.\-/:@+]*$/.test(value)) return false;
  try {
    return parse(value, { version: "1.2" }) === value && parse(value, { version: "1.1" }) === value;
  } catch {
    return false;
  }
}

/** A string as a YAML scalar: plain where every reader reads it back as this string, else double-quoted. */
export function renderScalar(value: string): string {
  return readsBackPlain(value) ? value : JSON.stringify(value);
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** The offset just after the end of the line holding `offset` (past its \n), or the text's end. */
function afterLineOf(text: string, offset: number): number {
  const newline = text.indexOf("\n", offset);
  return newline < 0 ? text.length : newline + 1;
}

function rangeOf(node: Node | null | undefined, what: string): [number, number, number] {
  const range = node?.range;
  if (!range) throw new YamlEditError(`${what} has no position in the file`);
  return range;
}

function mapAt(root: unknown, keys: readonly string[]): YAMLMap {
  let node: unknown = root;
  for (const key of keys) {
    if (!isMap(node)) throw new YamlEditError(`${keys.join(".")}: ${key} is not inside a map`);
    node = node.get(key, true);
  }
  if (!isMap(node)) throw new YamlEditError(`${keys.join(".")} is not a map in the file`);
  return node;
}

/** One edit on the text. */
function applyOne(text: string, edit: ScalarEdit): string {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) throw new YamlEditError(`not valid YAML: ${doc.errors[0].message}`);
  const parentKeys = edit.path.slice(0, -1);
  const key = edit.path[edit.path.length - 1];
  const map = mapAt(doc.contents, parentKeys);
  const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key) as Pair<Node, Node> | undefined;
  const where = edit.path.join(".");

  if (pair && edit.value !== undefined) {
    if (!isScalar(pair.value)) throw new YamlEditError(`${where} is not a single value`);
    const [start, valueEnd] = rangeOf(pair.value, where);
    return text.slice(0, start) + renderScalar(edit.value) + text.slice(valueEnd);
  }
  if (pair && edit.value === undefined) {
    if (map.flow) throw new YamlEditError(`${where} is in a flow map ({…}); change it by hand`);
    const [keyStart] = rangeOf(pair.key, where);
    const [, valueEnd] = rangeOf(pair.value, where);
    if (text.slice(keyStart, valueEnd).includes("\n"))
      throw new YamlEditError(`${where} spans lines; change it by hand`);
    return text.slice(0, lineStartOf(text, keyStart)) + text.slice(afterLineOf(text, valueEnd));
  }
  if (edit.value === undefined) return text; // nothing to remove
  const last = map.items[map.items.length - 1] as Pair<Node, Node> | undefined;
  if (!last) throw new YamlEditError(`${parentKeys.join(".")} is empty; add ${key} by hand`);
  const entry = `${key}: ${renderScalar(edit.value)}`;
  const [, lastValueEnd] = rangeOf(last.value ?? last.key, where);
  if (map.flow) return `${text.slice(0, lastValueEnd)}, ${entry}${text.slice(lastValueEnd)}`;
  const [firstKeyStart] = rangeOf((map.items[0] as Pair<Node, Node>).key, where);
  const indent = text.slice(lineStartOf(text, firstKeyStart), firstKeyStart);
  if (indent.trim() !== "") throw new YamlEditError(`${parentKeys.join(".")} is not laid out one key per line`);
  const insertAt = afterLineOf(text, lastValueEnd);
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const before = text.slice(0, insertAt);
  const joiner = before.endsWith("\n") ? "" : eol;
  return `${before}${joiner}${indent}${entry}${eol}${text.slice(insertAt)}`;
}

function setIn(data: unknown, keys: readonly string[], value: string | undefined): void {
  let node = data as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** The text with the edits made, each value changed and nothing else; or a YamlEditError. */
export function editScalars(text: string, edits: readonly ScalarEdit[]): string {
  const expected = parse(text) as unknown;
  let next = text;
  for (const edit of edits) {
    next = applyOne(next, edit);
    setIn(expected, edit.path, edit.value);
  }
  if (!isDeepStrictEqual(parse(next), expected)) {
    throw new YamlEditError("the edit would change more than the values asked for; change the file by hand");
  }
  return next;
}
