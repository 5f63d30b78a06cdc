/**
 * The program under mocks with bad config: it must throw a StackConfigError that names the stack and the key
 * path, before a single resource (not even a provider or a component) is registered.
 */
import { describe, expect, it } from "vitest";
import { StackConfigError } from "../stackConfig";
import { BAD_CASES, goodConfig } from "./support/badConfigs";
import { evaluate, T, type Registered } from "./support/harness";

async function run(values: Record<string, unknown>, stack: string, secretKeys: readonly string[] = []) {
  let resources: Registered[] = [];
  try {
    await evaluate({ values, secretKeys: new Set(secretKeys) }, stack, (r) => (resources = r));
  } catch (error) {
    return { error, resources };
  }
  return { error: undefined, resources };
}

describe("bad stack config under mocks", () => {
  it("the good config registers its resources (the corpus starts from a config that works)", async () => {
    const { error, resources } = await run(goodConfig(), "prod");
    expect(error).toBeUndefined();
    expect(
      resources
        .filter((r) => r.type === T.container)
        .map((r) => r.inputs.name)
        .sort(),
    ).toEqual(["stt-prod", "tts-prod"]);
  });

  expect(BAD_CASES.length).toBeGreaterThanOrEqual(25);
  for (const c of BAD_CASES) {
    it(`${c.name}: throws naming ${c.paths.join(", ")} and registers nothing`, async () => {
      const values = goodConfig();
      c.mutate(values);
      const { error, resources } = await run(values, "staging", c.secretKeys);
      expect(error).toBeInstanceOf(StackConfigError);
      const message = (error as Error).message;
      expect(message).toMatch(/^Stack "staging" has \d+ config problems?/);
      for (const p of c.paths) expect(message).toContain(`  - ${p}: `);
      expect(message).toContain(c.says);
      expect(resources).toEqual([]);
    });
  }
});
