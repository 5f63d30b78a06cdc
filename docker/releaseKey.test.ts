/** The release key: the image ref and a hash of exactly the inputs whose change replaces the container. */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { valueOf } from "../test/support/harness";
import { releaseKey, stableJson } from "./releaseKey";

const REF = `nginx@sha256:${"a".repeat(64)}`;

describe("release key", () => {
  it("writes JSON with sorted keys at every depth, lists in order, without undefined entries", () => {
    expect(stableJson({ b: [{ z: 1, a: "x" }, 2], a: { d: undefined, c: null } })).toBe(
      '{"a":{"c":null},"b":[{"a":"x","z":1},2]}',
    );
  });

  it("is the ref and 12 hex of the hash of the replacing inputs with the containerName", async () => {
    const args = {
      name: "stt-dev-1a2b3c",
      image: pulumi.output("sha256:abc"),
      envs: ["B=2", pulumi.secret("A=1")],
      restart: "unless-stopped",
      destroyGraceSeconds: 30,
      wait: false,
      mustRun: true,
      labels: [{ label: "gpu-services.release", value: pulumi.output(REF) }],
    };
    const hashed =
      '{"containerName":"stt-dev","inputs":{"envs":["B=2","A=1"],"image":"sha256:abc","labels":[{"label":"gpu-services.release","value":"' +
      REF +
      '"}]}}';
    const expected = `${REF}+${createHash("sha256").update(hashed).digest("hex").slice(0, 12)}`;
    const key = releaseKey(args, REF, "stt-dev");
    expect(await valueOf(key)).toBe(expected);
    // A secret env value counts, so the key is a secret output.
    expect(await (key as unknown as { isSecret: Promise<boolean> }).isSecret).toBe(true);
    // What is updated in place, or acts only at create and delete, or the suffixed name: the same key.
    const inPlace = { ...args, name: "stt-dev-ffffff", restart: "always", destroyGraceSeconds: 5, wait: true };
    expect(await valueOf(releaseKey(inPlace, REF, "stt-dev"))).toBe(expected);
    // A replacing input, the image ref or the containerName: another key.
    for (const key of [
      releaseKey({ ...args, envs: ["B=3", "A=1"] }, REF, "stt-dev"),
      releaseKey(args, `nginx@sha256:${"b".repeat(64)}`, "stt-dev"),
      releaseKey(args, REF, "stt-prod"),
    ]) {
      expect(await valueOf(key)).not.toBe(expected);
    }
  });
});
