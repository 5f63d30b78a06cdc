/**
 * `npm run status` on a stack with a cluster: it reads the Docker hosts (their daemons) and leaves the cluster's
 * services out, instead of looking their host up among the Docker hosts and failing. It runs the real docker CLI,
 * which needs no daemon here.
 */
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { buildModel } from "../../model";
import { collectStatus } from "../../observe/status";
import { requireDocker } from "../labs/docker";

const dockerCli = spawnSync("docker", ["--version"], { stdio: "ignore" }).status === 0;

it.runIf(dockerCli || requireDocker)(
  "reports the Docker hosts' services and leaves a cluster's out (the docker CLI against a port nothing listens on: no daemon needed)",
  async () => {
    const model = buildModel(
      {
        hosts: {
          // Nothing listens on port 1: the host is read, and is not reachable.
          gone: { dockerHost: "tcp://127.0.0.1:1" },
          k8s: { kubernetes: { namespace: "speech" } },
        },
        services: {
          web: { host: "gone", image: { repository: "nginx", tag: "1.27" } },
          stt: { host: "k8s", image: { repository: "nginx", tag: "1.27" } },
        },
      },
      { stack: "dev" },
    );
    const report = await collectStatus(model, { timeoutMs: 20_000 });
    expect(report.result).toBe("unreachable");
    expect(report.hosts.map((h) => [h.name, h.reachable])).toEqual([["gone", false]]);
    expect(report.services.map((s) => s.name)).toEqual(["web"]);
  },
);
