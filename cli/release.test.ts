/**
 * The release CLI on real git repositories in temporary folders and the real stack files: a ref resolves to
 * the right commit, the file changes only in the released value, history lists past releases newest first,
 * rollback writes the previous one back, bad input leaves the file byte-for-byte unchanged.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main, type ReleaseDeps } from "./release";
import { EXIT } from "./errors";
import { git, makeProjectRepo, makeSourceRepo, redirectGitUrl, type SourceRepo } from "../test/support/gitRepos";
import { evaluate, PROJECT_DIR, T } from "../test/support/harness";
import { parseStackText } from "../stackConfig";

const TTS_URL = "https://github.com/jim0237/TTS-V2-API-Server.git";
const REAL = (name: string) => fs.readFileSync(path.join(PROJECT_DIR, name), "utf8");
/** The real stack files, both: each names the other in sharesHostsWith. */
const BOTH = () => ({ "Pulumi.prod.yaml": REAL("Pulumi.prod.yaml"), "Pulumi.test.yaml": REAL("Pulumi.test.yaml") });

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(dir: string, args: string[], resolveDigest?: ReleaseDeps["resolveDigest"]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    projectDir: dir,
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    resolveDigest,
    env: {},
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Lines of b that differ from a, by position (files of equal length), plus the lengths. */
function changedLines(a: string, b: string): { removed: string[]; added: string[] } {
  const la = a.split("\n");
  const lb = b.split("\n");
  return { removed: la.filter((l) => !lb.includes(l)), added: lb.filter((l) => !la.includes(l)) };
}

function commitAll(dir: string, message: string, author: string, date: string): string {
  git(dir, ["commit", "-q", "-am", message], { GIT_AUTHOR_NAME: author, GIT_AUTHOR_DATE: date });
  return git(dir, ["rev-parse", "HEAD"]);
}

let src: SourceRepo;
let restore: () => void;
beforeAll(() => {
  src = makeSourceRepo();
  restore = redirectGitUrl(TTS_URL, src.bare);
});
afterAll(() => restore());

describe("release of a git build", () => {
  it("resolves a branch to its commit and changes only that value in the file", async () => {
    const dir = makeProjectRepo(BOTH());
    const before = fs.readFileSync(path.join(dir, "Pulumi.test.yaml"), "utf8");
    const r = await cli(dir, ["release", "test", "tts", "main"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(EXIT.ok);
    const after = fs.readFileSync(path.join(dir, "Pulumi.test.yaml"), "utf8");
    expect(changedLines(before, after)).toEqual({
      removed: ["        ref: c15893a73dc64eb5437e398a5fbf587947cd4d5c"],
      added: [`        ref: ${src.main[2]}`],
    });
    expect(after.split("\n")).toHaveLength(before.split("\n").length);
    expect(after).toContain("# The image's own HEALTHCHECK probes https and fails with TTS_USE_HTTPS=false");
    expect(r.out).toContain(`test/tts: c15893a73dc64eb5437e398a5fbf587947cd4d5c -> ${src.main[2]}`);
  });

  it("resolves an annotated tag to the commit it tags, a lightweight tag and another branch too", async () => {
    const dir = makeProjectRepo(BOTH());
    const refOf = () =>
      (parseStackText(fs.readFileSync(path.join(dir, "Pulumi.test.yaml"), "utf8")).values as any).services.tts.build
        .ref;
    for (const [value, commit] of [
      ["v1", src.main[0]],
      ["v2", src.main[1]],
      ["feature", src.feature],
      ["refs/heads/main", src.main[2]],
    ]) {
      expect((await cli(dir, ["release", "test", "tts", value])).code).toBe(EXIT.ok);
      expect(refOf()).toBe(commit);
      git(dir, ["commit", "-q", "-am", `release ${value}`]);
    }
  });

  it("takes the commit the file names, exactly, to the image and container inputs", async () => {
    const dir = makeProjectRepo(BOTH());
    await cli(dir, ["release", "test", "tts", "v2"]);
    const e = await evaluate(parseStackText(fs.readFileSync(path.join(dir, "Pulumi.test.yaml"), "utf8")), "test");
    expect(e.get(T.build, "tts-image").inputs.context).toEqual({ location: `${TTS_URL}#${src.main[1]}` });
    expect(e.get(T.build, "tts-image").inputs.tags).toEqual([`gpu-services/tts:${src.main[1]}`]);
    expect(e.get(T.container, "tts-container").inputs.image).toBe(`gpu-services/tts:${src.main[1]}`);
    expect(e.get(T.container, "tts-container").inputs.labels).toContainEqual({
      label: "gpu-services.release",
      value: `${TTS_URL}#${src.main[1]}`,
    });
  });

  const refused: [string, string[], number, string][] = [
    [
      "a ref that does not exist",
      ["release", "test", "tts", "no-such-branch"],
      EXIT.unresolved,
      `no branch or tag "no-such-branch" in ${TTS_URL}`,
    ],
    ["an abbreviated commit", ["release", "test", "tts", "c15893a"], EXIT.unresolved, "give all 40 hex digits"],
    [
      "a malformed ref",
      ["release", "test", "tts", "bad ref"],
      EXIT.usage,
      '"bad ref" is not a git branch, tag or commit',
    ],
    [
      "an unknown service",
      ["release", "test", "stt", "main"],
      EXIT.usage,
      'stack "test" has no service "stt"; services: tts',
    ],
    [
      "an unknown stack",
      ["release", "staging", "tts", "main"],
      EXIT.usage,
      'unknown stack "staging": no Pulumi.staging.yaml; stacks: prod, test',
    ],
    ["a missing argument", ["release", "test", "tts"], EXIT.usage, "missing required argument 'value'"],
  ];
  for (const [what, args, code, message] of refused) {
    it(`refuses ${what} with exit code ${code} and leaves the file byte-for-byte unchanged`, async () => {
      const dir = makeProjectRepo(BOTH());
      const before = fs.readFileSync(path.join(dir, "Pulumi.test.yaml"));
      const r = await cli(dir, args);
      expect(r.code).toBe(code);
      expect(r.err).toContain(message);
      expect(fs.readFileSync(path.join(dir, "Pulumi.test.yaml")).equals(before)).toBe(true);
    });
  }

  it("refuses to overwrite local edits", async () => {
    const dir = makeProjectRepo(BOTH());
    const file = path.join(dir, "Pulumi.test.yaml");
    fs.appendFileSync(file, "# a note not yet committed\n");
    const before = fs.readFileSync(file);
    const r = await cli(dir, ["release", "test", "tts", "main"]);
    expect(r.code).toBe(EXIT.refused);
    expect(r.err).toContain("Pulumi.test.yaml has uncommitted changes");
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });
});

describe("history and rollback", () => {
  function project(): { dir: string; file: string } {
    const dir = makeProjectRepo(BOTH());
    return { dir, file: path.join(dir, "Pulumi.test.yaml") };
  }

  it("lists past releases newest first with commit, date and author, skipping commits that changed nothing", async () => {
    const { dir, file } = project();
    await cli(dir, ["release", "test", "tts", "v1"]);
    const c1 = commitAll(dir, "tts v1", "Bob", "2026-11-02T10:00:00+00:00");
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, "utf8")
        .replace(
          "# Config reference: docs/reference/config.md.",
          "# Config reference: docs/reference/config.md (and plan).",
        ),
    );
    commitAll(dir, "comment only", "Carol", "2026-11-03T10:00:00+00:00");
    await cli(dir, ["release", "test", "tts", "v2"]);
    const c2 = commitAll(dir, "tts v2", "Dave", "2026-11-04T10:00:00+00:00");
    const initial = git(dir, ["rev-list", "--max-parents=0", "HEAD"]);

    const r = await cli(dir, ["history", "test", "tts", "--json"]);
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.out)).toEqual([
      { commit: c2, date: "2026-11-04T10:00:00+00:00", author: "Dave", value: src.main[1] },
      { commit: c1, date: "2026-11-02T10:00:00+00:00", author: "Bob", value: src.main[0] },
      {
        commit: initial,
        date: "2026-11-01T09:00:00+00:00",
        author: "Agnes",
        value: "c15893a73dc64eb5437e398a5fbf587947cd4d5c",
      },
    ]);
    const text = await cli(dir, ["history", "test", "tts"]);
    expect(text.out.split("\n")[0]).toBe(` 0  ${c2.slice(0, 12)}  2026-11-04T10:00:00+00:00  Dave  ${src.main[1]}`);
  });

  it("rolls back to the previous release, to one n back, and to one named by value", async () => {
    const { dir, file } = project();
    const refOf = () => (parseStackText(fs.readFileSync(file, "utf8")).values as any).services.tts.build.ref;
    await cli(dir, ["release", "test", "tts", "v1"]);
    commitAll(dir, "tts v1", "Bob", "2026-11-02T10:00:00+00:00");
    await cli(dir, ["release", "test", "tts", "v2"]);
    commitAll(dir, "tts v2", "Bob", "2026-11-03T10:00:00+00:00");

    const before = fs.readFileSync(file, "utf8");
    const back = await cli(dir, ["rollback", "test", "tts"]);
    expect(back.code).toBe(EXIT.ok);
    expect(refOf()).toBe(src.main[0]);
    expect(changedLines(before, fs.readFileSync(file, "utf8"))).toEqual({
      removed: [`        ref: ${src.main[1]}`],
      added: [`        ref: ${src.main[0]}`],
    });
    git(dir, ["checkout", "--", "Pulumi.test.yaml"]);

    expect((await cli(dir, ["rollback", "test", "tts", "--to", "2"])).code).toBe(EXIT.ok);
    expect(refOf()).toBe("c15893a73dc64eb5437e398a5fbf587947cd4d5c");
    git(dir, ["checkout", "--", "Pulumi.test.yaml"]);

    expect((await cli(dir, ["rollback", "test", "tts", "--to", src.main[0].slice(0, 10)])).code).toBe(EXIT.ok);
    expect(refOf()).toBe(src.main[0]);
    git(dir, ["checkout", "--", "Pulumi.test.yaml"]);

    const unknown = await cli(dir, ["rollback", "test", "tts", "--to", "deadbeef00"]);
    expect(unknown.code).toBe(EXIT.unresolved);
    expect(unknown.err).toContain('"deadbeef00" is not a past release of test/tts');
    const tooFar = await cli(dir, ["rollback", "test", "tts", "--to", "5"]);
    expect(tooFar.code).toBe(EXIT.unresolved);
    expect(tooFar.err).toContain("test/tts has no release 5 back (history has 3)");
    expect(fs.readFileSync(file, "utf8")).toBe(before);
  });

  it("rolls back to a release that had no build.ref by removing the key, not by writing the context URL", async () => {
    const files = BOTH();
    const noRef = files["Pulumi.test.yaml"].replace(
      /\n {8}# main on 2026-01-27[^\n]*\n {8}ref: c15893a73dc64eb5437e398a5fbf587947cd4d5c/,
      "",
    );
    expect(noRef).not.toContain("ref:");
    const dir = makeProjectRepo({ ...files, "Pulumi.test.yaml": noRef });
    const file = path.join(dir, "Pulumi.test.yaml");
    expect((await cli(dir, ["release", "test", "tts", "v1"])).code).toBe(EXIT.ok);
    commitAll(dir, "tts v1", "Bob", "2026-11-02T10:00:00+00:00");

    const back = await cli(dir, ["rollback", "test", "tts"]);
    expect(back.err).toBe("");
    expect(back.code).toBe(EXIT.ok);
    expect(fs.readFileSync(file, "utf8")).toBe(noRef);
  });
});

