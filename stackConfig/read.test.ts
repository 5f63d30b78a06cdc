/** Reading stack files as the Pulumi CLI writes them. */
import { describe, expect, it } from "vitest";

describe("stack files as the Pulumi CLI writes them", () => {
  it("reads a quoted top-level scalar as the engine hands it to the program (JSON where it is JSON)", async () => {
    const { parseStackText } = await import("./read");
    // `pulumi config set --path …` rewrites the file and quotes top-level scalars: `requirePinnedImages: "true"`.
    const raw = parseStackText(
      'config:\n  gpu-services:requirePinnedImages: "true"\n  gpu-services:note: "010"\n  gpu-services:sharesHostsWith: "[\\"test\\"]"\n',
    );
    expect(raw.values).toEqual({ requirePinnedImages: true, note: "010", sharesHostsWith: ["test"] });
  });
});
