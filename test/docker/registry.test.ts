/**
 * Against a real registry (Debian's docker-registry, standing in for GHCR) fed by a real dockerd: the
 * resolver finds the digest Docker pushed, and `release` pins a digest that Docker can pull.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../cli/release";
import { parseStackText } from "../../stackConfig";
import { EXIT } from "../../cli/errors";
import { resolveDigest } from "../../clients/registry";
import {
  docker,
  dockerAvailable,
  importTinyImage,
  pushAndDigest,
  registryAvailable,
  requireDocker,
  Registry,
} from "../labs/docker";
import { git, makeProjectRepo } from "../support/gitRepos";
import { PROJECT_DIR } from "../support/harness";

const run = (dockerAvailable && registryAvailable) || requireDocker;

describe.runIf(run)("a real registry", () => {
  let registry: Registry;
  let repo: string;
  const tags = { first: `sha-${"1".repeat(40)}`, second: `sha-${"2".repeat(40)}` };
  const digests: Record<string, string> = {};

  beforeAll(async () => {
    registry = await Registry.start();
    repo = `${registry.address}/jim0237/tts-v2-api-server`;
    for (const [name, tag] of Object.entries(tags)) {
      importTinyImage(`${repo}:${tag}`, `release ${name} ${Date.now()}\n`);
      digests[name] = pushAndDigest(`${repo}:${tag}`);
    }
  }, 120_000);

  afterAll(async () => {
    for (const tag of Object.values(tags)) docker(["image", "rm", "-f", `${repo}:${tag}`]);
    await registry?.remove();
  });

  it("resolves each tag to the digest Docker pushed, and checks that a digest exists", async () => {
    expect(digests.first).not.toBe(digests.second);
    expect(await resolveDigest(repo, tags.first)).toBe(digests.first);
    expect(await resolveDigest(repo, tags.second)).toBe(digests.second);
    expect(await resolveDigest(repo, digests.first)).toBe(digests.first);
    await expect(resolveDigest(repo, "sha-missing")).rejects.toThrow(
      `${repo}:sha-missing does not exist in ${registry.address}`,
    );
  });

  it("release pins the pushed digest in the stack file, and Docker pulls exactly that image by it", async () => {
    const prod = fs
      .readFileSync(path.join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8")
      .replace("repository: ghcr.io/jim0237/tts-v2-api-server", `repository: ${repo}`);
    const test = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.test.yaml"), "utf8");
    const dir = makeProjectRepo({ "Pulumi.prod.yaml": prod, "Pulumi.test.yaml": test });
    const out: string[] = [];
    const code = await main(["release", "prod", "tts", tags.second], {
      projectDir: dir,
      out: (s) => out.push(s),
      err: (s) => out.push(s),
      env: {},
    });
    expect(out.join("\n")).toContain(
      `prod/tts: sha-c15893a73dc64eb5437e398a5fbf587947cd4d5c -> ${tags.second}@${digests.second}`,
    );
    expect(code).toBe(EXIT.ok);
    const image = (parseStackText(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8")).values as any).services
      .tts.image;
    expect(image).toEqual({ repository: repo, tag: tags.second, digest: digests.second });

    docker(["image", "rm", "-f", `${repo}:${tags.second}`]);
    docker(["pull", `${repo}@${digests.second}`]);
    const id = docker(["image", "inspect", "--format", "{{.Id}}", `${repo}@${digests.second}`]);
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    docker(["image", "rm", "-f", `${repo}@${digests.second}`]);

    // Rolling back to the first tag in a later commit goes through the same resolver.
    git(dir, ["commit", "-q", "-am", "tts second"]);
    expect(
      await main(["release", "prod", "tts", tags.first], { projectDir: dir, out: () => {}, err: () => {}, env: {} }),
    ).toBe(EXIT.ok);
    expect(
      (parseStackText(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8")).values as any).services.tts.image
        .digest,
    ).toBe(digests.first);
  });
});
