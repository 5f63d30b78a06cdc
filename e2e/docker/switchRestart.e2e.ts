/**
 * The switch through restarts (its own process, then the daemon) and with streams open, for real, on a dockerd of the test's own (test/labs/dockerd.ts: in a
 * network namespace of its own, with its own data-root, exec-root, containerd and socket; the shared daemon is
 * never stopped). Published ports are relayed from the host's 127.0.0.1 into the namespace. A
 * stack with the switch and two services behind it: `web` with an NVIDIA device request for GPU 0 (the daemon's
 * stand-in hook; no GPU is used) and `api` without, each with a managed volume. Images come from a local
 * docker-registry (in the lab's network namespace), pinned by digest; the web image also serves
 *
 * - `/cgi-bin/note`: a POST stores its body in /data/note (the volume), a GET answers it: data written through
 *   the switch and read back through it;
 * - `/cgi-bin/stream?<n>`: the release, then a line every 100 ms, up to n lines or until /stream-stop exists in
 *   the container, then `end <lines>`: a chunked response through the switch.
 *
 * Steps: streams kept open through another service's blue/green release and through their own service's drain;
 * the switch's process killed (its restart policy brings it back), then `docker kill` (which Docker counts as a
 * stop by hand); then the daemon itself stopped and started with no `pulumi up`: every service answers on its
 * port through the switch with the same releases, the volumes' data is intact, and a preview finds no change.
 * The failures while the switch or the daemon is down are expected: they are measured and printed.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dockerd, LAB_REGISTRY } from "../../test/labs/dockerd";
import { HEALTHCHECK_TEST, HEALTHY_AFTER_ENV, RELEASE_PATH } from "../../test/labs/e2eFixtures";
import { tempDir } from "../../test/support/gitRepos";
import { writeGpuWebSource } from "../../test/labs/gpuImage";
import { PROJECT_DIR } from "../../test/support/harness";
import {
  figures,
  formatFigures,
  isGood,
  now,
  releasesSeen,
  startTraffic,
  steadyAndDuring,
  type Answer,
  type Range,
} from "../../test/labs/probe";
import { freePorts, GPU_REQUEST, HEALTH, HEALTHY_AFTER, sleep, type PinnedImage } from "../../test/labs/releaseLab";
import { switchBin, writeSwitchSource } from "../../test/labs/switchImage";
import { expectExit, Workspace, type RunResult } from "../../test/labs/workspace";

const STACK = "switch-restart";
const SWITCH = `gpu-switch-${STACK}`;
const SERVICES = ["api", "web"] as const;
type Service = (typeof SERVICES)[number];
type Tag = "v1" | "v2";
/** web's drain: long enough to end a stream on its old copy by hand after the switch moved. */
const WEB_DRAIN_SECONDS = 12;
const NOTE_PATH = "/cgi-bin/note";
const STREAM_PATH = "/cgi-bin/stream";
const STREAM_STOP = "/stream-stop";

/** `/cgi-bin/note`: POST stores the body in the volume, GET answers what is stored. */
const NOTE_CGI = `#!/bin/busybox sh
if [ "$REQUEST_METHOD" = POST ]; then /bin/busybox head -c "\${CONTENT_LENGTH:-0}" > /data/note; fi
body="$(/bin/busybox cat /data/note 2>/dev/null)"
printf 'Content-Type: text/plain\\r\\nConnection: close\\r\\nContent-Length: %d\\r\\n\\r\\n%s\\n' "$((\${#body} + 1))" "$body"
`;

/** `/cgi-bin/stream?<n>`: no Content-Length, a line every 100 ms (the switch passes it on chunked). */
const STREAM_CGI = `#!/bin/busybox sh
max="\${QUERY_STRING:-600}"
case "$max" in ''|*[!0-9]*) max=600 ;; esac
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "$RELEASE"
i=0
while [ "$i" -lt "$max" ] && [ ! -f ${STREAM_STOP} ]; do
  i=$((i + 1))
  echo "line $i"
  /bin/busybox usleep 100000
done
echo "end $i"
`;

interface World {
  dockerd: Dockerd;
  ws: Workspace;
  repo: string;
  digests: Record<Tag, string>;
  switchImage: PinnedImage;
  /** The services' ports, and web's second one, the WebSocket ticker's. */
  ports: Record<Service | "ws", number>;
}
const world = {} as World;

