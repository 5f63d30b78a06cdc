/**
 * `npm run docs:generate`: write the reference pages that come from the code (cli/docsPages.ts). Run it after a
 * change to the field docs or to a verb; cli/docsPages.test.ts fails until it has been run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { generatedPages } from "../cli/docsPages";

const root = path.resolve(__dirname, "..");
for (const [page, text] of Object.entries(generatedPages())) {
  const file = path.join(root, page);
  const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  fs.writeFileSync(file, text);
  console.log(`${before === text ? "unchanged" : "wrote"} ${page}`);
}
