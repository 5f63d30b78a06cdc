/**
 * Real-engine benchmark: `pulumi preview` and a no-op `pulumi up --skip-preview` of the gpu-services program
 * for 1, 10 and 50 services, beside a bare @pulumi/docker program with the same resources per service
 * (bench/engine-baseline), in the same run, on the local dockerd, with the CLI and providers built by
 * scripts/pulumi-toolchain. Prints medians and the ratio. Run: npm run bench:engine
 * (BENCH_ENGINE_SIZES=1,10 BENCH_ENGINE_RUNS=1 to shorten it).
 */
import { docker, pushAndDigest, Registry } from "../test/labs/docker";
import { buildWebImage } from "../test/labs/e2eFixtures";
import { expectExit, Workspace, type RunResult } from "../test/labs/workspace";

const SIZES = (process.env.BENCH_ENGINE_SIZES ?? "1,10,50").split(",").map(Number);
const RUNS = Number(process.env.BENCH_ENGINE_RUNS ?? 3);
const FIRST_PORT = { ours: 21000, baseline: 22000 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function oursStack(n: number, image: { repository: string; digest: string }): string {
  const services = Array.from(
    { length: n },
    (_, i) => `    svc${i}:
      host: local
      containerName: bench-ours-svc${i}
      image:
        repository: ${image.repository}
        digest: ${image.digest}
      ports:
        - host: ${FIRST_PORT.ours + i}
          container: 8000
          hostIp: 127.0.0.1
      volumes:
        - name: bench-ours-svc${i}
          target: /data
          protect: false
          retainOnDelete: false
      env:
        MODE: bench
      stopGraceSeconds: 1
`,
  ).join("");
  return `config:
  gpu-services:hosts:
    local:
      dockerHost: unix:///var/run/docker.sock
      address: 127.0.0.1
  gpu-services:services:
${services}`;
}

interface Figures {
  readonly create: number;
  readonly preview: number;
  readonly noopUp: number;
}

async function measure(
  what: string,
  run: (...args: string[]) => Promise<RunResult>,
  expectNoChanges: boolean,
): Promise<Figures> {
  const create = expectExit(await run("up", "--yes", "--skip-preview"), 0, `${what}: pulumi up (create)`).seconds;
  const previews: number[] = [];
  const ups: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const preview = await run("preview", ...(expectNoChanges ? ["--expect-no-changes"] : []));
    previews.push(expectExit(preview, 0, `${what}: pulumi preview`).seconds);
    ups.push(expectExit(await run("up", "--yes", "--skip-preview"), 0, `${what}: no-op pulumi up`).seconds);
  }
  expectExit(await run("destroy", "--yes", "--skip-preview"), 0, `${what}: pulumi destroy`);
  return { create, preview: median(previews), noopUp: median(ups) };
}

async function main(): Promise<void> {
  const ws = Workspace.create();
  const registry = await Registry.start();
  try {
    const repository = `${registry.address}/bench/web`;
    buildWebImage(`${repository}:v1`, "bench");
    const digest = pushAndDigest(`${repository}:v1`);
    console.log(
      `real engine (${(await ws.pulumi("version")).stdout.trim()}), local dockerd, median of ${RUNS} run(s); ` +
        "seconds of wall time per command, the create not repeated",
    );
    console.log(
      "services | ours: create, preview, no-op up | baseline: create, preview, no-op up | ratio preview | ratio no-op up",
    );
    for (const n of SIZES) {
      const stack = `bench${n}`;
      ws.write(`Pulumi.${stack}.yaml`, oursStack(n, { repository, digest }));
      expectExit(await ws.pulumi("stack", "init", stack, "--secrets-provider", "passphrase"), 0, "stack init (ours)");
      const ours = await measure(`ours, ${n}`, (...args) => ws.pulumi(...args, "--stack", stack), true);

      const baseline = (...args: string[]) => ws.pulumi("-C", "bench/engine-baseline", ...args, "--stack", stack);
      expectExit(await baseline("stack", "init", "--secrets-provider", "passphrase"), 0, "stack init (baseline)");
      for (const [key, value] of Object.entries({
        services: String(n),
        image: `${repository}@${digest}`,
        firstPort: String(FIRST_PORT.baseline),
      })) {
        expectExit(await baseline("config", "set", key, value), 0, `config set ${key}`);
      }
      const base = await measure(`baseline, ${n}`, baseline, true);
      const f = (x: number) => x.toFixed(2);
      console.log(
        `${String(n).padStart(8)} | ${f(ours.create)}, ${f(ours.preview)}, ${f(ours.noopUp)} | ` +
          `${f(base.create)}, ${f(base.preview)}, ${f(base.noopUp)} | ` +
          `${(ours.preview / base.preview).toFixed(2)} | ${(ours.noopUp / base.noopUp).toFixed(2)}`,
      );
    }
  } finally {
    await registry.remove();
    for (const name of docker(["ps", "-aq", "--filter", "name=bench-"]).split("\n").filter(Boolean)) {
      docker(["rm", "-f", name]);
    }
    ws.remove();
  }
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
