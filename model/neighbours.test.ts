/** sharesHostsWith: the stacks whose services share this stack's hosts, counted in its GPU fit. */
import { describe, expect, it } from "vitest";
import { goodConfig } from "../test/support/badConfigs";
import { problems } from "../test/support/models";
import { buildModel } from "./buildModel";
import type { DeploymentModel } from "./types";

describe("sharesHostsWith", () => {
  /** A neighbour stack using one GPU of the shared 2-GPU host. */
  function neighbour(): DeploymentModel {
    const theirs = goodConfig();
    delete theirs.services.stt;
    theirs.services.tts.ports = [{ host: 9055, container: 8000 }];
    theirs.services.tts.containerName = "tts-other";
    return buildModel(theirs, { stack: "other" });
  }

  function ours(sharesHostsWith: string[]) {
    const raw = goodConfig();
    delete raw.services.stt; // one GPU here + one there = the host's 2
    raw.sharesHostsWith = sharesHostsWith;
    return raw;
  }

  it("counts a neighbour once: 1 + 1 GPUs fit a 2-GPU host", () => {
    expect(problems(ours(["other"]), new Map([["other", neighbour()]]))).toEqual([]);
  });

  it("refuses a stack listed twice with a clear message, and does not count it twice", () => {
    expect(problems(ours(["other", "other"]), new Map([["other", neighbour()]]))).toEqual([
      'sharesHostsWith[1]: lists stack "other" again (also at sharesHostsWith[0])',
    ]);
  });
});
