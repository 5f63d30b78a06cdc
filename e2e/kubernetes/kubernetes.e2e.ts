/**
 * Clusters for real: our program (index.ts, the `Cluster` and `KubeService` components) on the Kubernetes lab
 * (test/labs/kubeLab.ts: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok's fake nodes
 * with `nvidia.com/gpu`) and the local dockerd at once, through the real engine, the stage 5 kubernetes provider
 * and the docker provider. One stack: `asr` on the local dockerd (its container really starts with its NVIDIA
 * device request; the stand-in hook, no GPU), `stt` (2 pods of 1 GPU, node selector and toleration) and `tts`
 * (1 pod, a claim, a secret env) on the cluster. Steps, in order: up; no changes; a release and a rollback with
 * the release CLI; a GPU request no node can meet; drift; destroy.
 * kwok runs no containers: on the cluster, images are not pulled and probes and GPUs are not exercised (the
 * Docker e2e covers those); the scheduler, the controllers, the API objects and the provider's awaits are real.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, freePort, pushAndDigest, Registry } from "../../test/labs/docker";
import { buildWebImage, HEALTHCHECK_TEST } from "../../test/labs/e2eFixtures";
import { startKubeLab, type KubeLab, type Pod } from "../../test/labs/kubeLab";
import { expectExit, Workspace, type RunResult } from "../../test/labs/workspace";

const STACK = "kube-e2e";
const NS = "speech";
const STORAGE_CLASS = "lab-static";
/** Where the lab's load-balancer loop says each LoadBalancer Service is (nothing listens there: kwok). */
const LB_ADDRESS = "127.0.0.2";
const SECRET_VALUE = `kube-e2e-hf-token-${process.pid}`;
const HEALTH = { interval: "1s", timeout: "1s", retries: 2, startPeriod: "1s" };
/** The healthcheck's Docker wait, which is each pod's progress deadline: startPeriod + retries × (interval + timeout) + 60. */
const PROGRESS_DEADLINE_SECONDS = 1 + 2 * (1 + 1) + 60;
const STOP_GRACE_SECONDS = 2;
type Tag = "v1" | "v2";
/** The toleration of the lab nodes' GPU taint (`nvidia.com/gpu=present:NoSchedule`), under `scheduling:`. */
const GPU_TOLERATION = `  tolerations:
    - key: nvidia.com/gpu
      operator: Exists
      effect: NoSchedule`;

interface World {
  kube: KubeLab;
  ws: Workspace;
  registry: Registry;
  repos: { asr: string; stt: string; tts: string };
  digests: Record<"asr" | "stt" | "tts", Record<Tag, string>>;
  asrPort: number;
  asrVolume: string;
}
const world = {} as World;

const instance = (service: string) => `app.kubernetes.io/instance=${service}-${STACK}`;

function service(name: string, body: string): string {
  return `    ${name}:\n${body
    .trim()
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n")}\n`;
}

function healthcheck(): string {
  const test = `[${HEALTHCHECK_TEST.map((t) => JSON.stringify(t)).join(", ")}]`;
  return `healthcheck:\n  test: ${test}\n${Object.entries(HEALTH)
    .map(([k, v]) => `  ${k}: ${v}`)
    .join("\n")}`;
}

/** The end of each service: its GPUs, the healthcheck, its release strategy and stop grace. */
function gpuTail(gpus: number, strategy: "blue-green" | "stop-then-start"): string {
  return `gpus:\n  count: ${gpus}\n${healthcheck()}\nrelease:\n  strategy: ${strategy}\nstopGraceSeconds: ${STOP_GRACE_SECONDS}`;
}

