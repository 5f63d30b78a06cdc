/**
 * Scale bench on the Kubernetes lab, real engine and stage 5's kubernetes provider: 100 kwok
 * nodes of 8 GPUs and 400 GPU services of 1-4 GPUs each (more GPUs than the nodes have), once through the
 * gpu-services program and once through a bare @pulumi/kubernetes program with the same objects
 * (bench/kube-baseline, fed the Deployments' and Services' inputs and timeouts from the program's own preview),
 * in the same run. For each: `pulumi preview`, `pulumi up` (it fails for the services left Pending, at their
 * rollout bound), the time until every placed service was ready, and `pulumi destroy`; then, counted from the
 * API after the up: no node holds more GPUs than it has, every Pending pod asks more than any node has free
 * (the scheduler placed every pod that fits) with the scheduler's `Insufficient nvidia.com/gpu`, and the
 * Deployments the up failed are exactly those of the Pending pods. Exits non-zero if one of those does not hold.
 * kwok runs no containers: nothing is pulled and no GPU is used.
 * Run: npm run bench:kube-scale (BENCH_KUBE_NODES, BENCH_KUBE_GPUS_PER_NODE, BENCH_KUBE_SERVICES to resize it,
 * BENCH_KUBE_PARALLEL for the engine's --parallel).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { startKubeLab, type KubeLab, type Pod } from "../test/labs/kubeLab";
import { expectExit, Workspace, type RunResult } from "../test/labs/workspace";

const NODES = Number(process.env.BENCH_KUBE_NODES ?? 100);
const GPUS_PER_NODE = Number(process.env.BENCH_KUBE_GPUS_PER_NODE ?? 8);
const SERVICES = Number(process.env.BENCH_KUBE_SERVICES ?? 400);
/**
 * `pulumi up --parallel`, the same for both programs. The engine's default is 4 per CPU (8 here): a Deployment
 * left Pending holds its slot until its rollout bound, and at 8 slots the Pending ones would take turns.
 */
const PARALLEL = Number(process.env.BENCH_KUBE_PARALLEL ?? 2 * SERVICES);
const STACK = "scale";
const NS = "scale";
const GPU = "nvidia.com/gpu";
const FIRST_PORT = 20000;
/** The pods' image: kwok pulls nothing, so any pinned reference does. */
const IMAGE = { repository: "registry.example/bench/stt", digest: `sha256:${"5".repeat(64)}` };
const BASELINE_DIR = "bench/kube-baseline";

/** 1-4 GPUs per service, the same every run (a fixed-seed generator, mulberry32). */
function gpuCounts(n: number, seed = 22): number[] {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, () => 1 + Math.floor(next() * 4));
}

const serviceName = (i: number) => `s${String(i).padStart(3, "0")}`;

function stackFile(context: string, gpus: readonly number[]): string {
  const services = gpus
    .map(
      (count, i) => `    ${serviceName(i)}:
      host: lab
      image:
        repository: ${IMAGE.repository}
        digest: ${IMAGE.digest}
      scheduling:
        tolerations:
          - key: ${GPU}
            operator: Exists
            effect: NoSchedule
      ports:
        - host: ${FIRST_PORT + i}
          container: 8000
      gpus:
        count: ${count}
      healthcheck:
        test: ["CMD", "true"]
        interval: 1s
        timeout: 1s
        retries: 1
      release:
        strategy: stop-then-start
      stopGraceSeconds: 1
`,
    )
    .join("");
  return `# The Kubernetes scale bench's stack (bench/kubeScale.bench.ts).
config:
  gpu-services:hosts:
    lab:
      kubernetes:
        namespace: ${NS}
        context: ${context}
        serviceType: LoadBalancer
  gpu-services:services:
${services}`;
}

interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly newState?: { type: string; inputs: Record<string, unknown>; customTimeouts?: { create?: number } };
}