const on = (args: string[]) => world.dockerd.docker(args);

/** Local names on the shared daemon, where the images are built before they move to the lab's registry. */
const LOCAL = "lab18-switch-restart";

function classicBuild(ref: string, dir: string): void {
  execFileSync("docker", ["build", "-q", "-t", ref, dir], {
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  fs.rmSync(dir, { recursive: true, force: true });
}

/** test/fixtures/ws-ticker built static with the Go standard library only (nothing from the module proxy). */
function buildWsTicker(): string {
  const out = path.join(tempDir("ws-ticker"), "ws-ticker");
  execFileSync("go", ["build", "-trimpath", "-o", out, "."], {
    cwd: path.join(PROJECT_DIR, "test", "fixtures", "ws-ticker"),
    env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return out;
}

/**
 * The web image in v1 and v2, with the note and stream CGIs and the WebSocket ticker on 8001 beside httpd, in
 * the lab registry: their digests.
 */
function buildImages(): Record<Tag, string> {
  const digests = {} as Record<Tag, string>;
  const ticker = buildWsTicker();
  for (const tag of ["v1", "v2"] as const) {
    const dir = tempDir("restart-web-image");
    writeGpuWebSource(dir, `web ${tag}`, true, "h100", tag);
    fs.writeFileSync(path.join(dir, "www", "cgi-bin", "note"), NOTE_CGI, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "www", "cgi-bin", "stream"), STREAM_CGI, { mode: 0o755 });
    fs.copyFileSync(ticker, path.join(dir, "ws-ticker"));
    fs.chmodSync(path.join(dir, "ws-ticker"), 0o755);
    const dockerfile = fs.readFileSync(path.join(dir, "Dockerfile"), "utf8");
    const cmd = 'CMD ["/bin/busybox", "sh", "/start"]';
    if (!dockerfile.includes(cmd)) throw new Error(`the web image's Dockerfile has no ${cmd}:\n${dockerfile}`);
    fs.writeFileSync(
      path.join(dir, "Dockerfile"),
      dockerfile
        .replace(/^EXPOSE/m, "COPY ws-ticker /ws-ticker\nEXPOSE")
        .replace(cmd, 'CMD ["/bin/busybox", "sh", "-c", "/ws-ticker & exec /bin/busybox sh /start"]'),
    );
    classicBuild(`${LOCAL}/web:${tag}`, dir);
    digests[tag] = world.dockerd.pushFromShared(`${LOCAL}/web:${tag}`, `${LOCAL}/web`, tag);
  }
  return digests;
}

/** The switch image as test/labs/switchImage.ts makes it (the toolchain's caddy and agent, or `$GPU_SWITCH_BIN`'s), in the lab registry. */
function buildSwitch(): PinnedImage {
  const dir = tempDir("restart-switch-image");
  writeSwitchSource(dir, switchBin());
  classicBuild(`${LOCAL}/switch:e2e`, dir);
  const digest = world.dockerd.pushFromShared(`${LOCAL}/switch:e2e`, `${LOCAL}/switch`, "e2e");
  return { repository: `${LAB_REGISTRY}/${LOCAL}/switch`, tag: "e2e", digest };
}

function stackText(tags: Record<Service, Tag>): string {
  const test = `[${HEALTHCHECK_TEST.map((t) => JSON.stringify(t)).join(", ")}]`;
  const service = (name: Service) => `    ${name}:
      host: lab
      image:
        repository: ${world.repo}
        tag: ${tags[name]}
        digest: ${world.digests[tags[name]]}
      ports:
        - host: ${world.ports[name]}
          container: 8000
          hostIp: 0.0.0.0
${
  name === "web"
    ? `        - host: ${world.ports.ws}
          container: 8001
          hostIp: 0.0.0.0
`
    : ""
}      volumes:
        - name: ${STACK}-${name}
          target: /data
          protect: false
          retainOnDelete: false
      env:
        ${HEALTHY_AFTER_ENV}: "${HEALTHY_AFTER}"
${
  name === "web"
    ? `      gpus:
        deviceIds: ["0"]
        memoryGiB: 1
      shareGpu: true
`
    : ""
}      healthcheck:
        test: ${test}
${Object.entries(HEALTH)
  .map(([k, v]) => `        ${k}: ${v}`)
  .join("\n")}
      release:
        strategy: blue-green
        drainSeconds: ${name === "web" ? WEB_DRAIN_SECONDS : 2}
      stopGraceSeconds: 2
`;
  return `# ${STACK}: two services behind a switch on the e2e's own dockerd (NVIDIA stand-in hook; no GPU is used).
config:
  gpu-services:requirePinnedImages: true
  gpu-services:hosts:
    lab:
      dockerHost: ${world.dockerd.host}
      address: 127.0.0.1
      gpus:
        count: 1
        devices:
          - id: "0"
            memoryGiB: 4
  gpu-services:switch:
    image:
      repository: ${world.switchImage.repository}
      tag: ${world.switchImage.tag}
      digest: ${world.switchImage.digest}
    holdSeconds: 10
    streamCloseDelay: 1h
    dockerSocket: ${world.dockerd.socket}
  gpu-services:services:
${SERVICES.map(service).join("")}`;
}

function writeStack(tags: Record<Service, Tag>, what: string): void {
  world.ws.write(`Pulumi.${STACK}.yaml`, stackText(tags));
  world.ws.commit(`${STACK}: ${what}`);
}

const up = (): Promise<RunResult> => world.ws.pulumi("up", "--stack", STACK, "--yes", "--skip-preview");
const previewNoChanges = () => world.ws.pulumi("preview", "--stack", STACK, "--expect-no-changes", "--diff");

const url = (service: Service, p: string) => `http://127.0.0.1:${world.ports[service]}${p}`;

/**
 * One GET (a POST with `body`) on a connection of its own (a pooled one may be reset by the switch's reload just as it is reused, a
 * separate problem that the release e2e measures), answered 200: the body, trimmed.
 */
function get(service: Service, p = RELEASE_PATH, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { agent: false, timeout: 15_000, method: body === undefined ? "GET" : "POST" } as const;
    const request = http.request(url(service, p), options, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      response.on("error", reject);
      response.on("end", () =>
        response.statusCode === 200
          ? resolve(text.trim())
          : reject(new Error(`GET ${service} ${p}: ${response.statusCode}`)),
      );
    });
    request.on("timeout", () => request.destroy(new Error(`GET ${service} ${p}: no answer in 15 s`)));
    request.on("error", reject);
    request.end(body);
  });
}

