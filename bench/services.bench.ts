/**
 * Benchmark: evaluate the program under mocks for 1, 10, 100 and 500 services, beside a baseline that
 * registers the same @pulumi/docker resources directly (no config parsing, no model, no components).
 * Prints the per-service cost of both and their ratio. Run: npm run bench
 */
import { performance } from "node:perf_hooks";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { buildModel } from "../model";
import { toEngineConfig } from "../stackConfig";

const SIZES = (process.env.BENCH_SIZES ?? "1,10,100,500").split(",").map(Number);
/** Runs per size: many for the small sizes, whose times are a few milliseconds and noisy. */
const runsFor = (n: number) => Number(process.env.BENCH_RUNS ?? (n <= 1 ? 41 : n <= 10 ? 21 : n <= 100 ? 7 : 5));
/** Collect garbage before each timed run when node runs with --expose-gc, so no run pays for another's. */
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const PER_HOST = 50;

function configFor(n: number): Record<string, unknown> {
  const hosts: Record<string, unknown> = {};
  for (let h = 0; h < Math.ceil(n / PER_HOST); h++) hosts[`gpu${h}`] = { dockerHost: `ssh://agnes@10.30.11.${h + 1}` };
  const services: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    services[`svc${i}`] = {
      host: `gpu${Math.floor(i / PER_HOST)}`,
      image: { repository: "ghcr.io/jim0237/tts-v2-api-server", tag: `sha-${String(i).padStart(40, "0")}` },
      ports: [{ host: 10000 + (i % PER_HOST), container: 8000 }],
      volumes: [{ name: `svc${i}-models`, target: "/app/models" }],
      binds: [{ source: "/home/agnes/voice-notes", target: "/app/vnotes", readOnly: true }],
      env: { TTS_USE_HTTPS: "false", MODEL: "large-v3" },
      gpus: { count: 1 },
      healthcheck: { test: ["CMD", "curl", "-f", "http://localhost:8000/health"], startPeriod: "60s" },
    };
  }
  return { requirePinnedImages: true, hosts, services };
}

let registered = 0;
async function resetMocks(): Promise<void> {
  registered = 0;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered++;
        return {
          id: `${args.name}-id`,
          state: { ...args.inputs, imageId: `sha256:${args.name}`, repoDigest: "r@sha256:0" },
        };
      },
      call: () => ({}),
    },
    "gpu-services",
    "bench",
    true,
  );
}

/** Wait until `count` resources are registered; fail (not hang) if registrations stop short of it. */
async function until(count: number): Promise<void> {
  let last = registered;
  let since = performance.now();
  while (registered < count) {
    await new Promise((r) => setImmediate(r));
    if (registered !== last) {
      last = registered;
      since = performance.now();
    } else if (performance.now() - since > 10_000) {
      throw new Error(`registrations stopped at ${registered} of ${count}`);
    }
  }
}

async function program(n: number): Promise<number> {
  await resetMocks();
  gc();
  const { config } = toEngineConfig({ values: configFor(n), secretKeys: new Set() });
  pulumi.runtime.setAllConfig(config, []);
  const start = performance.now();
  const { deploy } = await import("../program");
  void deploy();
  const hosts = Math.ceil(n / PER_HOST);
  await until(n * 4 + hosts * 2); // GpuService, image, volume, container; DockerHost, its docker provider
  return performance.now() - start;
}

/** The same docker resources, registered directly with literal inputs. */
async function baseline(n: number): Promise<number> {
  await resetMocks();
  gc();
  const start = performance.now();
  const providers = new Map<number, docker.Provider>();
  for (let i = 0; i < n; i++) {
    const h = Math.floor(i / PER_HOST);
    if (!providers.has(h)) providers.set(h, new docker.Provider(`gpu${h}`, { host: `ssh://agnes@10.30.11.${h + 1}` }));
    const provider = providers.get(h)!;
    const image = new docker.RemoteImage(
      `svc${i}-image`,
      {
        name: `ghcr.io/jim0237/tts-v2-api-server:sha-${String(i).padStart(40, "0")}`,
        keepLocally: true,
      },
      { provider },
    );
    const volume = new docker.Volume(
      `svc${i}-volume`,
      { name: `svc${i}-models` },
      { provider, protect: true, retainOnDelete: true },
    );
    new docker.Container(
      `svc${i}-container`,
      {
        name: `svc${i}-bench`,
        image: image.imageId,
        restart: "unless-stopped",
        ports: [{ internal: 8000, external: 10000 + (i % PER_HOST), ip: "0.0.0.0", protocol: "tcp" }],
        mounts: [{ type: "volume", source: volume.name, target: "/app/models", readOnly: false }],
        volumes: [{ hostPath: "/home/agnes/voice-notes", containerPath: "/app/vnotes", readOnly: true }],
        envs: ["MODEL=large-v3", "TTS_USE_HTTPS=false"],
        deviceRequests: [{ driver: "nvidia", count: 1, capabilities: ["gpu"] }],
        healthcheck: {
          tests: ["CMD", "curl", "-f", "http://localhost:8000/health"],
          interval: "30s",
          timeout: "30s",
          retries: 3,
          startPeriod: "60s",
        },
        wait: true,
        waitTimeout: 300,
        labels: [{ label: "gpu-services.service", value: `svc${i}` }],
        destroyGraceSeconds: 30,
        mustRun: true,
      },
      { provider, deleteBeforeReplace: true, dependsOn: [image, volume] },
    );
  }
  await until(n * 3 + providers.size);
  return performance.now() - start;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  await program(5); // warm up module loading and JIT for both paths
  await baseline(5);
  console.log(
    `node ${process.version}, median wall time under pulumi.runtime.setMocks (runs per size: ${SIZES.map((n) => `${n}: ${runsFor(n)}`).join(", ")})`,
  );
  console.log("services | program ms | baseline ms | program ms/service | baseline ms/service | ratio");
  for (const n of SIZES) {
    const p: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < runsFor(n); r++) {
      // Alternate the order so neither side always runs on a warmer heap.
      if (r % 2 === 0) {
        p.push(await program(n));
        b.push(await baseline(n));
      } else {
        b.push(await baseline(n));
        p.push(await program(n));
      }
    }
    const pm = median(p);
    const bm = median(b);
    console.log(
      `${String(n).padStart(8)} | ${pm.toFixed(1).padStart(10)} | ${bm.toFixed(1).padStart(11)} | ` +
        `${(pm / n).toFixed(2).padStart(18)} | ${(bm / n).toFixed(2).padStart(19)} | ${(pm / bm).toFixed(2)}`,
    );
  }
  // Our own code apart from the SDK: validating config into the model.
  console.log("\nconfig -> model alone (buildModel, no Pulumi):");
  for (const n of SIZES) {
    const config = configFor(n);
    buildModel(config, { stack: "bench", neighbours: new Map() });
    const start = performance.now();
    const reps = Math.max(3, Math.ceil(500 / n));
    for (let r = 0; r < reps; r++) buildModel(config, { stack: "bench", neighbours: new Map() });
    const ms = (performance.now() - start) / reps;
    console.log(`${String(n).padStart(8)} services: ${ms.toFixed(2)} ms, ${(ms / n).toFixed(3)} ms/service`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