/** The stack file: one service on the local dockerd, two on the lab's cluster. */
function stackFile(): string {
  const image = (s: "asr" | "stt" | "tts") =>
    `image:\n  repository: ${world.repos[s]}\n  tag: v1\n  digest: ${world.digests[s].v1}`;
  return `# The Kubernetes e2e's stack (e2e/kubernetes/kubernetes.e2e.ts): a Docker host and a cluster side by side.
config:
  gpu-services:requirePinnedImages: true
  gpu-services:hosts:
    local:
      dockerHost: unix:///var/run/docker.sock
      address: 127.0.0.1
      gpus: 1
    lab:
      kubernetes:
        namespace: ${NS}
        context: ${world.kube.context}
        serviceType: LoadBalancer
        spareGpus: 1
        storageClassName: ${STORAGE_CLASS}
        volumeSize: 1Gi
  gpu-services:services:
${service(
  "asr",
  `host: local
${image("asr")}
ports:
  - host: ${world.asrPort}
    container: 8000
volumes:
  - name: ${world.asrVolume}
    target: /data
${gpuTail(1, "stop-then-start")}`,
)}${service(
    "stt",
    `host: lab
${image("stt")}
replicas: 2
scheduling:
  nodeSelector:
    nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3
${GPU_TOLERATION}
ports:
  - host: 8000
    container: 8000
env:
  STT_DEVICE: cuda
shmSize: 1g
${gpuTail(1, "blue-green")}`,
  )}${service(
    "tts",
    `host: lab
${image("tts")}
scheduling:
${GPU_TOLERATION}
ports:
  - host: 8055
    container: 8000
volumes:
  - name: tts-models
    target: /app/models
secretEnv:
  HF_TOKEN: hfToken
${gpuTail(1, "stop-then-start")}`,
  )}`;
}

/** A service asking more GPUs than any node has (3, of 2 per node). */
function bigService(): string {
  return service(
    "big",
    `host: lab
image:
  repository: ${world.repos.stt}
  digest: ${world.digests.stt.v1}
scheduling:
${GPU_TOLERATION}
${gpuTail(3, "stop-then-start")}`,
  );
}

/** pulumi in the workspace, with the lab's kubeconfig as the operator's (the cluster is given by its context). */
function pulumi(...args: string[]): Promise<RunResult> {
  return world.ws.run("pulumi", [...args, "--non-interactive"], { KUBECONFIG: world.kube.kubeconfig });
}

const up = (...args: string[]) => pulumi("up", "--stack", STACK, "--yes", "--skip-preview", ...args);

/** Change the stack file (as `pulumi config set` left it) and commit it, as an operator does before `pulumi up`. */
function editStack(message: string, change: (text: string) => string): string {
  const file = `Pulumi.${STACK}.yaml`;
  const before = world.ws.read(file);
  const after = change(before);
  if (after === before) throw new Error(`${message}: the stack file did not change`);
  world.ws.write(file, after);
  world.ws.commit(message);
  return before;
}

const pods = (service: string): Pod[] =>
  world.kube.kubectlJson(["get", "pods", "-n", NS, "-l", instance(service)]).items as Pod[];

const deployment = (service: string) => world.kube.kubectlJson(["get", "deployment", `${service}-${STACK}`, "-n", NS]);

/** Each ReplicaSet of a service: its revision, its pods' image and how many it runs. */
function replicaSets(service: string): { revision: number; image: string; replicas: number }[] {
  const items = world.kube.kubectlJson(["get", "replicasets", "-n", NS, "-l", instance(service)]).items as any[];
  return items
    .map((rs) => ({
      revision: Number(rs.metadata.annotations["deployment.kubernetes.io/revision"]),
      image: rs.spec.template.spec.containers[0].image as string,
      replicas: rs.status.replicas as number,
    }))
    .sort((a, b) => a.revision - b.revision);
}