/** The one container of a service on the lab's daemon: running and healthy. */
function liveContainer(service: Service): string {
  const names = on([
    "ps",
    "-a",
    "--filter",
    `label=gpu-services.container-name=${service}-${STACK}`,
    "--format",
    "{{.Names}}",
  ])
    .split("\n")
    .filter(Boolean);
  expect(names, `containers of ${service}`).toHaveLength(1);
  const state = JSON.parse(on(["inspect", "--format", "{{json .State}}", names[0]]));
  expect(state.Running, `${names[0]} running`).toBe(true);
  expect(state.Health?.Status, `${names[0]} health`).toBe("healthy");
  return names[0];
}

/** A service behind the switch publishes nothing; web carries its NVIDIA request, api none. */
function expectServiceInputs(service: Service, name: string): void {
  expect(on(["inspect", "--format", "{{json .HostConfig.PortBindings}}", name])).toMatch(/^(null|\{\})$/);
  const requests = JSON.parse(on(["inspect", "--format", "{{json .HostConfig.DeviceRequests}}", name]));
  if (service === "web") expect(requests).toEqual([expect.objectContaining(GPU_REQUEST)]);
  else expect(requests ?? []).toEqual([]);
}

const switchState = () => JSON.parse(on(["inspect", "--format", "{{json .State}}", SWITCH]));
const switchHealthy = () => switchState().Health?.Status === "healthy";
const restartCount = () => Number(on(["inspect", "--format", "{{.RestartCount}}", SWITCH]));

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await Promise.resolve(check()).catch(() => false)) return Date.now() - started;
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Both services answer with these releases, and their notes, through the switch. */
async function expectServing(expected: Record<Service, Tag>): Promise<void> {
  for (const service of SERVICES) {
    expect(await get(service), `${service}'s release`).toBe(expected[service]);
    expect(await get(service, NOTE_PATH), `${service}'s note in its volume`).toBe(`${service} note`);
  }
}

