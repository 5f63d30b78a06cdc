/**
 * The layers of the project run one way: a folder's code imports only folders of the layers below its own, never
 * a folder beside it or above it. The CLIs (cli/) are the top, and nothing below imports them; the errors'
 * vocabulary (errors/) is the bottom. As each layer imports only lower ones, there is no circle between folders.
 * Tests, the e2e, the benches, the test helpers (test/) and the developers' scripts (scripts/, such as the docs
 * generator, which renders the CLI's own help) may import anything.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "./support/harness";
import { resolveImport, sourceFiles } from "./support/sources";

/** The files at the project's root: the Pulumi program, which composes the backends. */
const PROGRAM = "(program: index.ts, program.ts)";

/** The layers, bottom first; the folders of one layer know nothing of each other. */
const LAYERS: readonly (readonly string[])[] = [
  ["errors"],
  ["formats"],
  ["stackConfig"],
  ["model"],
  ["clients", "docker", "kubernetes", "stackEdit"],
  ["switch", "pins", "compose", "observe", "policy"],
  [PROGRAM],
  ["cli"],
];

const NOT_LAYERED = new Set(["test", "e2e", "bench", "scripts"]);

/** The layer a project file is in: its top folder, or the program for a file at the root. */
const folderOf = (file: string) => {
  const rel = path.relative(PROJECT_DIR, file);
  return rel.includes(path.sep) ? rel.split(path.sep)[0] : PROGRAM;
};
const layerOf = (folder: string) => LAYERS.findIndex((layer) => layer.includes(folder));

/** The product's own files: tests, the e2e, the benches and configs (.mts) aside. */
const productFiles = sourceFiles().filter(
  (file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && !NOT_LAYERED.has(folderOf(file)),
);

/** Every import of one project file by another in a different folder: [importer, imported] (relative paths). */
function crossFolderImports(): [string, string][] {
  const edges: [string, string][] = [];
  for (const file of productFiles) {
    // Imports, re-exports, `import()` and `require()` alike, `import type` included.
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      const target = resolveImport(file, fileName);
      if (target && folderOf(target) !== folderOf(file)) {
        edges.push([path.relative(PROJECT_DIR, file), path.relative(PROJECT_DIR, target)]);
      }
    }
  }
  return edges;
}

describe("the layers", () => {
  const edges = crossFolderImports();

  it("place every folder of the product's code, once", () => {
    const placed = LAYERS.flat();
    expect(new Set(placed).size).toBe(placed.length);
    expect([...new Set(productFiles.map(folderOf))].sort()).toEqual([...placed].sort());
  });

  it("run one way: a folder imports only folders of lower layers", () => {
    const upOrAcross = edges
      .filter(([from, to]) => layerOf(folderOf(to)) >= layerOf(folderOf(from)))
      .map(([from, to]) => `${from} imports ${to} (${folderOf(to)} is not below ${folderOf(from)})`);
    expect(upOrAcross).toEqual([]);
  });

  it("keep cli/ at the top: no file outside it imports it", () => {
    expect(LAYERS.at(-1)).toEqual(["cli"]);
    expect(edges.filter(([, to]) => folderOf(to) === "cli").map(([from, to]) => `${from} imports ${to}`)).toEqual([]);
  });

  it("see every import: the checks above would catch a file that imports upward", () => {
    // The program imports the backends, cli/ imports the program: both are edges of the graph read here.
    expect(edges).toContainEqual(["program.ts", "docker/index.ts"]);
    expect(edges.some(([from, to]) => from.startsWith("cli/") && folderOf(to) === PROGRAM)).toBe(true);
    expect(edges.some(([from, to]) => from.startsWith("clients/") && to.startsWith("errors/"))).toBe(true);
  });
});