describe("release of a registry image", () => {
  const DIGEST = `sha256:${"d".repeat(64)}`;
  const NEWER = `sha256:${"e".repeat(64)}`;

  it("pins the digest a tag resolves to beside the tag, and that exact digest reaches the pull and the container", async () => {
    const dir = makeProjectRepo(BOTH());
    const file = path.join(dir, "Pulumi.prod.yaml");
    const before = fs.readFileSync(file, "utf8");
    const calls: [string, string][] = [];
    const resolver = async (repository: string, reference: string) => {
      calls.push([repository, reference]);
      return DIGEST;
    };
    const tag = `sha-${"1".repeat(40)}`;
    const r = await cli(dir, ["release", "prod", "tts", tag], resolver);
    expect(r.code).toBe(EXIT.ok);
    expect(calls).toEqual([["ghcr.io/jim0237/tts-v2-api-server", tag]]);
    const after = fs.readFileSync(file, "utf8");
    expect(changedLines(before, after)).toEqual({
      removed: ["        tag: sha-c15893a73dc64eb5437e398a5fbf587947cd4d5c"],
      added: [`        tag: ${tag}`, `        digest: ${DIGEST}`],
    });

    const pinned = await evaluate(parseStackText(after), "prod");
    expect(pinned.get(T.remoteImage, "tts-image").inputs).toEqual({
      name: `ghcr.io/jim0237/tts-v2-api-server@${DIGEST}`,
      keepLocally: true,
    });
    expect(pinned.outputs.tts.image).toBe(`ghcr.io/jim0237/tts-v2-api-server@${DIGEST}`);

    // Only tts changed: stt's resources are input-for-input the same as before the release.
    const original = await evaluate(parseStackText(before), "prod");
    const inputsOf = (e: typeof original) =>
      new Map(e.resources.map((x) => [`${x.type}::${x.name}`, JSON.stringify(x.inputs)]));
    const [a, b] = [inputsOf(original), inputsOf(pinned)];
    expect([...a.keys()].filter((k) => a.get(k) !== b.get(k)).sort()).toEqual([
      `${T.container}::tts-container`,
      `${T.remoteImage}::tts-image`,
    ]);
  });

  it("rolls a registry image back to the previous tag and digest together, then forward by digest alone", async () => {
    const dir = makeProjectRepo(BOTH());
    const file = path.join(dir, "Pulumi.prod.yaml");
    const image = () => (parseStackText(fs.readFileSync(file, "utf8")).values as any).services.tts.image;
    await cli(dir, ["release", "prod", "tts", "sha-aaaa"], async () => DIGEST);
    commitAll(dir, "tts sha-aaaa", "Bob", "2026-11-02T10:00:00+00:00");
    await cli(dir, ["release", "prod", "tts", "sha-bbbb"], async () => NEWER);
    commitAll(dir, "tts sha-bbbb", "Bob", "2026-11-03T10:00:00+00:00");

    expect((await cli(dir, ["rollback", "prod", "tts"])).code).toBe(EXIT.ok);
    expect(image()).toEqual({ repository: "ghcr.io/jim0237/tts-v2-api-server", tag: "sha-aaaa", digest: DIGEST });
    commitAll(dir, "rollback", "Bob", "2026-11-04T10:00:00+00:00");

    const seen: string[] = [];
    expect(
      (await cli(dir, ["release", "prod", "tts", NEWER], async (_r: string, ref: string) => (seen.push(ref), ref)))
        .code,
    ).toBe(EXIT.ok);
    expect(seen).toEqual([NEWER]);
    expect(image()).toEqual({ repository: "ghcr.io/jim0237/tts-v2-api-server", digest: NEWER });
  });

  it("refuses a malformed digest or tag without asking the registry", async () => {
    const dir = makeProjectRepo(BOTH());
    const before = fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"));
    const asked: string[] = [];
    const resolver = async (_r: string, ref: string) => (asked.push(ref), DIGEST);
    const bad = await cli(dir, ["release", "prod", "tts", "v1@sha256:abc"], resolver);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain('"sha256:abc" is not a digest');
    const badTag = await cli(dir, ["release", "prod", "tts", "-v1"], resolver);
    expect(badTag.code).toBe(EXIT.usage);
    expect(asked).toEqual([]);
    expect(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml")).equals(before)).toBe(true);
  });

  it("refuses a release that would break the stack's rules (a floating tag in prod)", async () => {
    const dir = makeProjectRepo(BOTH());
    const file = path.join(dir, "Pulumi.prod.yaml");
    // Make tts a tracked image in a scratch commit: a pinned digest cannot be combined with track.
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, "utf8")
        .replace("requirePinnedImages: true", "requirePinnedImages: false")
        .replace(
          "        tag: sha-c15893a73dc64eb5437e398a5fbf587947cd4d5c",
          "        tag: latest\n        track: true",
        ),
    );
    commitAll(dir, "track latest", "Bob", "2026-11-02T10:00:00+00:00");
    const before = fs.readFileSync(file);
    const r = await cli(dir, ["release", "prod", "tts", "sha-cccc"], async () => DIGEST);
    expect(r.code).toBe(EXIT.refused);
    expect(r.err).toContain("the release would make the stack invalid; file left unchanged");
    expect(r.err).toContain("services.tts.image.track: follows a tag: give image.tag and no image.digest");
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it("reports a tag the registry does not have with exit code 3", async () => {
    const dir = makeProjectRepo(BOTH());
    const { ReportedError } = await import("../errors");
    const r = await cli(dir, ["release", "prod", "tts", "sha-nope"], async () => {
      throw new ReportedError("unresolved", "ghcr.io/jim0237/tts-v2-api-server:sha-nope does not exist in ghcr.io");
    });
    expect(r.code).toBe(EXIT.unresolved);
    expect(r.err).toBe("release: ghcr.io/jim0237/tts-v2-api-server:sha-nope does not exist in ghcr.io");
  });
});

describe("status", () => {
  it("prints what the stack file says each service runs", async () => {
    const r = await cli(PROJECT_DIR, ["status", "prod", "--json"]);
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.out)).toEqual([
      {
        service: "stt",
        source: "https://github.com/jim0237/STT-API-Server.git",
        kind: "build",
        release: "cf2f45fd9df5a67ce52ebf996c8163cd94202952",
      },
      {
        service: "tts",
        source: "ghcr.io/jim0237/tts-v2-api-server",
        kind: "pull",
        release: "sha-c15893a73dc64eb5437e398a5fbf587947cd4d5c",
      },
    ]);
  });
});