/** Samples a Deployment's ready replicas from the API every 100 ms while `during` runs; their lowest value. */
async function readinessDuring<T>(
  service: string,
  during: Promise<T>,
): Promise<{ result: T; lowest: number; samples: number }> {
  let lowest = Number.POSITIVE_INFINITY;
  let samples = 0;
  let done = false;
  const watching = (async () => {
    while (!done) {
      const d = await world.kube.api("GET", `/apis/apps/v1/namespaces/${NS}/deployments/${service}-${STACK}`);
      lowest = Math.min(lowest, d.status?.readyReplicas ?? 0);
      samples++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const result = await during;
  done = true;
  await watching;
  return { result, lowest, samples };
}

async function stateHolds(text: string): Promise<string[]> {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (fs.readFileSync(file).includes(text)) found.push(file);
    }
  };
  walk(path.join(world.ws.root, "state"));
  return found;
}

describe("the program on a Kubernetes cluster and a Docker host at once", () => {
  beforeAll(async () => {
    const started = Date.now();
    world.kube = await startKubeLab({
      nodes: 2,
      gpusPerNode: 2,
      node: {
        labels: { "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" },
        taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }],
      },
      namespaces: [NS],
      volumes: { storageClassName: STORAGE_CLASS, count: 2, size: "10Gi" },
      loadBalancerAddress: LB_ADDRESS,
    });
    console.log(`[kube-e2e] control plane and 2 kwok nodes up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    world.registry = await Registry.start();
    world.repos = {
      asr: `${world.registry.address}/kube-e2e/asr`,
      stt: `${world.registry.address}/kube-e2e/stt`,
      tts: `${world.registry.address}/kube-e2e/tts`,
    };
    world.digests = { asr: {}, stt: {}, tts: {} } as World["digests"];
    buildWebImage(`${world.repos.asr}:v1`, "asr v1");
    world.digests.asr.v1 = pushAndDigest(`${world.repos.asr}:v1`);
    for (const s of ["stt", "tts"] as const) {
      for (const tag of ["v1", "v2"] as const) {
        buildWebImage(`${world.repos[s]}:${tag}`, `${s} ${tag}`);
        world.digests[s][tag] = pushAndDigest(`${world.repos[s]}:${tag}`);
      }
    }
    world.asrPort = await freePort();
    world.asrVolume = `kube-e2e-asr-${process.pid}`;
    world.ws = Workspace.create();
    world.ws.write(`Pulumi.${STACK}.yaml`, stackFile());
    expectExit(await pulumi("stack", "init", STACK, "--secrets-provider", "passphrase"), 0, "stack init");
    expectExit(
      await world.ws.setSecret(STACK, "gpu-services:secrets.hfToken", SECRET_VALUE),
      0,
      "config set --secret hfToken",
    );
    world.ws.commit("kube e2e stack");
  }, 600_000);

  afterAll(async () => {
    if (world.ws) {
      await pulumi("state", "unprotect", "--stack", STACK, "--all", "--yes");
      await pulumi("destroy", "--stack", STACK, "--yes", "--skip-preview");
    }
    await world.kube?.stop();
    await world.registry?.remove();
    if (world.asrVolume) docker(["volume", "rm", "-f", world.asrVolume]);
    world.ws?.remove();
  }, 600_000);

  it("1. preview, then up: the scheduler places the GPU pods; Deployment, Service, claim and Secret as documented; the Docker service runs; the secret is never plain in the state", async () => {
    const { kube } = world;
    const preview = expectExit(await pulumi("preview", "--stack", STACK), 0, "pulumi preview");
    expect(preview.output).toContain("gpu-services:index:KubeService");
    const result = expectExit(await up(), 0, "pulumi up");
    console.log(`[kube-e2e] first up (2 cluster services, 1 Docker service): ${result.seconds.toFixed(1)} s`);

    const stt = deployment("stt");
    expect(stt.status).toMatchObject({ replicas: 2, readyReplicas: 2, updatedReplicas: 2 });
    expect(stt.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(stt.spec.progressDeadlineSeconds).toBe(PROGRESS_DEADLINE_SECONDS);
    const sttPod = stt.spec.template.spec;
    expect(sttPod.nodeSelector).toEqual({ "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" });
    expect(sttPod.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(sttPod.terminationGracePeriodSeconds).toBe(STOP_GRACE_SECONDS);
    expect(sttPod.containers[0]).toMatchObject({
      image: `${world.repos.stt}@${world.digests.stt.v1}`,
      resources: { limits: { "nvidia.com/gpu": "1" } },
      env: [{ name: "STT_DEVICE", value: "cuda" }],
      readinessProbe: { exec: { command: HEALTHCHECK_TEST.slice(1) }, periodSeconds: 1, failureThreshold: 2 },
    });
    expect(sttPod.volumes).toContainEqual({ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "1Gi" } });
    const sttPods = pods("stt");
    expect(sttPods.map((p) => p.status.phase)).toEqual(["Running", "Running"]);
    const ttsPods = pods("tts");
    expect(ttsPods.map((p) => p.status.phase)).toEqual(["Running"]);
    // Three 1-GPU pods on two 2-GPU nodes, placed by the scheduler.
    for (const p of [...sttPods, ...ttsPods]) expect(p.spec.nodeName).toMatch(/^gpu-node-[01]$/);

    const tts = deployment("tts");
    expect(tts.spec.strategy).toEqual({ type: "Recreate" });
    expect(tts.spec.template.spec.containers[0].env).toEqual([
      { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: `tts-${STACK}-env`, key: "HF_TOKEN" } } },
    ]);
    const secret = kube.kubectlJson(["get", "secret", `tts-${STACK}-env`, "-n", NS]);
    expect(Buffer.from(secret.data.HF_TOKEN, "base64").toString()).toBe(SECRET_VALUE);
    const claim = kube.kubectlJson(["get", "pvc", "tts-models", "-n", NS]);
    expect(claim.status.phase).toBe("Bound");
    expect(claim.spec).toMatchObject({ accessModes: ["ReadWriteOnce"], storageClassName: STORAGE_CLASS });
    expect(claim.spec.resources.requests.storage).toBe("1Gi");
    const svc = kube.kubectlJson(["get", "service", `stt-${STACK}`, "-n", NS]);
    expect(svc.spec.type).toBe("LoadBalancer");
    expect(svc.spec.ports.map((p: any) => [p.port, p.targetPort])).toEqual([[8000, 8000]]);
    for (const o of [stt, tts, secret, claim, svc]) {
      expect(o.metadata.labels).toMatchObject({
        "app.kubernetes.io/managed-by": "gpu-services",
        "gpu-services/stack": STACK,
      });
    }

    // The Docker service, on the real dockerd, beside it.
    const asr = JSON.parse(docker(["inspect", `asr-${STACK}`]))[0];
    expect(asr.State.Health.Status).toBe("healthy");
    expect(asr.HostConfig.DeviceRequests).toHaveLength(1);
    expect(asr.HostConfig.DeviceRequests[0]).toMatchObject({ Driver: "nvidia", Count: 1 });
    const answer = await fetch(`http://127.0.0.1:${world.asrPort}/index.html`, { signal: AbortSignal.timeout(5000) });
    expect((await answer.text()).trim()).toBe("asr v1");

    const outputs = JSON.parse(
      expectExit(await pulumi("stack", "output", "--stack", STACK, "--json", "--show-secrets"), 0, "stack output")
        .stdout,
    );
    expect(outputs.services.stt.endpoint).toBe(`http://${LB_ADDRESS}:8000`);
    expect(outputs.services.tts.endpoint).toBe(`http://${LB_ADDRESS}:8055`);
    expect(outputs.services.asr.endpoint).toBe(`http://127.0.0.1:${world.asrPort}`);
    expect(await stateHolds(SECRET_VALUE)).toEqual([]);
  });

  it("2. a second preview --expect-no-changes passes", async () => {
    expectExit(await pulumi("preview", "--stack", STACK, "--expect-no-changes"), 0, "preview --expect-no-changes");
  });

  it("3. a release and a rollback with the release CLI: the Deployment rolls, never below its replicas ready; the ReplicaSets hold both digests", async () => {
    const v1 = `${world.repos.stt}@${world.digests.stt.v1}`;
    const v2 = `${world.repos.stt}@${world.digests.stt.v2}`;
    expectExit(await world.ws.cli("release", "release", STACK, "stt", "v2"), 0, "release stt v2");
    world.ws.commit("stt v2");
    const release = await readinessDuring("stt", up());
    expectExit(release.result, 0, "pulumi up (stt v2)");
    console.log(
      `[kube-e2e] release stt v2: up ${release.result.seconds.toFixed(1)} s; lowest ready ${release.lowest} of 2 in ${release.samples} samples`,
    );
    expect(release.lowest).toBe(2);
    expect(pods("stt").map((p) => p.spec.containers[0].image)).toEqual([v2, v2]);
    expect(replicaSets("stt").map((rs) => [rs.image, rs.replicas])).toEqual([
      [v1, 0],
      [v2, 2],
    ]);

    expectExit(await world.ws.cli("release", "rollback", STACK, "stt"), 0, "rollback stt");
    world.ws.commit("stt back to v1");
    const rollback = await readinessDuring("stt", up());
    expectExit(rollback.result, 0, "pulumi up (stt back to v1)");
    console.log(
      `[kube-e2e] rollback stt: up ${rollback.result.seconds.toFixed(1)} s; lowest ready ${rollback.lowest} of 2 in ${rollback.samples} samples`,
    );
    expect(rollback.lowest).toBe(2);
    // Kubernetes brings the v1 ReplicaSet back as the newest revision.
    const history = replicaSets("stt");
    expect(history.map((rs) => [rs.image, rs.replicas])).toEqual([
      [v2, 0],
      [v1, 2],
    ]);
    expect(history.map((rs) => rs.revision)).toEqual([2, 3]);
    expect(pods("stt").map((p) => p.spec.containers[0].image)).toEqual([v1, v1]);
    expectExit(await pulumi("preview", "--stack", STACK, "--expect-no-changes"), 0, "preview after the rollback");
  });

  it("4. a GPU request no node can meet: up fails within the bound, naming the Pending pod and the scheduler's reason; the rest keep serving", async () => {
    const services = "  gpu-services:services:\n";
    const before = editStack("big: 3 GPUs on 2-GPU nodes", (t) => t.replace(services, services + bigService()));
    const bound = 1 * PROGRESS_DEADLINE_SECONDS + STOP_GRACE_SECONDS + 60;
    const result = await up();
    expectExit(result, "non-zero", "pulumi up of a service asking 3 GPUs of 2-GPU nodes");
    const lines = result.output.split("\n").filter((l) => /Pending|Insufficient|ProgressDeadline|error/.test(l));
    console.log(
      `[kube-e2e] the up failed after ${result.seconds.toFixed(1)} s (bound ${bound} s):\n${lines.join("\n")}`,
    );
    expect(result.seconds).toBeGreaterThan(bound);
    expect(result.seconds).toBeLessThan(bound + 45);
    const pending = pods("big");
    expect(pending.map((p) => p.status.phase)).toEqual(["Pending"]);
    expect(result.output).toMatch(
      new RegExp(
        `pod ${pending[0].metadata.name} is Pending: 0/2 nodes are available: 2 Insufficient nvidia\\.com/gpu`,
      ),
    );
    expect(result.output).toContain("ProgressDeadlineExceeded");
    expect(deployment("stt").status.readyReplicas).toBe(2);
    expect(deployment("tts").status.readyReplicas).toBe(1);

    editStack("big removed", () => before);
    expectExit(await up(), 0, "pulumi up without big");
    expect(pods("big")).toEqual([]);
    expectExit(await pulumi("preview", "--stack", STACK, "--expect-no-changes"), 0, "preview without big");
  });

  it("5. drift: a Deployment deleted with kubectl is found by preview --refresh and repaired by up --refresh", async () => {
    world.kube.kubectl(["delete", "deployment", `stt-${STACK}`, "-n", NS, "--wait=true", "--timeout=60s"]);
    const found = await pulumi("preview", "--stack", STACK, "--refresh", "--expect-no-changes");
    expectExit(found, "non-zero", "preview --refresh --expect-no-changes after the delete");
    expect(found.output).toMatch(/\+\s+.*kubernetes:apps\/v1:Deployment\s+stt-deployment\s+create/);
    expectExit(await up("--refresh"), 0, "pulumi up --refresh");
    expect(deployment("stt").status).toMatchObject({ replicas: 2, readyReplicas: 2 });
    expectExit(
      await pulumi("preview", "--stack", STACK, "--refresh", "--expect-no-changes"),
      0,
      "preview --refresh after the repair",
    );
  });

  it("6. destroy (after state unprotect): the workloads are gone, the claims and the Docker volume are kept", async () => {
    const refused = await pulumi("destroy", "--stack", STACK, "--yes", "--skip-preview");
    expectExit(refused, "non-zero", "destroy of a stack with protected claims");
    expect(refused.output).toContain("protected");
    expectExit(await pulumi("state", "unprotect", "--stack", STACK, "--all", "--yes"), 0, "state unprotect --all");
    expectExit(await pulumi("destroy", "--stack", STACK, "--yes", "--skip-preview"), 0, "pulumi destroy");
    const left = world.kube.kubectl([
      "get",
      "deployments,replicasets,pods,services,secrets,pvc",
      "-n",
      NS,
      "-o",
      "name",
    ]);
    expect(left.trim().split("\n")).toEqual(["persistentvolumeclaim/tts-models"]);
    expect(world.kube.kubectlJson(["get", "pvc", "tts-models", "-n", NS]).status.phase).toBe("Bound");
    expect(docker(["ps", "-a", "--filter", `name=^/asr-${STACK}$`, "--format", "{{.Names}}"])).toBe("");
    expect(docker(["volume", "inspect", "--format", "{{.Name}}", world.asrVolume])).toBe(world.asrVolume);
  });
});