/** A chunked response as the client saw it: when each piece came, the text, how it ended. */
interface Stream {
  readonly opened: number;
  readonly arrivals: number[];
  text: string;
  ended?: number;
  error?: string;
  headers?: http.IncomingHttpHeaders;
  readonly done: Promise<void>;
}

function openStream(service: Service, lines: number): Stream {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const stream: Stream = { opened: now(), arrivals: [], text: "", done };
  const request = http.get(url(service, `${STREAM_PATH}?${lines}`), { agent: false }, (response) => {
    stream.headers = response.headers;
    if (response.statusCode !== 200) stream.error = `status ${response.statusCode}`;
    response.on("data", (chunk: Buffer) => {
      stream.arrivals.push(now());
      stream.text += chunk.toString("utf8");
    });
    response.on("error", (error) => ((stream.error ??= error.message), resolve()));
    response.on("aborted", () => ((stream.error ??= "aborted"), resolve()));
    response.on("end", () => ((stream.ended = now()), resolve()));
  });
  request.on("error", (error: NodeJS.ErrnoException) => ((stream.error ??= error.code ?? error.message), resolve()));
  return stream;
}

/** The release it came from, its lines, whether it ended with `end <n>`, and the longest pause between pieces. */
function streamSummary(stream: Stream) {
  const lines = stream.text.split("\n").filter(Boolean);
  const numbered = lines.filter((l) => /^line \d+$/.test(l)).map((l) => Number(l.slice(5)));
  const last = lines[lines.length - 1] ?? "";
  const points = [stream.opened, ...stream.arrivals];
  let longestPauseMs = 0;
  for (let i = 1; i < points.length; i++) longestPauseMs = Math.max(longestPauseMs, points[i] - points[i - 1]);
  return {
    release: lines[0],
    lines: numbered.length,
    inOrder: numbered.every((n, i) => n === i + 1),
    endedWith: last,
    complete: stream.error === undefined && stream.ended !== undefined && last === `end ${numbered.length}`,
    longestPauseMs,
    seconds: ((stream.ended ?? now()) - stream.opened) / 1000,
    error: stream.error,
  };
}

function printStream(what: string, stream: Stream): ReturnType<typeof streamSummary> {
  const s = streamSummary(stream);
  console.log(
    `[switch-restart] stream ${what}: from ${s.release}, ${s.lines} lines in ${s.seconds.toFixed(1)} s, ` +
      `longest pause ${s.longestPauseMs.toFixed(0)} ms, ended with ${JSON.stringify(s.endedWith)}` +
      `${s.error ? `, error ${s.error}` : ""}, transfer-encoding ${stream.headers?.["transfer-encoding"] ?? "-"}`,
  );
  return s;
}

/** A WebSocket to web's ticker, as the client saw it. */
interface Socket {
  readonly opened: number;
  readonly messages: { at: number; data: string }[];
  closed?: { at: number; code: number; byClient: boolean };
  error?: string;
  byClient: boolean;
  readonly ws: WebSocket;
  readonly done: Promise<void>;
}

function openSocket(ticks: number): Socket {
  const ws = new WebSocket(`ws://127.0.0.1:${world.ports.ws}/ws?n=${ticks}`);
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const socket: Socket = { opened: now(), messages: [], byClient: false, ws, done };
  ws.onmessage = (e) => socket.messages.push({ at: now(), data: String(e.data) });
  ws.onerror = () => (socket.error ??= "error");
  ws.onclose = (e) => ((socket.closed = { at: now(), code: e.code, byClient: socket.byClient }), resolve());
  return socket;
}

async function closeSocket(socket: Socket): Promise<void> {
  socket.byClient = true;
  socket.ws.close(1000);
  await socket.done;
}

