/**
 * The parts of status and doctor that need no Docker: what a failed connection's stderr is reported as (the
 * texts are ssh's and the docker CLI's own, as the e2e met them), the ssh wrapper the docker CLI gets, ssh's
 * arguments for a host, and the release a service should run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { ServiceSpec } from "../model";
import { connectionReason, isConnectionFailure, sshWrapperDir } from "../clients/dockerCli";
import { sshTarget } from "../clients/hostShell";
import { compareRelease, expectedRelease } from "./runningRelease";
import type { ContainerView } from "./hostSnapshot";
import { containerView } from "../test/support/containerViews";
import { copyAttention, copyOf } from "./status";
import { renderStatus } from "./renderStatus";
import { loadStackModel } from "../model";
import { PROJECT_DIR } from "../test/support/harness";

const helper = (stderr: string) =>
  `error during connect: Get "http://docker.example.com/v1.50/version": command [ssh -o ConnectTimeout=30 -T -l root -p 22 -- 10.0.0.1 docker system dial-stdio] has exited with exit status 255, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=${stderr}`;

describe("connectionReason", () => {
  it("names a refused key, an unknown host key, silence, a refused port and a missing daemon, each with what to do", () => {
    expect(connectionReason(helper("root@10.0.0.1: Permission denied (publickey)."), false, 15_000)).toBe(
      "ssh refused the key (root@10.0.0.1: Permission denied (publickey).): check the key in sshOpts (-i) or the agent, and the user's authorized_keys",
    );
    expect(connectionReason(helper("Host key verification failed."), false, 15_000)).toMatch(
      /^ssh could not verify the host key: add the host's key to known_hosts/,
    );
    expect(
      connectionReason(
        helper("Connection timed out during banner exchange\nConnection to 10.0.0.1 port 22 timed out"),
        false,
        15_000,
      ),
    ).toBe("did not answer: ssh gave up after its 5 s connect timeout (Connection to 10.0.0.1 port 22 timed out)");
    expect(connectionReason("", true, 15_000)).toBe("did not answer within 15 s (the call was stopped there)");
    expect(connectionReason(helper("ssh: connect to host 10.0.0.1 port 22: Connection refused"), false, 15_000)).toBe(
      "refused the connection (ssh: connect to host 10.0.0.1 port 22: Connection refused)",
    );
    const noDaemon =
      "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?";
    expect(connectionReason(noDaemon, false, 15_000)).toBe(`no Docker daemon answers there (${noDaemon})`);
  });

  it("tells a connection failure from the daemon refusing a request", () => {
    expect(isConnectionFailure(helper("Permission denied (publickey)."))).toBe(true);
    expect(isConnectionFailure("Error: No such container: web-prod")).toBe(false);
    expect(isConnectionFailure("Error response from daemon: conflict")).toBe(false);
  });
});

describe("the ssh wrapper and ssh's arguments", () => {
  it("runs the real ssh with the host's options first (ssh keeps the first value), then BatchMode and a connect timeout", () => {
    const dir = sshWrapperDir(["-i", "/keys/deploy key", "-o", "UserKnownHostsFile=/etc/it's"]);
    try {
      const script = fs.readFileSync(path.join(dir, "ssh"), "utf8");
      expect(script).toMatch(
        /^exec '\/\S*ssh' '-i' '\/keys\/deploy key' '-o' 'UserKnownHostsFile=\/etc\/it'\\''s' '-o' 'BatchMode=yes' '-o' 'ConnectTimeout=5' "\$@"$/m,
      );
      expect(fs.statSync(path.join(dir, "ssh")).mode & 0o111).not.toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("turns ssh:// hosts into ssh's arguments", () => {
    expect(sshTarget("ssh://agnes@10.30.11.45")).toEqual(["agnes@10.30.11.45"]);
    expect(sshTarget("ssh://root@127.0.0.1:2222")).toEqual(["-p", "2222", "root@127.0.0.1"]);
    expect(sshTarget("ssh://[::1]:2200")).toEqual(["-p", "2200", "::1"]);
  });
});

describe("the release config leads to", () => {
  const prod = loadStackModel("prod", PROJECT_DIR);
  const service = (name: string) => prod.services.find((s) => s.name === name) as ServiceSpec;

  it("is the pulled ref for images and url#commit for builds, as GpuService labels them", () => {
    expect(expectedRelease(service("tts"))).toBe(
      "ghcr.io/jim0237/tts-v2-api-server:sha-c15893a73dc64eb5437e398a5fbf587947cd4d5c",
    );
    expect(expectedRelease(service("stt"))).toBe(
      "https://github.com/jim0237/STT-API-Server.git#cf2f45fd9df5a67ce52ebf996c8163cd94202952",
    );
  });

  it("is not deployed without a container, and drifted when its labels name another release", () => {
    const stt = service("stt");
    expect(compareRelease(stt, "prod", undefined, undefined)).toMatchObject({
      state: "not-deployed",
      differences: ["no container stt-prod"],
    });
    const container = containerView("stt-prod", {
      imageName: "gpu-services/stt:old",
      labels: {
        "gpu-services.stack": "prod",
        "gpu-services.service": "stt",
        "gpu-services.release": "https://github.com/jim0237/STT-API-Server.git#0000",
      },
    });
    expect(compareRelease(stt, "prod", container, undefined)).toEqual({
      state: "drifted",
      expected: expectedRelease(stt),
      running: "https://github.com/jim0237/STT-API-Server.git#0000",
      differences: [
        `release: runs https://github.com/jim0237/STT-API-Server.git#0000, config says ${expectedRelease(stt)}`,
      ],
    });
  });
});

describe("the copies of a service", () => {
  const prod = loadStackModel("prod", PROJECT_DIR);
  const service = (name: string) => prod.services.find((s) => s.name === name) as ServiceSpec;
  const view = (name: string, copy: number, gpus: string[], over: Partial<ContainerView> = {}) =>
    containerView(name, {
      gpuDevices: gpus,
      labels: { "gpu-services.service": "stt", ...(copy > 0 ? { "gpu-services.copy": String(copy) } : {}) },
      health: { status: "healthy", failingStreak: 0 },
      ...over,
    });
  const three = {
    ...service("stt"),
    replicas: 3,
    copies: [0, 1, 2].map((index) => ({ index, deviceIds: [String(index)] })),
  } as ServiceSpec;

  it("reads a container's copy from its label (none: copy 0)", () => {
    expect([view("stt-prod", 0, ["0"]), view("stt-prod-copy2", 2, ["2"])].map(copyOf)).toEqual([0, 2]);
  });

  it("asks for a look at each copy without a running, healthy container, naming its GPU", () => {
    const containers = [
      view("stt-prod", 0, ["0"]),
      view("stt-prod-copy1", 1, ["1"], { status: "exited", running: false }),
      view("stt-prod-copy2-x", 2, ["2"], { health: { status: "starting", failingStreak: 0 } }),
    ];
    expect(copyAttention(three, containers)).toEqual([
      "copy 1 (GPU 1): not running",
      "copy 2 (GPU 2): stt-prod-copy2-x is starting",
    ]);
    expect(copyAttention(three, containers.slice(0, 1))).toEqual([
      "copy 1 (GPU 1): no container",
      "copy 2 (GPU 2): no container",
    ]);
    expect(copyAttention(service("stt"), [])).toEqual([]);
  });
});

describe("status for people, with copies", () => {
  it("lists each copy's container with its GPU, state, health and release, where a release stopped part way", () => {
    const container = (name: string, copy: number, release: string, health = "healthy") => ({
      name,
      id: name,
      state: "running",
      health,
      restartCount: 0,
      startedAt: "",
      release,
      imageId: "sha256:1",
      copy,
      gpus: [String(copy)],
    });
    const report = {
      stack: "dev",
      checkedAt: "2026-12-07T21:00:00Z",
      result: "attention" as const,
      exitCode: 1,
      hosts: [],
      services: [
        {
          name: "stt",
          host: "lab",
          containerName: "stt-dev",
          containers: [
            container("stt-dev-copy2", 2, "stt:v1"),
            container("stt-dev", 0, "stt:broken", "starting"),
            container("stt-dev-copy1", 1, "stt:v1"),
          ],
          release: { state: "in-sync" as const, expected: "stt:broken", differences: [] },
          gpuMemoryMiB: null,
          gpuMemoryNote: "no GPU requested",
          attention: ["copy 0 (GPU 0): stt-dev is starting"],
        },
      ],
    };
    expect(renderStatus(report).split("\n")).toEqual(
      expect.arrayContaining([
        "stt: 3 copies",
        "  copy 0  stt-dev  GPU 0  running  starting  stt:broken",
        "  copy 1  stt-dev-copy1  GPU 1  running  healthy  stt:v1",
        "  copy 2  stt-dev-copy2  GPU 2  running  healthy  stt:v1",
        "  stt: copy 0 (GPU 0): stt-dev is starting",
      ]),
    );
  });
});
