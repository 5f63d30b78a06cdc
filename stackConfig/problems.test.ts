/** StackConfigError: the one error that reports every problem of a stack's config, as Pulumi prints it. */
import * as util from "node:util";
import { describe, expect, it } from "vitest";
import { StackConfigError } from "./problems";

describe("StackConfigError", () => {
  const error = new StackConfigError("prod", [
    {
      path: "services.stt.restart",
      message: 'must be one of no, on-failure, always, unless-stopped (got "sometimes")',
    },
  ]);

  it("prints its message the way Pulumi's language host prints an uncaught error (util.inspect)", () => {
    // @pulumi/pulumi cmd/run/error.js: util.inspect(err, { colors: true }) when err.stack is set.
    const printed = util.inspect(error, { colors: false });
    expect(printed).toContain('StackConfigError: Stack "prod" has 1 config problem');
    expect(printed).toContain(
      '  - services.stt.restart: must be one of no, on-failure, always, unless-stopped (got "sometimes")',
    );
    expect(printed).not.toMatch(/^\[prod\]/);
  });

  it("keeps Error#stack a stack trace and names the stack in stackName", () => {
    expect(error.stack).toMatch(/^StackConfigError: Stack "prod" has 1 config problem/);
    expect(error.stackName).toBe("prod");
  });
});
