/**
 * services.<s>.readiness and services.<s>.hold: the check and the hold each service gets (declared, derived from
 * an HTTP healthcheck, a TCP connect), body files read from a real project folder, the exact bytes of a multipart
 * body, and every refusal by key path and exact message.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { StackConfigError } from "../stackConfig";
import { tempDir } from "../test/support/gitRepos";
import { buildModel } from "./buildModel";
import { isOnDocker, type DockerServiceSpec } from "./types";

/** A project folder with a one-second-WAV stand-in, a file one byte over the limit and a link out of it. */
function project(): string {
  const dir = tempDir("readiness");
  fs.mkdirSync(path.join(dir, "readiness"));
  fs.writeFileSync(path.join(dir, "readiness", "one-second.wav"), "RIFF0000WAVE");
  fs.writeFileSync(path.join(dir, "readiness", "speech.json"), '{"input":"hi","voice":"af_heart"}');
  fs.writeFileSync(path.join(dir, "readiness", "big.bin"), Buffer.alloc(2 ** 20 + 1));
  fs.symlinkSync("/etc/hostname", path.join(dir, "readiness", "escape"));
  return dir;
}
const PROJECT = project();

/** Stack "dev": the Docker host `lab`, the cluster `k8s`, and `stt` on lab (8060->8000) with `stt` over it. */
function config(stt: Record<string, unknown>, more: Record<string, unknown> = {}) {
  return {
    hosts: { lab: { dockerHost: "unix:///var/run/docker.sock" }, k8s: { kubernetes: { namespace: "speech" } } },
    services: {
      stt: {
        host: "lab",
        image: { repository: "nginx", tag: "1.27" },
        ports: [{ host: 8060, container: 8000 }],
        ...stt,
      },
    },
    ...more,
  };
}

function stt(raw: unknown): DockerServiceSpec {
  const service = buildModel(raw, { stack: "dev", projectDir: PROJECT }).services[0];
  if (!isOnDocker(service)) throw new Error("stt runs on a Docker host");
  return service;
}

