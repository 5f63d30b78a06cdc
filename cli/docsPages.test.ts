/** The generated reference pages are what the code says now: a stale page fails here, never found by hand. */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { generatedPages } from "./docsPages";
import {
  HOST_FIELD_DOCS,
  KUBERNETES_FIELD_DOCS,
  SCHEDULING_FIELD_DOCS,
  SERVICE_FIELD_DOCS,
  SWITCH_FIELD_DOCS,
} from "../stackConfig/fieldDocs";
import { fieldTable } from "./configReference";
import { PROJECT_DIR } from "../test/support/harness";

describe("generated reference pages", () => {
  it.each(Object.entries(generatedPages()))("%s is fresh (else: npm run docs:generate)", (page, text) => {
    const file = path.join(PROJECT_DIR, page);
    expect(fs.existsSync(file), `${page} is missing: npm run docs:generate`).toBe(true);
    expect(fs.readFileSync(file, "utf8"), `${page} is stale: npm run docs:generate`).toBe(text);
  });

  it("the config page holds every field doc's row, for every schema", () => {
    const page = generatedPages()["docs/reference/config.md"];
    for (const docs of [
      HOST_FIELD_DOCS,
      KUBERNETES_FIELD_DOCS,
      SERVICE_FIELD_DOCS,
      SCHEDULING_FIELD_DOCS,
      SWITCH_FIELD_DOCS,
    ]) {
      expect(page).toContain(fieldTable(docs).join("\n"));
    }
  });

  it("the CLI page holds the help of every verb", () => {
    const page = generatedPages()["docs/reference/cli.md"];
    for (const verb of ["plan", "release", "rollback", "history", "pins", "status", "doctor", "compose import"]) {
      expect(page).toContain(`## \`gpu-services ${verb}\``);
      expect(page).toContain(`Usage: gpu-services ${verb} [options]`);
    }
  });
});
