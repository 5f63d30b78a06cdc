/** The project's own TypeScript sources, and where a relative import in one of them leads. */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "./harness";

const SKIP = new Set(["node_modules", "toolchain", "bin", ".git"]);

/** Every .ts and .mts file below a folder (declaration files, dependencies and build outputs aside). */
export function sourceFiles(dir: string = PROJECT_DIR): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

/** The module file a relative specifier names, or undefined for a package. */
export function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  return [`${base}.ts`, path.join(base, "index.ts")].find((file) => fs.existsSync(file));
}
