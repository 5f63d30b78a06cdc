/**
 * The e2e's web image (the GPU variant, which has the /bin/sh that `docker run --health-cmd` needs) on the real
 * dockerd: the release CGI answers GET and POST (reading the body) with the
 * release baked into the image, and HEALTHY_AFTER_SECONDS holds back the first passing healthcheck while the
 * port already answers, so a test can see whether a request reached a container before it was healthy.
 */
import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerAvailable, freePort, requireDocker, waitFor } from "../labs/docker";
import { HEALTHCHECK_TEST, HEALTHY_AFTER_ENV, RELEASE_PATH } from "../labs/e2eFixtures";
import { buildGpuWebImage } from "../labs/gpuImage";
import { watchContainers } from "../labs/dockerWatch";
import { isGood, now, startTraffic } from "../labs/probe";

const suffix = `${process.pid}-${Date.now()}`;
const image = `gpu-services-test/release-web:${suffix}`;
const name = (what: string) => `gpu-services-test-${what}-${suffix}`;

interface HealthLog {
  Start: string;
  End: string;
  ExitCode: number;
}

function health(container: string): { Status: string; Log: HealthLog[] } {
  return JSON.parse(docker(["inspect", "--format", "{{json .State.Health}}", container]));
}

function run(container: string, port: number, env: string[] = []): void {
  docker([
    "run",
    "-d",
    "--name",
    container,
    "--label",
    `test.container=${container}`,
    "-p",
    `127.0.0.1:${port}:8000`,
    ...env.flatMap((e) => ["-e", e]),
    "--health-cmd",
    HEALTHCHECK_TEST.slice(1).join(" "),
    "--health-interval",
    "500ms",
    "--health-timeout",
    "1s",
    "--health-retries",
    "1",
    image,
  ]);
}

function post(port: number, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port, path: RELEASE_PATH, method: "POST", headers: { "content-length": body.length } },
      (response) => {
        let text = "";
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode!, text }));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

describe.runIf(dockerAvailable || requireDocker)("the e2e web image on the real dockerd", () => {
  const containers: string[] = [];

  beforeAll(() => {
    buildGpuWebImage(image, "web v1", true, "h100", "v1");
  });

  afterAll(() => {
    for (const c of containers) docker(["rm", "-f", c]);
    docker(["image", "rm", "-f", image]);
  });

  it("answers GET and POST at the release CGI with the image's release; the POST body is read", async () => {
    const port = await freePort();
    const container = name("plain");
    containers.push(container);
    run(container, port);
    await waitFor("the web container", async () => health(container).Status === "healthy");
    const get = await fetch(`http://127.0.0.1:${port}${RELEASE_PATH}`);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe("v1\n");
    const answer = await post(port, Buffer.alloc(8192, "b"));
    expect(answer).toEqual({ status: 200, text: "v1\nreceived 8192 bytes\n" });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("web v1\n");
    // The traffic tool agrees: every GET and POST good, all from v1.
    const traffic = startTraffic(`http://127.0.0.1:${port}${RELEASE_PATH}`);
    await new Promise((r) => setTimeout(r, 500));
    const answers = await traffic.stop();
    expect(answers.length).toBeGreaterThan(10);
    expect(answers.filter((a) => !isGood(a))).toEqual([]);
    expect(new Set(answers.map((a) => a.release))).toEqual(new Set(["v1"]));
  });

  it(`with ${HEALTHY_AFTER_ENV}=3 it serves at once, and its first passing healthcheck comes about 3 s after the start`, async () => {
    const port = await freePort();
    const container = name("delayed");
    containers.push(container);
    const watch = watchContainers(`test.container=${container}`);
    run(container, port, [`${HEALTHY_AFTER_ENV}=3`]);
    const started = Date.parse(docker(["inspect", "--format", "{{.State.StartedAt}}", container]));
    let servedBeforeHealthy = false;
    await waitFor(
      "the delayed container to turn healthy",
      async () => {
        if (health(container).Status === "healthy") return true;
        const text = await (await fetch(`http://127.0.0.1:${port}${RELEASE_PATH}`)).text();
        if (text === "v1\n" && health(container).Status !== "healthy") servedBeforeHealthy = true;
        return false;
      },
      20_000,
    );
    expect(servedBeforeHealthy).toBe(true);
    const log = health(container).Log;
    const firstPass = log.find((entry) => entry.ExitCode === 0)!;
    expect(log.some((entry) => entry.ExitCode !== 0)).toBe(true);
    const passedAfter = Date.parse(firstPass.End) - started;
    expect(passedAfter).toBeGreaterThanOrEqual(3000);
    expect(passedAfter).toBeLessThan(8000);
    expect(now()).toBeGreaterThan(Date.parse(firstPass.End));
    // The sampler the release e2e relies on saw the same: running at once, healthy at that first pass.
    const seen = (await watch.stop()).containers;
    expect(seen.map((c) => c.name)).toEqual([container]);
    expect(seen[0].healthyAt).toBe(Date.parse(firstPass.End));
    expect(seen[0].healthyAt! - seen[0].firstRunning!).toBeGreaterThan(2000);
    expect(seen[0].deviceRequests).toEqual([]);
  });
});
