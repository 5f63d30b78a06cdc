/**
 * No dead re-exports: every name a module of the project re-exports (`export { x } from`, `export * from`) is
 * imported from that module somewhere in the project. A re-export nobody uses is a second door to one room.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { expect, it } from "vitest";
import { PROJECT_DIR } from "./support/harness";
import { resolveImport, sourceFiles } from "./support/sources";

const parse = (file: string) => ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022);

/** Names a module declares as exported itself (not those it re-exports). */
function ownExports(file: string): string[] {
  const names: string[] = [];
  for (const statement of parse(file).statements) {
    const exported = ts.canHaveModifiers(statement)
      ? ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
      : false;
    if (!exported) continue;
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name.text);
    } else if ("name" in statement && statement.name && ts.isIdentifier(statement.name as ts.Node)) {
      names.push((statement.name as ts.Identifier).text);
    }
  }
  return names;
}

it("every re-exported name is imported from the module that re-exports it", () => {
  const files = sourceFiles();
  /** module file -> names imported from it anywhere. */
  const imported = new Map<string, Set<string>>();
  /** [module, name] for each re-export; a name through `export *` is marked so. */
  const reexports: [string, string][] = [];
  for (const file of files) {
    for (const statement of parse(file).statements) {
      const specifier = (statement as { moduleSpecifier?: ts.Expression }).moduleSpecifier;
      if (!specifier || !ts.isStringLiteral(specifier)) continue;
      const target = resolveImport(file, specifier.text);
      if (!target) continue;
      if (ts.isImportDeclaration(statement)) {
        const names = imported.get(target) ?? new Set<string>();
        const bindings = statement.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) {
          for (const e of bindings.elements) names.add((e.propertyName ?? e.name).text);
        } else if (bindings) names.add("*");
        imported.set(target, names);
      } else if (ts.isExportDeclaration(statement)) {
        const clause = statement.exportClause;
        const rel = path.relative(PROJECT_DIR, file);
        if (clause && ts.isNamedExports(clause)) for (const e of clause.elements) reexports.push([rel, e.name.text]);
        else for (const name of ownExports(target)) reexports.push([rel, `${name} (export *)`]);
      }
    }
  }
  const dead = reexports.filter(([rel, name]) => {
    const names = imported.get(path.join(PROJECT_DIR, rel));
    return !names?.has("*") && !names?.has(name.replace(" (export *)", ""));
  });
  const starOnly = new Map<string, string[]>();
  for (const [rel, name] of dead) {
    if (!name.endsWith("(export *)")) continue;
    starOnly.set(rel, [...(starOnly.get(rel) ?? []), name]);
  }
  // An `export *` is dead when none of its names is used through it.
  const deadStars = [...starOnly].filter(([rel, names]) => {
    const all = reexports.filter(([r, n]) => r === rel && n.endsWith("(export *)"));
    return names.length === all.length;
  });
  expect([
    ...dead.filter(([, name]) => !name.endsWith("(export *)")).map(([rel, name]) => `${rel}: ${name}`),
    ...deadStars.map(([rel]) => `${rel}: export *`),
  ]).toEqual([]);
});