/** The Deployments and Services of the program's preview, as the baseline registers them. */
function baselineObjects(steps: readonly PreviewStep[], timeoutSeconds: number): object[] {
  const kinds = ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"];
  return steps
    .filter((s) => s.newState && kinds.includes(s.newState.type))
    .map((s) => ({
      type: s.newState!.type,
      name: s.urn.split("::").pop(),
      inputs: s.newState!.inputs,
      ...(s.newState!.type === kinds[0] ? { timeout: `${timeoutSeconds}s` } : {}),
    }));
}

interface Placement {
  readonly placed: number;
  readonly pending: number;
  readonly placedGpus: number;
  readonly pendingBySize: Record<number, number>;
  readonly freeGpus: number;
  readonly largestFree: number;
  /** Instance labels of the Pending pods' services. */
  readonly pendingInstances: string[];
  /** What does not hold, or nothing. */
  readonly faults: string[];
}

/** Where the scheduler put the pods, from the API, and what of "every pod that fits is placed" does not hold. */
async function placement(kube: KubeLab, gpus: readonly number[]): Promise<Placement> {
  const nodes = (await kube.api<{ items: any[] }>("GET", "/api/v1/nodes")).items;
  const pods = (await kube.api<{ items: Pod[] }>("GET", `/api/v1/namespaces/${NS}/pods`)).items.filter(
    (p) => !p.metadata.deletionTimestamp,
  );
  const want = (p: Pod) => Number(p.spec.containers[0].resources?.limits?.[GPU] ?? 0);
  const used = new Map<string, number>(nodes.map((n) => [n.metadata.name, 0]));
  const pending: Pod[] = [];
  for (const p of pods) {
    if (p.spec.nodeName) used.set(p.spec.nodeName, (used.get(p.spec.nodeName) ?? 0) + want(p));
    else pending.push(p);
  }
  const free = nodes.map((n) => Number(n.status.allocatable[GPU]) - used.get(n.metadata.name)!);
  const largestFree = Math.max(0, ...free);
  const faults: string[] = [];
  nodes.forEach((n, i) => {
    if (free[i] < 0)
      faults.push(`node ${n.metadata.name} holds ${used.get(n.metadata.name)} GPUs of ${n.status.allocatable[GPU]}`);
  });
  for (const p of pending) {
    const scheduled = p.status.conditions?.find((c) => c.type === "PodScheduled");
    if (want(p) <= largestFree)
      faults.push(`pod ${p.metadata.name} (${want(p)} GPUs) is Pending, but a node has ${largestFree} free`);
    if (!scheduled || scheduled.status !== "False" || !scheduled.message?.includes(`Insufficient ${GPU}`)) {
      faults.push(
        `pod ${p.metadata.name} is Pending without the scheduler's Insufficient ${GPU}: ${JSON.stringify(scheduled)}`,
      );
    }
  }
  if (pods.length !== gpus.length) faults.push(`${pods.length} pods, for ${gpus.length} services of 1 replica`);
  const pendingBySize: Record<number, number> = {};
  for (const p of pending) pendingBySize[want(p)] = (pendingBySize[want(p)] ?? 0) + 1;
  return {
    placed: pods.length - pending.length,
    pending: pending.length,
    placedGpus: [...used.values()].reduce((a, b) => a + b, 0),
    pendingBySize,
    freeGpus: free.reduce((a, b) => a + Math.max(0, b), 0),
    largestFree,
    pendingInstances: pending.map((p) => p.metadata.labels?.["app.kubernetes.io/instance"] ?? "").sort(),
    faults,
  };
}