function problems(raw: unknown): string[] {
  try {
    buildModel(raw, { stack: "dev", projectDir: PROJECT });
  } catch (e) {
    if (e instanceof StackConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  throw new Error("expected a StackConfigError");
}

const HEALTH = { test: ["CMD", "curl", "-f", "http://localhost:8000/health"], startPeriod: "60s" };
const DEFAULT_TIMING = { timeoutMs: 10000, intervalMs: 1000 };

describe("readiness: what each service is probed with", () => {
  it("derives a GET of an HTTP healthcheck's URL, in the list and the shell form, any 2xx, 2 passes", () => {
    const derived = {
      kind: "http",
      source: "healthcheck",
      port: 8000,
      scheme: "http",
      method: "GET",
      path: "/health",
      headers: {},
      expectStatus: [],
      ...DEFAULT_TIMING,
      passes: 2,
    };
    expect(stt(config({ healthcheck: HEALTH })).readiness).toEqual(derived);
    const shell = { test: "curl -fsS http://localhost:8000/health || exit 1" };
    expect(stt(config({ healthcheck: shell })).readiness).toEqual(derived);
    // Without -f the healthcheck passes on a 503; the readiness check wants a 2xx all the same.
    const https = { test: ["CMD", "curl", "-k", "https://127.0.0.1:8443/v1/models?x=1"] };
    expect(stt(config({ healthcheck: https })).readiness).toEqual({
      ...derived,
      port: 8443,
      scheme: "https",
      path: "/v1/models?x=1",
    });
  });

  it("falls back to a TCP connect to the first tcp port, once; none without a tcp port", () => {
    const ports = [
      { host: 5000, container: 5000, protocol: "udp" },
      { host: 8060, container: 8000 },
    ];
    expect(stt(config({ ports, healthcheck: { test: ["CMD", "true"] } })).readiness).toEqual({
      kind: "tcp",
      port: 8000,
      ...DEFAULT_TIMING,
      passes: 1,
    });
    expect(stt(config({ ports: [] })).readiness).toBeUndefined();
  });

  it("takes a declaration over the healthcheck, with its defaults: the first tcp port, the service's scheme", () => {
    const declared = { path: "/v1/models", headers: { "X-Probe": 1, Accept: "application/json" } };
    expect(stt(config({ healthcheck: HEALTH, scheme: "https", readiness: declared })).readiness).toEqual({
      kind: "http",
      source: "declared",
      port: 8000,
      scheme: "https",
      method: "GET",
      path: "/v1/models",
      headers: { Accept: "application/json", "X-Probe": "1" },
      expectStatus: [],
      ...DEFAULT_TIMING,
      passes: 2,
    });
    const all = {
      method: "HEAD",
      path: "/ready",
      port: 9000,
      scheme: "http",
      expectStatus: [204, 200, 204],
      timeout: "2s",
      interval: "500ms",
      passes: 3,
    };
    const ports = [
      { host: 8060, container: 8000 },
      { host: 9000, container: 9000 },
    ];
    expect(stt(config({ ports, readiness: all })).readiness).toMatchObject({
      method: "HEAD",
      port: 9000,
      expectStatus: [200, 204],
      timeoutMs: 2000,
      intervalMs: 500,
      passes: 3,
    });
    expect(stt(config({ readiness: { path: "/h", expectStatus: 200 } })).readiness).toMatchObject({
      expectStatus: [200],
    });
  });

  it("reads a body from the project: inline text, a file, a multipart form with a fixed boundary", () => {
    const text = stt(config({ readiness: { path: "/v1/audio/speech", method: "POST", body: { text: "{}" } } }));
    expect(text.readiness).toMatchObject({ body: { kind: "text", base64: "e30=", bytes: 2, what: "text" } });
    const file = stt(
      config({ readiness: { path: "/v1/audio/speech", method: "POST", body: { file: "readiness/speech.json" } } }),
    );
    expect(file.readiness).toMatchObject({
      body: {
        kind: "file",
        base64: Buffer.from('{"input":"hi","voice":"af_heart"}').toString("base64"),
        bytes: 33,
        what: "file readiness/speech.json",
      },
    });
    const multipart = {
      path: "/transcribe",
      method: "POST",
      headers: { "X-Probe": "1" },
      body: { multipart: { field: "audio", file: "readiness/one-second.wav", contentType: "audio/wav" } },
    };
    const sent =
      "--gpu-services-readiness-6a1f0c3e9b\r\n" +
      'Content-Disposition: form-data; name="audio"; filename="one-second.wav"\r\n' +
      "Content-Type: audio/wav\r\n\r\n" +
      "RIFF0000WAVE\r\n" +
      "--gpu-services-readiness-6a1f0c3e9b--\r\n";
    const readiness = stt(config({ readiness: multipart })).readiness;
    expect(readiness).toMatchObject({
      headers: { "Content-Type": "multipart/form-data; boundary=gpu-services-readiness-6a1f0c3e9b", "X-Probe": "1" },
      body: {
        kind: "multipart",
        base64: Buffer.from(sent).toString("base64"),
        bytes: sent.length,
        what: "multipart audio=readiness/one-second.wav (audio/wav)",
      },
    });
    expect(Object.keys(readiness!.kind === "http" ? readiness!.headers : {})).toEqual(["Content-Type", "X-Probe"]);
  });
});

describe("hold: how long and how many requests the switch holds", () => {
  it("defaults to the healthcheck's start period + 30 s, at least the switch's holdSeconds", () => {
    expect(stt(config({ healthcheck: HEALTH })).hold).toEqual({
      seconds: 90,
      queue: 256,
      replay: true,
      expectedSeconds: 60,
    });
    expect(stt(config({})).hold).toEqual({ seconds: 30, queue: 256, replay: true, expectedSeconds: 0 });
    const sw = { switch: { image: { repository: "ghcr.io/x/gpu-switch", tag: "1" }, holdSeconds: 120 } };
    expect(stt(config({ healthcheck: HEALTH }, sw)).hold.seconds).toBe(120);
    const declared = { seconds: 20, queue: 8, replay: false };
    expect(stt(config({ healthcheck: HEALTH, hold: declared }, sw)).hold).toEqual({
      ...declared,
      expectedSeconds: 60,
    });
  });
});

describe("readiness and hold refused, by key path", () => {
  const check = (readiness: Record<string, unknown>) => problems(config({ readiness }));
  const post = (body: Record<string, unknown>) => check({ path: "/h", method: "POST", body });

  it("refuses a bad request with what is allowed", () => {
    expect(check({})).toEqual(["services.stt.readiness.path: is required: a string"]);
    expect(check({ path: "health", method: "DELETE" })).toEqual([
      'services.stt.readiness.method: must be one of GET, HEAD, POST, PUT (got "DELETE")',
      'services.stt.readiness.path: must be a URL path starting with /, such as /health (no spaces, no #) (got "health")',
    ]);
    expect(check({ path: "/h", headers: { "X Bad": "1", "X-Two": "a\nb" } })).toEqual([
      'services.stt.readiness.headers["X Bad"]: is not an HTTP header name: letters, digits and ! # $ % & \' * + . ' +
        "^ _ ` | ~ -",
      'services.stt.readiness.headers.X-Two: must be one line of text (no line break) (got "a\\nb")',
    ]);
    expect(check({ path: "/h", expectStatus: [200, 99], passes: 0, timeout: "0s", interval: "soon" })).toEqual([
      "services.stt.readiness.expectStatus[1]: must be an HTTP status from 100 to 599 (got 99)",
      "services.stt.readiness.timeout: must be a duration above 0, such as 10s or 500ms",
      'services.stt.readiness.interval: must be a duration above 0, such as 10s or 500ms (got "soon")',
      "services.stt.readiness.passes: must be a whole number of checks from 1 to 100 (got 0)",
    ]);
    expect(check({ path: "/h", expectStatus: "200", retries: 3 })).toEqual([
      'services.stt.readiness.expectStatus: must be an HTTP status from 100 to 599, or a list of them (got "200")',
      "services.stt.readiness.retries: unknown key; allowed here: method, path, port, scheme, headers, body, " +
        "expectStatus, timeout, interval, passes",
    ]);
  });

  it("refuses a port the service does not list over tcp, and a check with no port to probe", () => {
    expect(check({ path: "/h", port: 9000 })).toEqual([
      "services.stt.readiness.port: must be a container port listed in ports over tcp (listed: 8000)",
    ]);
    expect(problems(config({ ports: [], readiness: { path: "/h" } }))).toEqual([
      "services.stt.readiness: has no port to probe: list a tcp port in ports (the first one is probed)",
    ]);
  });

  it("refuses a body on a GET, none or two kinds, and a Content-Type beside a multipart body", () => {
    expect(check({ path: "/h", body: { text: "x" } })).toEqual([
      "services.stt.readiness.body: needs method POST or PUT (a GET carries no body)",
    ]);
    expect(post({})).toEqual(["services.stt.readiness.body: give exactly one of text, file, multipart (got none)"]);
    expect(post({ text: "x", file: "readiness/one-second.wav" })).toEqual([
      "services.stt.readiness.body: give exactly one of text, file, multipart (got text and file)",
    ]);
    const multipart = { field: "audio", file: "readiness/one-second.wav" };
    expect(check({ path: "/h", method: "PUT", headers: { "content-type": "x/y" }, body: { multipart } })).toEqual([
      "services.stt.readiness.headers.content-type: is set by the multipart body (multipart/form-data with its " +
        "boundary); remove it, or give body.multipart.contentType for the file's part",
    ]);
    expect(post({ multipart: { field: "a b", file: "readiness/one-second.wav", contentType: "wav" } })).toEqual([
      'services.stt.readiness.body.multipart.field: must be a form field name: letters, digits, _ . - (got "a b")',
      'services.stt.readiness.body.multipart.contentType: must be a media type such as audio/wav (got "wav")',
    ]);
  });

  it("refuses a body file that is missing, too large, not a file, or outside the project", () => {
    expect(post({ file: "readiness/none.wav" })).toEqual([
      `services.stt.readiness.body.file: no file "readiness/none.wav" in the project folder (${PROJECT}); add it ` +
        "to the repository, or give the body inline (text)",
    ]);
    expect(post({ multipart: { field: "audio", file: "readiness/big.bin" } })).toEqual([
      'services.stt.readiness.body.multipart.file: "readiness/big.bin" is 1048577 bytes; a readiness body is at ' +
        "most 1 MiB (1048576 bytes)",
    ]);
    expect(post({ file: "readiness" })).toEqual([
      `services.stt.readiness.body.file: "readiness" in the project folder (${PROJECT}) is not a file`,
    ]);
    expect(post({ file: "readiness/escape" })).toEqual([
      `services.stt.readiness.body.file: "readiness/escape" leads outside the project folder (${PROJECT}) through ` +
        "a link; give a file of the project",
    ]);
    expect(post({ file: "../etc/passwd" })).toEqual([
      "services.stt.readiness.body.file: must be a file of the project, relative to its folder, such as " +
        'readiness/one-second.wav (letters, digits, _ . - and /; no .. and not absolute) (got "../etc/passwd")',
    ]);
  });

  it("refuses a hold out of range", () => {
    expect(problems(config({ hold: { seconds: 4000, queue: 0, replay: "yes", budget: 3 } }))).toEqual([
      "services.stt.hold.seconds: must be a whole number of seconds from 0 to 3600 (got 4000)",
      "services.stt.hold.queue: must be a whole number of requests from 1 to 100000 (got 0)",
      'services.stt.hold.replay: must be true or false (got "yes")',
      "services.stt.hold.budget: unknown key; allowed here: seconds, queue, replay",
    ]);
  });

  it("refuses on a cluster what a probe cannot do, and the hold (no switch there), with the way out", () => {
    const readiness = { path: "/h", method: "POST", expectStatus: 204, body: { file: "readiness/none.wav" } };
    expect(problems(config({ host: "k8s", hold: { seconds: 3 }, readiness }))).toEqual([
      'services.stt.hold: host "k8s" is a cluster, which has no switch to hold requests (its Service sends them to ' +
        "ready pods only); remove it, or run the service on a Docker host",
      'services.stt.readiness.method: POST has no Kubernetes probe form on cluster "k8s"; use GET (readiness.path), ' +
        "or drop readiness and give an exec healthcheck",
      'services.stt.readiness.body: a request body has no Kubernetes probe form on cluster "k8s" (httpGet sends ' +
        "none); drop it and probe a GET path, or drop readiness and give an exec healthcheck",
      'services.stt.readiness.expectStatus: has no Kubernetes probe form on cluster "k8s" (the kubelet passes any ' +
        "status from 200 to 399); drop it, or drop readiness and give an exec healthcheck",
    ]);
    expect(problems(config({ host: "k8s", readiness: { path: "/h", method: "HEAD" } }))).toEqual([
      'services.stt.readiness.method: HEAD has no Kubernetes probe form on cluster "k8s"; use GET (readiness.path), ' +
        "or drop readiness and give an exec healthcheck",
    ]);
  });
});
