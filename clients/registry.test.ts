/**
 * The registry resolver's requests, pinned: the manifest URL per registry, the Accept header for OCI and
 * Docker manifests and indexes, and the Bearer token flow (ghcr.io style), anonymous and with credentials.
 */
import { describe, expect, it } from "vitest";
import { ReportedError } from "../errors";
import { locate, MANIFEST_ACCEPT, resolveDigest } from "./registry";

const DIGEST = `sha256:${"a".repeat(64)}`;

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
}

/** A scripted registry: answers in order, records every request. */
function scripted(...answers: Response[]) {
  const seen: Seen[] = [];
  const fake = (async (url: string | URL, init?: RequestInit) => {
    seen.push({
      url: String(url),
      method: init?.method ?? "GET",
      headers: { ...(init?.headers as Record<string, string>) },
    });
    const next = answers.shift();
    if (!next) throw new Error(`unexpected request ${url}`);
    return next;
  }) as typeof fetch;
  return { fake, seen };
}

describe("locate", () => {
  it("finds the registry and path of a repository", () => {
    expect(locate("ghcr.io/jim0237/tts-v2-api-server")).toEqual({
      registry: "ghcr.io",
      path: "jim0237/tts-v2-api-server",
      baseUrl: "https://ghcr.io",
    });
    expect(locate("nginx")).toEqual({
      registry: "docker.io",
      path: "library/nginx",
      baseUrl: "https://registry-1.docker.io",
    });
    expect(locate("jim0237/stt")).toEqual({
      registry: "docker.io",
      path: "jim0237/stt",
      baseUrl: "https://registry-1.docker.io",
    });
    expect(locate("127.0.0.1:5000/jim0237/tts")).toEqual({
      registry: "127.0.0.1:5000",
      path: "jim0237/tts",
      baseUrl: "http://127.0.0.1:5000",
    });
    expect(locate("localhost:5000/x").baseUrl).toBe("http://localhost:5000");
  });
});

describe("resolveDigest", () => {
  it("asks for every manifest kind and reads Docker-Content-Digest", async () => {
    const { fake, seen } = scripted(new Response(null, { status: 200, headers: { "Docker-Content-Digest": DIGEST } }));
    expect(await resolveDigest("127.0.0.1:5000/jim0237/tts", "sha-1", { fetch: fake })).toBe(DIGEST);
    expect(seen).toEqual([
      {
        url: "http://127.0.0.1:5000/v2/jim0237/tts/manifests/sha-1",
        method: "HEAD",
        headers: { Accept: MANIFEST_ACCEPT },
      },
    ]);
    expect(MANIFEST_ACCEPT.split(", ")).toEqual([
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
    ]);
  });

  it("follows ghcr.io's Bearer challenge anonymously, then asks again with the token", async () => {
    const { fake, seen } = scripted(
      new Response(null, {
        status: 401,
        headers: {
          "WWW-Authenticate":
            'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:jim0237/tts-v2-api-server:pull"',
        },
      }),
      Response.json({ token: "anon-token" }),
      new Response(null, { status: 200, headers: { "Docker-Content-Digest": DIGEST } }),
    );
    expect(await resolveDigest("ghcr.io/jim0237/tts-v2-api-server", "sha-c15893a", { fetch: fake })).toBe(DIGEST);
    expect(seen).toEqual([
      {
        url: "https://ghcr.io/v2/jim0237/tts-v2-api-server/manifests/sha-c15893a",
        method: "HEAD",
        headers: { Accept: MANIFEST_ACCEPT },
      },
      {
        url: "https://ghcr.io/token?service=ghcr.io&scope=repository%3Ajim0237%2Ftts-v2-api-server%3Apull",
        method: "GET",
        headers: {},
      },
      {
        url: "https://ghcr.io/v2/jim0237/tts-v2-api-server/manifests/sha-c15893a",
        method: "HEAD",
        headers: { Accept: MANIFEST_ACCEPT, Authorization: "Bearer anon-token" },
      },
    ]);
  });

  it("sends credentials to the token service only, as Basic auth, and takes access_token too", async () => {
    const { fake, seen } = scripted(
      new Response(null, {
        status: 401,
        headers: { "WWW-Authenticate": 'Bearer realm="https://ghcr.io/token",service="ghcr.io"' },
      }),
      Response.json({ access_token: "user-token" }),
      new Response(null, { status: 200, headers: { "Docker-Content-Digest": DIGEST } }),
    );
    await resolveDigest("ghcr.io/jim0237/private", "v1", {
      fetch: fake,
      credentials: { username: "jim0237", password: "ghp_x" },
    });
    expect(seen[1]).toEqual({
      url: "https://ghcr.io/token?service=ghcr.io&scope=repository%3Ajim0237%2Fprivate%3Apull",
      method: "GET",
      headers: { Authorization: `Basic ${Buffer.from("jim0237:ghp_x").toString("base64")}` },
    });
    expect(seen[2].headers.Authorization).toBe("Bearer user-token");
    expect(seen[0].headers.Authorization).toBeUndefined();
  });

  it("hashes the manifest itself when the registry sends no digest header", async () => {
    const manifest = '{"schemaVersion":2}';
    const { fake, seen } = scripted(new Response(null, { status: 200 }), new Response(manifest, { status: 200 }));
    const { createHash } = await import("node:crypto");
    expect(await resolveDigest("ghcr.io/a/b", "t", { fetch: fake })).toBe(
      `sha256:${createHash("sha256").update(manifest).digest("hex")}`,
    );
    expect(seen.map((s) => s.method)).toEqual(["HEAD", "GET"]);
  });

  it("says which tag is missing, and fails cleanly on an unreachable registry", async () => {
    const missing = scripted(new Response(null, { status: 404 }));
    await expect(
      resolveDigest("ghcr.io/jim0237/tts-v2-api-server", "sha-nope", { fetch: missing.fake }),
    ).rejects.toEqual(
      new ReportedError("unresolved", "ghcr.io/jim0237/tts-v2-api-server:sha-nope does not exist in ghcr.io"),
    );
    const down = (async () => {
      throw new TypeError("fetch failed");
    }) as unknown as typeof fetch;
    await expect(resolveDigest("ghcr.io/a/b", "t", { fetch: down })).rejects.toThrow(
      "cannot reach ghcr.io for ghcr.io/a/b: fetch failed",
    );
  });
});