/** Runs `up` while counting the Deployments with a ready pod every second; when the count last went up. */
async function upWithReadiness(kube: KubeLab, up: () => Promise<RunResult>) {
  const started = Date.now();
  let ready = 0;
  let lastRiseSeconds = 0;
  let done = false;
  const watching = (async () => {
    while (!done) {
      const list = await kube.api<{ items: any[] }>("GET", `/apis/apps/v1/namespaces/${NS}/deployments`);
      const now = list.items.filter((d) => (d.status?.readyReplicas ?? 0) >= 1).length;
      if (now > ready) [ready, lastRiseSeconds] = [now, (Date.now() - started) / 1000];
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const result = await up();
  done = true;
  await watching;
  return { result, ready, lastRiseSeconds };
}

/** The instance labels of the Deployments the last up could not finish (their state holds init errors). */
async function failedDeployments(run: (...args: string[]) => Promise<RunResult>): Promise<string[]> {
  const exported = JSON.parse(expectExit(await run("stack", "export"), 0, "stack export").stdout);
  return (exported.deployment.resources as any[])
    .filter((r) => r.type === "kubernetes:apps/v1:Deployment" && (r.initErrors?.length ?? 0) > 0)
    .map((r) => r.inputs.spec.selector.matchLabels["app.kubernetes.io/instance"] as string)
    .sort();
}

async function podsGone(kube: KubeLab): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const pods = (await kube.api<{ items: any[] }>("GET", `/api/v1/namespaces/${NS}/pods`)).items;
    if (pods.length === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`pods of ${NS} still there 120 s after destroy`);
}

interface Figures {
  readonly preview: number;
  readonly up: number;
  readonly readyAt: number;
  readonly destroy: number;
  readonly place: Placement;
  readonly failed: string[];
  readonly steps: PreviewStep[];
  /** What the up printed. */
  readonly upOutput: string;
}

async function measure(
  what: string,
  kube: KubeLab,
  gpus: readonly number[],
  run: (...args: string[]) => Promise<RunResult>,
): Promise<Figures> {
  const preview = expectExit(
    await run("preview", "--json", "--parallel", String(PARALLEL)),
    0,
    `${what}: pulumi preview`,
  );
  const steps = (JSON.parse(preview.stdout).steps ?? []) as PreviewStep[];
  const up = await upWithReadiness(kube, () => run("up", "--yes", "--skip-preview", "--parallel", String(PARALLEL)));
  const place = await placement(kube, gpus);
  expectExit(up.result, place.pending > 0 ? "non-zero" : 0, `${what}: pulumi up with ${place.pending} Pending`);
  const failed = await failedDeployments(run);
  if (up.ready !== place.placed) place.faults.push(`${up.ready} Deployments ready, ${place.placed} pods placed`);
  if (JSON.stringify(failed) !== JSON.stringify(place.pendingInstances)) {
    place.faults.push(`the up failed ${failed.length} Deployments, ${place.pendingInstances.length} pods are Pending`);
  }
  const destroy = expectExit(
    await run("destroy", "--yes", "--skip-preview", "--parallel", String(PARALLEL)),
    0,
    `${what}: pulumi destroy`,
  );
  await podsGone(kube);
  return {
    preview: preview.seconds,
    up: up.result.seconds,
    readyAt: up.lastRiseSeconds,
    destroy: destroy.seconds,
    place,
    failed,
    steps,
    upOutput: up.result.output,
  };
}

async function main(): Promise<void> {
  const gpus = gpuCounts(SERVICES);
  const started = Date.now();
  const kube = await startKubeLab({
    nodes: NODES,
    gpusPerNode: GPUS_PER_NODE,
    nodePrefix: "gpu",
    node: {
      labels: { "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" },
      taints: [{ key: GPU, value: "present", effect: "NoSchedule" }],
    },
    namespaces: [NS],
    context: "scale-lab",
  });
  const labSeconds = (Date.now() - started) / 1000;
  const ws = Workspace.create();
  try {
    const env = { KUBECONFIG: kube.kubeconfig };
    const ours = (...args: string[]) => ws.run("pulumi", [...args, "--stack", STACK, "--non-interactive"], env);
    const baseline = (...args: string[]) =>
      ws.run("pulumi", ["-C", BASELINE_DIR, ...args, "--stack", STACK, "--non-interactive"], env);
    ws.write(`Pulumi.${STACK}.yaml`, stackFile(kube.context, gpus));
    ws.commit("scale bench stack");
    expectExit(await ours("stack", "init", "--secrets-provider", "passphrase"), 0, "stack init (ours)");
    expectExit(await baseline("stack", "init", "--secrets-provider", "passphrase"), 0, "stack init (baseline)");

    const sizes = [1, 2, 3, 4].map((k) => `${gpus.filter((g) => g === k).length}×${k}`).join(", ");
    console.log(
      `${(await ws.pulumi("version")).stdout.trim()}, kubernetes provider 4.25.0; lab: ${NODES} kwok nodes × ` +
        `${GPUS_PER_NODE} ${GPU} (${NODES * GPUS_PER_NODE}), up in ${labSeconds.toFixed(1)} s; ${SERVICES} ` +
        `services of 1 pod (GPUs: ${sizes}; ${gpus.reduce((a, b) => a + b, 0)} asked)`,
    );
    const mine = await measure("ours", kube, gpus, ours);
    // The program's rollout bound of each Deployment (kubernetes/kubeService.ts), as the baseline's timeout: its
    // customTimeouts in the preview, else what the up printed of it.
    const timeout =
      mine.steps.find((s) => s.newState?.type === "kubernetes:apps/v1:Deployment")?.newState?.customTimeouts?.create ??
      Number(/does not roll out within (\d+)s/.exec(mine.upOutput)?.[1] ?? 0);
    if (!timeout) throw new Error("neither the preview nor the up gave a Deployment's rollout bound");
    const objects = baselineObjects(mine.steps, timeout);
    if (objects.length !== 2 * SERVICES)
      throw new Error(`the preview gave ${objects.length} objects, not ${2 * SERVICES}`);
    const objectsFile = path.join(ws.root, "baseline-objects.json");
    fs.writeFileSync(objectsFile, JSON.stringify(objects));
    for (const [key, value] of Object.entries({ objects: objectsFile, namespace: NS, context: kube.context })) {
      expectExit(await baseline("config", "set", key, value), 0, `config set ${key}`);
    }
    const base = await measure("baseline", kube, gpus, baseline);

    const f = (x: number) => x.toFixed(1).padStart(7);
    console.log(
      `seconds of wall time, --parallel ${PARALLEL}; rollout bound of a Deployment ${timeout} s (a Pending one fails the up there)`,
    );
    console.log(
      "          |  preview |       up | placed ready at |  destroy | placed | Pending (by GPUs) | failed in up",
    );
    for (const [name, x] of [
      ["ours", mine],
      ["baseline", base],
    ] as const) {
      const bySize = Object.entries(x.place.pendingBySize)
        .map(([k, v]) => `${v}×${k}`)
        .join(" ");
      console.log(
        `${name.padEnd(9)} | ${f(x.preview)}  | ${f(x.up)}  | ${f(x.readyAt).padStart(15)} | ${f(x.destroy)}  | ` +
          `${String(x.place.placed).padStart(6)} | ${`${x.place.pending} (${bySize})`.padEnd(17)} | ${x.failed.length}`,
      );
      console.log(
        `          placed GPUs ${x.place.placedGpus} of ${NODES * GPUS_PER_NODE}; ${x.place.freeGpus} free, at most ` +
          `${x.place.largestFree} on one node; every Pending pod asks more: ${x.place.faults.length === 0 ? "yes" : "NO"}`,
      );
    }
    console.log(
      `ratio ours/baseline: preview ${(mine.preview / base.preview).toFixed(2)}, up ${(mine.up / base.up).toFixed(2)}, ` +
        `placed ready ${(mine.readyAt / base.readyAt).toFixed(2)}, destroy ${(mine.destroy / base.destroy).toFixed(2)}`,
    );
    const faults = [...mine.place.faults.map((f) => `ours: ${f}`), ...base.place.faults.map((f) => `baseline: ${f}`)];
    if (faults.length > 0) throw new Error(`placement does not hold:\n${faults.slice(0, 20).join("\n")}`);
  } finally {
    await kube.stop();
    ws.remove();
  }
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