function printSocket(what: string, socket: Socket) {
  const ticks = socket.messages.map((m) => /^(\S+) tick (\d+)$/.exec(m.data));
  const points = [socket.opened, ...socket.messages.map((m) => m.at)];
  let longestPauseMs = 0;
  for (let i = 1; i < points.length; i++) longestPauseMs = Math.max(longestPauseMs, points[i] - points[i - 1]);
  const summary = {
    release: ticks[0]?.[1],
    ticks: ticks.length,
    inOrder: ticks.every((t, i) => t !== null && Number(t[2]) === i + 1),
    oneRelease: new Set(ticks.map((t) => t?.[1])).size === 1,
    closedByClient: socket.closed?.byClient === true,
    longestPauseMs,
  };
  console.log(
    `[switch-restart] WebSocket ${what}: from ${summary.release}, ${summary.ticks} messages, longest pause ` +
      `${longestPauseMs.toFixed(0)} ms, closed ${socket.closed?.byClient ? "by the client" : "by the server side"}` +
      ` (code ${socket.closed?.code})${socket.error ? `, error ${socket.error}` : ""}`,
  );
  return summary;
}

/** GETs and POSTs on both ports, for a window in which something is down. */
function trafficOnBoth() {
  const traffic = SERVICES.map((service) => startTraffic(url(service, RELEASE_PATH), { timeoutMs: 5000 }));
  return {
    async stop(): Promise<Record<Service, Answer[]>> {
      const [api, web] = await Promise.all(traffic.map((t) => t.stop()));
      return { api, web };
    },
  };
}

function printOutage(what: string, answers: Record<Service, Answer[]>, window: Range): void {
  const lines = [`[switch-restart] ${what} (${((window.to - window.from) / 1000).toFixed(1)} s):`];
  for (const service of SERVICES) {
    const split = steadyAndDuring(answers[service], window);
    const failed = answers[service].filter((a) => !isGood(a));
    const kinds = [...new Set(failed.map((a) => a.error))].slice(0, 4).join("; ");
    lines.push(
      `  ${service}: ${releasesSeen(answers[service])}`,
      `    all    during: ${formatFigures(split.all.during)}`,
      `    all   outside: ${formatFigures(split.all.steady)}`,
      `    whole run: ${formatFigures(figures(answers[service]))}${kinds ? `; errors: ${kinds}` : ""}`,
    );
  }
  console.log(lines.join("\n"));
}

