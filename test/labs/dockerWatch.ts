/**
 * A sampler of the real dockerd, for what a test cannot ask afterwards: every container carrying a label, seen
 * every 100 ms through the Engine API on the unix socket. It keeps each container's health checks as they come
 * (`State.Health.Log` holds only the last five), whether and when it ran, its device requests, and the most
 * containers with a GPU request that ran at once.
 */
import * as http from "node:http";

export interface HealthCheck {
  readonly start: number;
  readonly end: number;
  readonly exitCode: number;
}

export interface DeviceRequest {
  readonly Driver: string;
  readonly Count: number;
  readonly DeviceIDs: string[] | null;
  readonly Capabilities: string[][] | null;
  readonly Options: Record<string, string> | null;
}

export interface SeenContainer {
  readonly id: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly deviceRequests: DeviceRequest[];
  readonly firstSeen: number;
  /** When the sampler first saw it running. */
  firstRunning?: number;
  /** When it was last seen at all (it is gone after that, or the watch ended). */
  lastSeen: number;
  /** Every health check Docker recorded while it was watched, by start time. */
  readonly checks: HealthCheck[];
  /** The first passing check's end: the moment Docker called it healthy. */
  healthyAt?: number;
}

export interface Watch {
  readonly containers: SeenContainer[];
  /** The most containers with a GPU request on `device` that were running at one sample. */
  readonly peakGpuContainers: number;
}

export const DOCKER_SOCKET = "/var/run/docker.sock";

function engine<T>(path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath: DOCKER_SOCKET, path, timeout: 5000 }, (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () =>
        response.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${path}: ${response.statusCode}`)),
      );
    });
    request.on("timeout", () => request.destroy(new Error(`${path}: timed out`)));
    request.on("error", reject);
  });
}

interface Inspect {
  Id: string;
  Name: string;
  Config: { Labels: Record<string, string> | null };
  State: {
    Running: boolean;
    Health?: { Status: string; Log: { Start: string; End: string; ExitCode: number }[] | null };
  };
  HostConfig: { DeviceRequests: DeviceRequest[] | null };
}

const usesDevice = (requests: readonly DeviceRequest[], device: string) =>
  requests.some((r) => r.Driver === "nvidia" && (r.DeviceIDs ?? []).includes(device));

/** Watch the containers with `label` (`key=value`), counting running ones with a request for GPU `device`. */
export function watchContainers(label: string, device = "0", intervalMs = 100): { stop(): Promise<Watch> } {
  const seen = new Map<string, SeenContainer>();
  let peakGpuContainers = 0;
  let running = true;
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }));

  const sample = async () => {
    const list = await engine<{ Id: string }[]>(`/containers/json?all=1&filters=${filters}`);
    const t = Date.now();
    let gpu = 0;
    for (const { Id } of list) {
      const c = await engine<Inspect>(`/containers/${Id}/json`).catch(() => undefined);
      if (!c) continue; // removed between the list and the inspect
      let entry = seen.get(c.Id);
      if (!entry) {
        entry = {
          id: c.Id,
          name: c.Name.replace(/^\//, ""),
          labels: c.Config.Labels ?? {},
          deviceRequests: c.HostConfig.DeviceRequests ?? [],
          firstSeen: t,
          lastSeen: t,
          checks: [],
        };
        seen.set(c.Id, entry);
      }
      entry.lastSeen = t;
      if (c.State.Running) {
        entry.firstRunning ??= t;
        if (usesDevice(entry.deviceRequests, device)) gpu++;
      }
      for (const log of c.State.Health?.Log ?? []) {
        const start = Date.parse(log.Start);
        if (entry.checks.some((check) => check.start === start)) continue;
        entry.checks.push({ start, end: Date.parse(log.End), exitCode: log.ExitCode });
        entry.checks.sort((a, b) => a.start - b.start);
      }
      entry.healthyAt ??= entry.checks.find((check) => check.exitCode === 0)?.end;
    }
    peakGpuContainers = Math.max(peakGpuContainers, gpu);
  };

  const loop = (async () => {
    while (running) {
      const started = Date.now();
      await sample().catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
    }
    await sample().catch(() => undefined);
  })();

  return {
    async stop() {
      running = false;
      await loop;
      return { containers: [...seen.values()].sort((a, b) => a.firstSeen - b.firstSeen), peakGpuContainers };
    },
  };
}