describe("release and rollback of a cluster service (test/fixtures/cluster/Pulumi.mixed.yaml)", () => {
  const FIXTURE = fs.readFileSync(path.join(PROJECT_DIR, "test", "fixtures", "cluster", "Pulumi.mixed.yaml"), "utf8");
  const OLD = `sha256:${"1".repeat(64)}`;
  const V2 = `sha256:${"5".repeat(64)}`;
  const V3 = `sha256:${"6".repeat(64)}`;

  it("pins a tag's digest in the stack file, changing only that value, and rolls it back, as for a Docker service", async () => {
    const dir = makeProjectRepo({ "Pulumi.mixed.yaml": FIXTURE });
    const file = path.join(dir, "Pulumi.mixed.yaml");
    const asked: string[] = [];
    const r = await cli(dir, ["release", "mixed", "stt", "v2"], async (repository, ref) => {
      asked.push(`${repository}:${ref}`);
      return V2;
    });
    expect(r.err).toBe("");
    expect(r.code).toBe(EXIT.ok);
    expect(asked).toEqual(["ghcr.io/jim0237/stt-api-server:v2"]);
    expect(r.out).toBe(
      `mixed/stt: ${OLD} -> v2@${V2}\nnext: review and commit Pulumi.mixed.yaml, then pulumi up --stack mixed`,
    );
    const released = fs.readFileSync(file, "utf8");
    expect(changedLines(FIXTURE, released)).toEqual({
      removed: [`        digest: ${OLD}`],
      added: [`        digest: ${V2}`, "        tag: v2"],
    });
    const image = () => (parseStackText(fs.readFileSync(file, "utf8")).values as any).services.stt.image;
    commitAll(dir, "stt v2", "Bob", "2026-11-02T10:00:00+00:00");
    await cli(dir, ["release", "mixed", "stt", "v3"], async () => V3);
    commitAll(dir, "stt v3", "Bob", "2026-11-03T10:00:00+00:00");

    const history = await cli(dir, ["history", "mixed", "stt", "--json"]);
    expect(JSON.parse(history.out).map((e: { value: string }) => e.value)).toEqual([`v3@${V3}`, `v2@${V2}`, OLD]);
    const back = await cli(dir, ["rollback", "mixed", "stt"]);
    expect(back.err).toBe("");
    expect(back.code).toBe(EXIT.ok);
    expect(image()).toEqual({ repository: "ghcr.io/jim0237/stt-api-server", tag: "v2", digest: V2 });
    // The service is still the cluster's, with its pods and placement; nothing else of the file moved.
    const { loadStackModel } = await import("../model");
    const stt = loadStackModel("mixed", dir).services.find((s) => s.name === "stt")!;
    expect(stt).toMatchObject({ runsOn: "kubernetes", host: "cluster-a", replicas: 2 });
    expect(stt.image).toMatchObject({ kind: "registry", ref: `ghcr.io/jim0237/stt-api-server@${V2}` });
    expect(fs.readFileSync(file, "utf8")).toBe(released);

    const status = await cli(dir, ["status", "mixed", "--json"]);
    expect(JSON.parse(status.out).find((s: { service: string }) => s.service === "stt")).toEqual({
      service: "stt",
      source: "ghcr.io/jim0237/stt-api-server",
      kind: "pull",
      release: `v2@${V2}`,
    });
  });
});