describe("the switch and the daemon restarted, streams through releases, on a dockerd of the e2e's own", () => {
  beforeAll(async () => {
    world.dockerd = await Dockerd.start({ id: "sr18", octet: 218 });
    world.repo = `${LAB_REGISTRY}/${LOCAL}/web`;
    world.digests = buildImages();
    world.switchImage = buildSwitch();
    const [api, web, ws] = await freePorts(3);
    world.ports = { api, web, ws };
    // Published on 0.0.0.0 in the lab's namespace; the traffic goes to the host's 127.0.0.1 and is relayed.
    for (const port of [api, web, ws]) await world.dockerd.forward(port);
    world.ws = Workspace.create();
    world.ws.write(`Pulumi.${STACK}.yaml`, stackText({ api: "v1", web: "v1" }));
    expectExit(await world.ws.pulumi("stack", "init", STACK, "--secrets-provider", "passphrase"), 0, "stack init");
    world.ws.commit(`${STACK} stack`);
  }, 600_000);

  afterAll(async () => {
    if (world.dockerd) {
      const log = fs.existsSync(world.dockerd.log) ? fs.readFileSync(world.dockerd.log, "utf8") : "";
      console.log(`[switch-restart] the lab dockerd's log, last lines:\n${log.split("\n").slice(-15).join("\n")}`);
    }
    await world.dockerd?.remove();
    world.ws?.remove();
  });

  it("0. up: the switch and both services on the lab's dockerd, web with its GPU request; notes written through the switch", async () => {
    const first = expectExit(await up(), 0, "first pulumi up");
    console.log(`[switch-restart] first up: ${first.seconds.toFixed(1)} s`);
    // The next up leaves the switch's migration (the first is stop-then-start for every service).
    expectExit(await up(), 0, "second pulumi up (after the migration)");
    expect(switchHealthy()).toBe(true);
    for (const service of SERVICES) {
      expectServiceInputs(service, liveContainer(service));
      expect(await get(service, NOTE_PATH, `${service} note`)).toBe(`${service} note`);
    }
    await expectServing({ api: "v1", web: "v1" });
    // Nothing reads /data but the CGI: the note really is in the volume.
    expect(on(["exec", liveContainer("web"), "/bin/busybox", "cat", "/data/note"])).toBe("web note");
    expectExit(await previewNoChanges(), 0, "preview --expect-no-changes after the first ups");
  });

  it("streaming: a chunked response and a WebSocket to web stay open through api's blue/green release, and through web's own drain on its old copy", async () => {
    // 1. api v1 -> v2 while a stream and a WebSocket to web run: neither must notice.
    const other = openStream("web", 3000);
    const otherSocket = openSocket(3000);
    await waitUntil(
      "the first lines of the stream and the socket",
      () => {
        return other.arrivals.length > 0 && otherSocket.messages.length > 0;
      },
      15_000,
    );
    writeStack({ api: "v2", web: "v1" }, "api v2");
    const release = expectExit(await up(), 0, "pulumi up (api v1 -> v2, blue/green)");
    expect(await get("api")).toBe("v2");
    await sleep(1000);
    on(["exec", liveContainer("web"), "/bin/busybox", "touch", STREAM_STOP]);
    await other.done;
    await closeSocket(otherSocket);
    const a = printStream(`to web during api's release (up ${release.seconds.toFixed(1)} s)`, other);
    expect.soft(a).toMatchObject({ release: "v1", complete: true, inOrder: true });
    expect.soft(a.seconds).toBeGreaterThan(release.seconds);
    expect.soft(a.longestPauseMs).toBeLessThan(1000);
    expect.soft(other.headers?.["transfer-encoding"]).toBe("chunked");
    const as = printSocket(`to web during api's release`, otherSocket);
    expect.soft(as).toMatchObject({ release: "v1", inOrder: true, oneRelease: true, closedByClient: true });
    expect.soft(as.ticks).toBeGreaterThan(release.seconds * 5);
    expect.soft(as.longestPauseMs).toBeLessThan(1000);
    on(["exec", liveContainer("web"), "/bin/busybox", "rm", STREAM_STOP]);

    // 2. web v1 -> v2 while a stream and a WebSocket run on web's old copy: they keep going after the switch,
    // through the drain, until they end (here: by hand, 2 s after new requests went to v2).
    const old = liveContainer("web");
    const own = openStream("web", 3000);
    const ownSocket = openSocket(3000);
    await waitUntil(
      "the first lines of the stream and the socket",
      () => {
        return own.arrivals.length > 0 && ownSocket.messages.length > 0;
      },
      15_000,
    );
    writeStack({ api: "v2", web: "v2" }, "web v2");
    const upStarted = now();
    const running = up();
    let switchedAt = 0;
    await waitUntil("web answering v2", async () => (await get("web")) === "v2" && (switchedAt = now()) > 0, 120_000);
    // New requests go to v2 now; the streams are still on v1's container, which drains for WEB_DRAIN_SECONDS.
    await sleep(2000);
    expect.soft(own.error, "the stream on the old copy after the switch").toBeUndefined();
    expect.soft(ownSocket.closed, "the WebSocket on the old copy after the switch").toBeUndefined();
    on(["exec", old, "/bin/busybox", "touch", STREAM_STOP]);
    await own.done;
    await closeSocket(ownSocket);
    const result = expectExit(await running, 0, "pulumi up (web v1 -> v2, blue/green)");
    const into = ((switchedAt - upStarted) / 1000).toFixed(1);
    const b = printStream(
      `on web's old copy through its release (switched ${into} s into the up, ended by hand 2 s later; ` +
        `up ${result.seconds.toFixed(1)} s)`,
      own,
    );
    expect.soft(b).toMatchObject({ release: "v1", complete: true, inOrder: true });
    expect.soft(b.longestPauseMs).toBeLessThan(1000);
    const bs = printSocket(`on web's old copy through its release`, ownSocket);
    expect.soft(bs).toMatchObject({ release: "v1", inOrder: true, oneRelease: true, closedByClient: true });
    expect.soft(bs.longestPauseMs).toBeLessThan(1000);
    // They kept receiving after new requests went to v2: about 20 lines and messages in the 2 s before the end.
    const afterSwitch = own.arrivals.filter((t) => t > switchedAt).length;
    const socketAfterSwitch = ownSocket.messages.filter((m) => m.at > switchedAt).length;
    console.log(
      `[switch-restart]   after web answered v2: ${afterSwitch} pieces of the stream, ${socketAfterSwitch} messages`,
    );
    expect.soft(afterSwitch).toBeGreaterThan(5);
    expect.soft(socketAfterSwitch).toBeGreaterThan(5);
    expect(liveContainer("web")).not.toBe(old);
    await expectServing({ api: "v2", web: "v2" });
  });

  it("(f) the switch's process killed: its restart policy brings it back with the same routing; docker kill: measured", async () => {
    const expected = { api: "v2", web: "v2" } as const;
    // A crash: the process dies, Docker's restart policy starts it again and Caddy resumes its routing.
    const before = restartCount();
    const crash = trafficOnBoth();
    await sleep(1000);
    const from = now();
    process.kill(Number(switchState().Pid), "SIGKILL");
    await waitUntil("the switch restarted by its policy and healthy", () => restartCount() > before && switchHealthy());
    await waitUntil("both services answering", async () => {
      for (const s of SERVICES) await get(s);
      return true;
    });
    const to = now();
    await sleep(1000);
    printOutage("the switch's process killed (SIGKILL), until both answer again", await crash.stop(), { from, to });
    await expectServing(expected);

    // `docker kill`: Docker records it as stopped by hand, so the policy leaves it down (Docker's rule).
    on(["kill", SWITCH]);
    await sleep(3000);
    const state = switchState();
    console.log(
      `[switch-restart] after docker kill: running ${state.Running}, restart policy ` +
        `${on(["inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}", SWITCH])}, restarts ${restartCount()}`,
    );
    expect(state.Running).toBe(false);
  });

  it("(f) the daemon stopped and started (after the docker kill): every service answers through the switch with no pulumi up, data intact", async () => {
    const expected = { api: "v2", web: "v2" } as const;
    const traffic = trafficOnBoth();
    await sleep(1000);
    const from = now();
    const { stopMs, readyMs } = await world.dockerd.restart();
    console.log(`[switch-restart] dockerd stopped in ${stopMs} ms, its API answered ${readyMs} ms after its start`);
    let answering = true;
    try {
      await waitUntil("both services answering after the daemon's start", async () => {
        for (const s of SERVICES) await get(s);
        return true;
      });
    } catch (error) {
      answering = false;
      console.log(`[switch-restart] ${(error as Error).message}`);
    }
    const to = now();
    await sleep(1000);
    // The switch was down since the docker kill: the requests before the daemon's stop fail as well.
    printOutage(
      "the daemon stopped and started (the switch down since the docker kill), until both answer",
      await traffic.stop(),
      {
        from,
        to,
      },
    );
    console.log(
      `[switch-restart] after the daemon's start: switch running ${switchState().Running}, ` +
        `health ${switchState().Health?.Status}`,
    );
    expect(answering, "every service answers again after the daemon's restart").toBe(true);
    // Caddy answers before Docker's first health check of the restarted switch has run.
    await waitUntil("the switch healthy after the daemon's start", switchHealthy, 30_000);
    await expectServing(expected);
    // The image holds its health file back 3 s after each start (HEALTHY_AFTER), longer than the healthcheck's
    // start period: right after the restart Docker may call a service unhealthy until that passes.
    for (const service of SERVICES) {
      await waitUntil(
        `${service} healthy after the daemon's start`,
        () => {
          const names = on([
            "ps",
            "--filter",
            `label=gpu-services.container-name=${service}-${STACK}`,
            "--format",
            "{{.Names}}",
          ]);
          return on(["inspect", "--format", "{{.State.Health.Status}}", names]) === "healthy";
        },
        60_000,
      );
    }
    for (const service of SERVICES) {
      const name = liveContainer(service);
      expectServiceInputs(service, name);
      expect(on(["exec", name, "/bin/busybox", "cat", "/data/note"])).toBe(`${service} note`);
    }
    const preview = await previewNoChanges();
    console.log(`[switch-restart] preview --expect-no-changes after the restarts: exit ${preview.code}`);
    expectExit(preview, 0, "preview --expect-no-changes after the switch and the daemon restarted");
  });
});
