/** The README's config reference tables are the field docs of stackConfig/fieldDocs.ts, row for row. */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  HOST_FIELD_DOCS,
  KUBERNETES_FIELD_DOCS,
  SCHEDULING_FIELD_DOCS,
  SERVICE_FIELD_DOCS,
  SWITCH_FIELD_DOCS,
  type FieldDoc,
} from "../stackConfig/fieldDocs";
import { PROJECT_DIR } from "./support/harness";

const README = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");

/** The rows of the table under a heading, as the docs would print them. */
function tableUnder(heading: string): string[] {
  const start = README.indexOf(`${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const lines = README.slice(start).split("\n").slice(1);
  const end = lines.findIndex((line) => !line.startsWith("|"));
  return lines.slice(2, end);
}

const render = (docs: Readonly<Record<string, FieldDoc>>) =>
  Object.entries(docs).map(([key, d]) => `| \`${key}\` | ${d.type} | ${d.default} | ${d.meaning} |`);

describe("config reference", () => {
  it("hosts.<name>: the README's table is fieldDocs.ts's, every key in order", () => {
    expect(tableUnder("### `hosts.<name>`")).toEqual(render(HOST_FIELD_DOCS));
  });

  it("hosts.<name>.kubernetes: the README's table is fieldDocs.ts's, every key in order", () => {
    expect(tableUnder("### `hosts.<name>.kubernetes` (a cluster)")).toEqual(render(KUBERNETES_FIELD_DOCS));
  });

  it("services.<name>.scheduling: the README's table is fieldDocs.ts's, every key in order", () => {
    expect(tableUnder("### `services.<name>.scheduling` (clusters only)")).toEqual(render(SCHEDULING_FIELD_DOCS));
  });

  it("switch: the README's table is fieldDocs.ts's, every key in order", () => {
    expect(tableUnder("### `switch` (optional)")).toEqual(render(SWITCH_FIELD_DOCS));
  });

  it("services.<name>: the README's table is fieldDocs.ts's, every key in order", () => {
    expect(tableUnder("### `services.<name>` (lowercase letters, digits, `-`)")).toEqual(render(SERVICE_FIELD_DOCS));
  });
});
