/**
 * KubeService and Cluster through the program under mocks, on models built by hand (test/support/models.ts): the
 * exact inputs of every object of a representative GPU service, the strategy mapping, the resource options of its
 * claims, its Secret's values as Pulumi secrets, and a mixed stack's outputs (one Docker service, one on a cluster).
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import type { ClusterServiceSpec, DeploymentModel, ServiceSpec } from "../model";
import { evaluateModel, SECRET_SIG, SIG_KEY, T, valueOf, type Evaluation } from "../test/support/harness";
import { clusterModel, GPU_CLUSTER, NGINX } from "../test/support/models";
import { plainGet, serviceProbes } from "./kubeProbes";
import { pendingPodsPoller, unschedulablePods, type Kubectl } from "./pendingPods";
import { rolloutTimeoutSeconds } from "./kubeService";
import {
  bytesQuantity,
  cpuQuantity,
  DEPLOYMENT_INPUTS,
  podVolumeName,
  type DeploymentPart,
  type KubeSource,
} from "./kubeInputs";
import { CLUSTER_REFUSALS, notCarriedKeys } from "../model";

const DIGEST = `sha256:${"c".repeat(64)}`;
const STT_IMAGE = `ghcr.io/example/stt@${DIGEST}`;

const BLUE_GREEN: ServiceSpec["release"] = {
  requested: "auto",
  strategy: "blue-green",
  reason: "stt: blue-green: 2 surge GPUs = 2 ≤ 2 spare on gpu-cluster",
  drainSeconds: 30,
};

/** The GPU service every case starts from: everything a cluster carries set. */
const STT = {
  image: { repository: "ghcr.io/example/stt", digest: DIGEST },
  ports: [{ host: 8000, container: 8000 }],
  volumes: [
    { name: "stt-models", target: "/models" },
    { name: "shared-cache", target: "/cache", external: true, readOnly: true },
  ],
  env: { LOG_LEVEL: "info" },
  secretEnv: { HF_TOKEN: "hfToken" },
  gpus: { count: 2 },
  healthcheck: {
    test: ["CMD", "curl", "-fsS", "http://localhost:8000/health"],
    interval: "10s",
    timeout: "5s",
    retries: 3,
    startPeriod: "2m",
  },
  shmSize: "8g",
  ipc: "host",
  user: "1000:1000",
  cpus: 4,
  entrypoint: ["python", "-m", "stt"],
  command: ["--port", "8000"],
  labels: { "com.example.team": "speech" },
  stopGraceSeconds: 60,
};

const STT_PLACE: Partial<ClusterServiceSpec> = {
  replicas: 2,
  release: BLUE_GREEN,
  scheduling: {
    nodeSelector: { "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" },
    tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
    runtimeClassName: "nvidia",
  },
};

/** A second service on the cluster: an exec healthcheck, no GPU, no volumes, stop-then-start. */
const TTS = {
  image: { repository: "ghcr.io/example/tts", tag: "1.4.2" },
  ports: [{ host: 8055, container: 8000 }],
  healthcheck: { test: "python -c 'import urllib.request as u; u.urlopen(\"http://localhost:8000/v1/models\")'" },
};

const SECRETS = { hfToken: "hf_value_never_plain" };
const secretConfig = () => ({ values: { secrets: SECRETS }, secretKeys: new Set(["secrets"]) });

function mixedModel(cluster = GPU_CLUSTER): DeploymentModel {
  return clusterModel(
    { web: { image: NGINX, ports: [{ host: 8080, container: 80 }] } },
    { stt: { config: STT, place: STT_PLACE }, tts: { config: TTS } },
    cluster,
    SECRETS,
  );
}

const LB_INGRESS = { "stt-service": { status: { loadBalancer: { ingress: [{ ip: "10.0.0.50" }] } } } };

/** As `pulumi up` would: a preview leaves unknown what the cluster computes (an ingress, a `resourceVersion`). */
const evaluateMixed = (cluster = GPU_CLUSTER, preview = false, kubectl: Kubectl | false = false): Promise<Evaluation> =>
  evaluateModel(mixedModel(cluster), {
    config: secretConfig(),
    preview,
    kubectl,
    outputsOf: {
      ...LB_INGRESS,
      "stt-env": { metadata: { name: "stt-dev-env", namespace: "speech", resourceVersion: "4711" } },
    },
  });

const LABELS = {
  "app.kubernetes.io/name": "stt",
  "app.kubernetes.io/instance": "stt-dev",
  "app.kubernetes.io/managed-by": "gpu-services",
  "gpu-services/stack": "dev",
};

describe("KubeService", () => {
  it("makes the exact Deployment of a GPU service: every key of its spec where the cluster carries it", async () => {
    const e = await evaluateMixed();
    const deployment = e.get(T.deployment, "stt-deployment");
    expect(deployment.inputs).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "stt-dev", namespace: "speech", labels: LABELS },
      spec: {
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        replicas: 2,
        // The healthcheck's worst case plus a minute: 120 + 3 × (10 + 5) + 60.
        progressDeadlineSeconds: 225,
        selector: { matchLabels: { "app.kubernetes.io/name": "stt", "app.kubernetes.io/instance": "stt-dev" } },
        template: {
          metadata: {
            labels: LABELS,
            annotations: {
              "gpu-services/release": STT_IMAGE,
              "gpu-services/secret-env": "HF_TOKEN",
              "gpu-services/secret-version": "4711",
              "com.example.team": "speech",
            },
          },
          spec: {
            hostIPC: true,
            terminationGracePeriodSeconds: 60,
            nodeSelector: { "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" },
            tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
            runtimeClassName: "nvidia",
            containers: [
              {
                name: "stt-dev",
                image: STT_IMAGE,
                imagePullPolicy: "IfNotPresent",
                ports: [{ containerPort: 8000, protocol: "TCP" }],
                startupProbe: {
                  httpGet: { scheme: "HTTP", port: 8000, path: "/health" },
                  periodSeconds: 10,
                  timeoutSeconds: 5,
                  successThreshold: 1,
                  failureThreshold: 15, // ⌈120 / 10⌉ + 3
                },
                readinessProbe: {
                  httpGet: { scheme: "HTTP", port: 8000, path: "/health" },
                  periodSeconds: 10,
                  timeoutSeconds: 5,
                  successThreshold: 1,
                  failureThreshold: 3,
                },
                command: ["python", "-m", "stt"],
                args: ["--port", "8000"],
                securityContext: { runAsUser: 1000, runAsGroup: 1000 },
                env: [
                  { name: "LOG_LEVEL", value: "info" },
                  { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "stt-dev-env", key: "HF_TOKEN" } } },
                ],
                resources: { limits: { "nvidia.com/gpu": "2", cpu: "4" } },
                volumeMounts: [
                  { name: "vol-stt-models", mountPath: "/models", readOnly: false },
                  { name: "vol-shared-cache", mountPath: "/cache", readOnly: true },
                  { name: "dshm", mountPath: "/dev/shm" },
                ],
              },
            ],
            volumes: [
              { name: "vol-stt-models", persistentVolumeClaim: { claimName: "stt-models", readOnly: false } },
              { name: "vol-shared-cache", persistentVolumeClaim: { claimName: "shared-cache", readOnly: true } },
              { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "8Gi" } },
            ],
          },
        },
      },
    });
    // The up gives up at 2 × 225 + 60 + 60 s; the controller has marked the rollout stuck a minute before.
    expect(deployment.options.customTimeouts).toMatchObject({ create: "570s", update: "570s" });
    expect(e.providerHost(deployment)).toBeUndefined(); // a kubernetes provider, not a docker one
    expect(deployment.provider).toMatch(/::gpu-services:index:Cluster\$pulumi:providers:kubernetes::gpu-cluster::/);
  });

  it("makes its Secret, one claim per managed volume and no claim for the external one, and its Service", async () => {
    const e = await evaluateMixed();
    expect(e.get(T.kubeSecret, "stt-env").inputs).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "stt-dev-env", namespace: "speech", labels: LABELS },
      type: "Opaque",
      // A Pulumi secret, as the engine receives it.
      stringData: { [SIG_KEY]: SECRET_SIG, value: { HF_TOKEN: SECRETS.hfToken } },
    });
    expect(e.ofType(T.claim).map((c) => c.name)).toEqual(["stt-claim-stt-models"]);
    expect(e.get(T.claim, "stt-claim-stt-models").inputs).toEqual({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "stt-models", namespace: "speech", labels: LABELS },
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "20Gi" } },
        storageClassName: "local-path",
      },
    });
    expect(e.get(T.kubeServiceObject, "stt-service").inputs).toEqual({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "stt-dev", namespace: "speech", labels: LABELS },
      spec: {
        type: "LoadBalancer",
        selector: { "app.kubernetes.io/name": "stt", "app.kubernetes.io/instance": "stt-dev" },
        ports: [{ name: "tcp-8000", port: 8000, targetPort: 8000, protocol: "TCP" }],
      },
    });
    // The pods wait for the Secret and the claim: the Deployment depends on both.
    expect(e.get(T.deployment, "stt-deployment").options.dependencies.sort()).toEqual([
      "urn:pulumi:dev::gpu-services::gpu-services:index:KubeService$kubernetes:core/v1:PersistentVolumeClaim::stt-claim-stt-models",
      "urn:pulumi:dev::gpu-services::gpu-services:index:KubeService$kubernetes:core/v1:Secret::stt-env",
    ]);
  });

  it("gives each managed claim the cluster's volumeAccessMode", async () => {
    const e = await evaluateMixed({ ...GPU_CLUSTER, volumeAccessMode: "ReadWriteMany" });
    expect(e.get(T.claim, "stt-claim-stt-models").inputs.spec).toEqual({
      accessModes: ["ReadWriteMany"],
      resources: { requests: { storage: "20Gi" } },
      storageClassName: "local-path",
    });
  });

  it("keeps the secret env values Pulumi secrets on the wire, and never in the Deployment", async () => {
    const e = await evaluateMixed();
    const secret = e.get(T.kubeSecret, "stt-env");
    const wire = JSON.parse(secret.wire);
    expect(wire.stringData[SIG_KEY]).toBe(SECRET_SIG);
    expect(JSON.stringify(wire.stringData.value)).toContain(SECRETS.hfToken);
    for (const r of e.resources.filter((r) => r !== secret))
      expect(r.wire.includes(SECRETS.hfToken), `${r.type} ${r.name}`).toBe(false);
  });

  it("maps an exec healthcheck, a tag and stop-then-start: Recreate, exec probes through /bin/sh", async () => {
    const e = await evaluateMixed();
    const tts = e.get(T.deployment, "tts-deployment").inputs;
    expect(tts.spec.strategy).toEqual({ type: "Recreate" });
    expect(tts.spec.replicas).toBe(1);
    const container = tts.spec.template.spec.containers[0];
    const exec = {
      command: [
        "/bin/sh",
        "-c",
        "python -c 'import urllib.request as u; u.urlopen(\"http://localhost:8000/v1/models\")'",
      ],
    };
    // Defaults: interval 30s, timeout 30s, retries 3, start period 0s.
    expect(container.startupProbe).toEqual({
      exec,
      periodSeconds: 30,
      timeoutSeconds: 30,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(container.readinessProbe).toEqual(container.startupProbe);
    expect(container.image).toBe("ghcr.io/example/tts:1.4.2");
    expect(container.resources).toBeUndefined();
    expect(container.env).toBeUndefined();
    expect(tts.spec.template.spec.volumes).toBeUndefined();
    expect(tts.spec.progressDeadlineSeconds).toBe(0 + 3 * (30 + 30) + 60);
    expect(e.ofType(T.kubeSecret).map((s) => s.name)).toEqual(["stt-env"]);
  });

  it("probes a declared readiness check: its GET with headers, passes in a row, the load bounded by the deadline", async () => {
    const readiness = {
      path: "/v1/models",
      headers: { "X-Probe": "1" },
      scheme: "https",
      timeout: "2500ms",
      interval: "2s",
      passes: 3,
    };
    const model = clusterModel({}, { tts: { config: { ...TTS, readiness } } });
    const e = await evaluateModel(model, { preview: false, kubectl: false });
    const deployment = e.get(T.deployment, "tts-deployment").inputs.spec;
    const container = deployment.template.spec.containers[0];
    const httpGet = { scheme: "HTTPS", port: 8000, path: "/v1/models", httpHeaders: [{ name: "X-Probe", value: "1" }] };
    // The healthcheck's exec probes give way; its retries stay the readiness probe's failures, its wait the bound.
    expect(deployment.progressDeadlineSeconds).toBe(240);
    expect(container.startupProbe).toEqual({
      httpGet,
      periodSeconds: 2,
      timeoutSeconds: 3,
      successThreshold: 1,
      failureThreshold: 120,
    });
    expect(container.readinessProbe).toEqual({
      httpGet,
      periodSeconds: 2,
      timeoutSeconds: 3,
      successThreshold: 3,
      failureThreshold: 3,
    });
    // Without a healthcheck: the kubelet's 3 failures, Kubernetes' 600 s deadline; no headers, no httpHeaders.
    const bare = clusterModel(
      {},
      { tts: { config: { ...TTS, healthcheck: undefined, readiness: { path: "/ready" } } } },
    );
    const plain = (await evaluateModel(bare, { preview: false, kubectl: false })).get(T.deployment, "tts-deployment")
      .inputs.spec.template.spec.containers[0];
    expect(plain.startupProbe).toEqual({
      httpGet: { scheme: "HTTP", port: 8000, path: "/ready" },
      periodSeconds: 1,
      timeoutSeconds: 10,
      successThreshold: 1,
      failureThreshold: 600,
    });
    expect(plain.readinessProbe).toMatchObject({ successThreshold: 2, failureThreshold: 3 });
  });

  it("maps blue-green to RollingUpdate maxSurge 1 / maxUnavailable 0, stop-then-start to Recreate", async () => {
    for (const [strategy, expected] of [
      ["blue-green", { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }],
      ["stop-then-start", { type: "Recreate" }],
    ] as const) {
      const model = clusterModel(
        {},
        { tts: { config: TTS, place: { release: { ...BLUE_GREEN, strategy, reason: strategy } } } },
      );
      const e = await evaluateModel(model, { preview: false, kubectl: false });
      expect(e.get(T.deployment, "tts-deployment").inputs.spec.strategy).toEqual(expected);
    }
  });

  it("protects and keeps claims as their volume says", async () => {
    const model = clusterModel(
      {},
      {
        stt: {
          config: {
            ...STT,
            secretEnv: {},
            volumes: [
              { name: "scratch", target: "/scratch", protect: false, retainOnDelete: false },
              { name: "models", target: "/models" },
            ],
          },
        },
      },
    );
    const e = await evaluateModel(model, { preview: false, kubectl: false });
    expect(e.get(T.claim, "stt-claim-scratch").options).toMatchObject({ protect: false, retainOnDelete: false });
    expect(e.get(T.claim, "stt-claim-models").options).toMatchObject({ protect: true, retainOnDelete: true });
  });

  it("exposes NodePort on the same numbers and gives the cluster's address as the endpoint", async () => {
    const e = await evaluateMixed({ ...GPU_CLUSTER, serviceType: "NodePort", address: "10.0.0.9" });
    expect(e.get(T.kubeServiceObject, "tts-service").inputs.spec).toEqual({
      type: "NodePort",
      selector: { "app.kubernetes.io/name": "tts", "app.kubernetes.io/instance": "tts-dev" },
      ports: [{ name: "tcp-8055", port: 8055, targetPort: 8000, protocol: "TCP", nodePort: 8055 }],
    });
    expect(e.outputs.tts.endpoint).toBe("http://10.0.0.9:8055");
    expect(e.outputs.stt.endpoint).toBe("http://10.0.0.9:8000");
  });

  it("makes one provider per cluster: context, namespace, the kubeconfig as a secret, Secrets mutable", async () => {
    const e = await evaluateMixed();
    expect(e.get(T.kubeProvider, "gpu-cluster").inputs).toEqual({
      namespace: "speech",
      context: "lab",
      enableSecretMutable: "true",
    });
    const withKubeconfig = await evaluateModel(
      {
        ...mixedModel({ ...GPU_CLUSTER, kubeconfigSecret: "kubeconfig" }),
        secretNames: ["hfToken", "kubeconfig"],
      },
      {
        config: {
          values: { secrets: { ...SECRETS, kubeconfig: "apiVersion: v1\nkind: Config\n" } },
          secretKeys: new Set(["secrets"]),
        },
        outputsOf: LB_INGRESS,
        preview: false,
        kubectl: false,
      },
    );
    const provider = withKubeconfig.get(T.kubeProvider, "gpu-cluster");
    expect(provider.inputs.kubeconfig).toEqual({ [SIG_KEY]: SECRET_SIG, value: "apiVersion: v1\nkind: Config\n" });
    expect(withKubeconfig.ofType(T.cluster).map((c) => c.name)).toEqual(["gpu-cluster"]);
  });

  it("tells in an up how long it waits for the rollout and how to see why a pod stays Pending", async () => {
    const logged: string[] = [];
    const spy = vi.spyOn(pulumi.log, "info").mockImplementation(async (msg: string) => void logged.push(msg));
    try {
      await evaluateMixed(GPU_CLUSTER, false);
    } finally {
      spy.mockRestore();
    }
    expect(logged).toContain(BLUE_GREEN.reason);
    expect(logged).toContain(
      "if deployment/stt-dev does not roll out within 570s (a pod that stays Pending, for example a surge pod " +
        "with no free nvidia.com/gpu, or one that never turns ready), pulumi up fails: " +
        "`kubectl --context lab -n speech get pods -l app.kubernetes.io/instance=stt-dev` and " +
        "`kubectl --context lab -n speech describe pod <pod>` show the scheduler's reason; roll back with " +
        "`npm run release -- rollback dev stt` and `pulumi up --stack dev`.",
    );
  });
});

describe("the program with a Docker host and a cluster", () => {
  it("keeps the ServiceOutputs shape: a LoadBalancer's ingress, the Deployment's name, the host", async () => {
    const e = await evaluateMixed();
    expect(e.outputs).toEqual({
      stt: { endpoint: "http://10.0.0.50:8000", image: STT_IMAGE, containerName: "stt-dev", host: "gpu-cluster" },
      // No ingress yet (mocked): no endpoint rather than a wrong one.
      tts: { endpoint: undefined, image: "ghcr.io/example/tts:1.4.2", containerName: "tts-dev", host: "gpu-cluster" },
      web: {
        endpoint: "http://localhost:8080",
        image: expect.stringMatching(/^nginx@sha256:/),
        containerName: "web-dev",
        host: "lab",
      },
    });
    // The Docker service as before: a container on the lab daemon; the cluster services none.
    expect(e.ofType(T.container).map((c) => c.name)).toEqual(["web-container"]);
    expect(e.providerHost(e.get(T.container, "web-container"))).toBe("unix:///var/run/docker.sock");
    expect(
      e
        .ofType(T.deployment)
        .map((d) => d.name)
        .sort(),
    ).toEqual(["stt-deployment", "tts-deployment"]);
    expect(e.ofType(T.dockerProvider).map((p) => p.name)).toEqual(["lab-docker"]);
  });
});

describe("the Deployment's per-key table", () => {
  it("says why it does not carry what a cluster has no place for", () => {
    expect(Object.keys(notCarriedKeys<ServiceSpec, DeploymentPart, KubeSource>(DEPLOYMENT_INPUTS)).sort()).toEqual([
      "binds",
      "copies",
      "endpoint",
      "hold",
      "host",
      "restart",
      "runsOn",
      "scheme",
      "shareGpu",
      "ulimits",
    ]);
  });

  it("gives for each key only a Docker host has the reason buildModel refuses it on a cluster with", () => {
    const reasons = notCarriedKeys<ServiceSpec, DeploymentPart, KubeSource>(DEPLOYMENT_INPUTS);
    expect(reasons.binds).toBe(
      "buildModel refuses it where the host is a cluster, whose pods have no host folders to bind: use a volume " +
        "(volumes[]: a PersistentVolumeClaim), or run the service on a Docker host",
    );
    for (const [key, { reason }] of Object.entries(CLUSTER_REFUSALS)) {
      expect(reasons[key as keyof typeof CLUSTER_REFUSALS]).toBe(
        `buildModel refuses it where the host is a cluster, ${reason}`,
      );
    }
  });
});

describe("healthcheck -> probes", () => {
  const ports = [{ host: 9000, container: 8000, protocol: "tcp" as const, hostIp: "0.0.0.0" }];
  it.each([
    [["CMD", "curl", "-f", "http://localhost:8000/health"], { scheme: "HTTP", port: 8000, path: "/health" }],
    [
      ["CMD", "/usr/bin/curl", "--fail", "-s", "http://127.0.0.1:8000/v1/models?x=1"],
      { scheme: "HTTP", port: 8000, path: "/v1/models?x=1" },
    ],
    [["CMD-SHELL", "curl -sf http://localhost:8000/ || exit 1"], { scheme: "HTTP", port: 8000, path: "/" }],
    [
      ["CMD", "curl", "-fk", "-o", "/dev/null", "https://localhost:8000/ready"],
      { scheme: "HTTPS", port: 8000, path: "/ready" },
    ],
    [["CMD", "wget", "-qO-", "http://localhost:8000/health"], { scheme: "HTTP", port: 8000, path: "/health" }],
    [
      ["CMD", "wget", "--spider", "-q", "http://localhost:8000/health"],
      { scheme: "HTTP", port: 8000, path: "/health" },
    ],
  ])("%j is a plain GET: httpGet", (test, get) => {
    expect(plainGet(test, ports)).toEqual(get);
  });

  it.each([
    [["CMD", "curl", "http://localhost:8000/health"]], // no -f: curl passes an HTTP 500, a probe would not
    [["CMD", "curl", "-f", "-X", "POST", "http://localhost:8000/health"]],
    [["CMD", "curl", "-f", "-H", "Authorization: x", "http://localhost:8000/health"]],
    [["CMD", "curl", "-f", "http://localhost:9000/health"]], // not a port the container listens on beyond loopback
    [["CMD", "curl", "-f", "http://example.com:8000/health"]],
    [["CMD", "curl", "-f", "http://localhost:8000/a", "http://localhost:8000/b"]],
    [["CMD-SHELL", "curl -f http://localhost:8000/health && test -f /ready"]],
    [["CMD-SHELL", 'curl -f "http://localhost:8000/health"']],
    [["CMD", "wget", "-O", "/tmp/out", "http://localhost:8000/health"]],
    [["CMD", "python", "check.py"]],
  ])("%j is not: exec", (test) => {
    expect(plainGet(test, ports)).toBeUndefined();
    expect(
      serviceProbes(
        { test, interval: "30s", timeout: "30s", retries: 3, startPeriod: "0s", waitTimeoutSeconds: 1 },
        ports,
      )?.readinessProbe.exec,
    ).toBeDefined();
  });

  it("rounds periods up to whole seconds, at least 1, and gives the start period in checks", () => {
    const probes = serviceProbes(
      {
        test: ["CMD", "true"],
        interval: "1500ms",
        timeout: "500ms",
        retries: 2,
        startPeriod: "5s",
        waitTimeoutSeconds: 70,
      },
      [],
    );
    expect(probes).toEqual({
      startupProbe: {
        exec: { command: ["true"] },
        periodSeconds: 2,
        timeoutSeconds: 1,
        successThreshold: 1,
        failureThreshold: 5,
      },
      readinessProbe: {
        exec: { command: ["true"] },
        periodSeconds: 2,
        timeoutSeconds: 1,
        successThreshold: 1,
        failureThreshold: 2,
      },
    });
    expect(
      serviceProbes(
        { test: ["NONE"], interval: "30s", timeout: "30s", retries: 3, startPeriod: "0s", waitTimeoutSeconds: 1 },
        [],
      ),
    ).toBeUndefined();
  });
});

describe("quantities and names", () => {
  it("writes sizes and CPUs in Kubernetes' canonical form, and pod volume names as DNS labels", () => {
    expect([bytesQuantity(2 ** 33), bytesQuantity(1536 * 2 ** 20), bytesQuantity(1000)]).toEqual([
      "8Gi",
      "1536Mi",
      "1000",
    ]);
    expect([cpuQuantity(4), cpuQuantity(1.5), cpuQuantity(0.25)]).toEqual(["4", "1500m", "250m"]);
    expect([podVolumeName("stt_models.v2"), podVolumeName("Models")]).toEqual(["vol-stt-models-v2", "vol-models"]);
  });

  it("bounds the rollout by replicas × deadline + stop grace + 60 s", async () => {
    expect(rolloutTimeoutSeconds({ replicas: 1, stopGraceSeconds: 30 }, 600)).toBe(690);
    expect(await valueOf(pulumi.output(rolloutTimeoutSeconds({ replicas: 3, stopGraceSeconds: 0 }, 100)))).toBe(360);
  });
});

const PENDING_LIST = JSON.stringify({
  items: [
    {
      metadata: { name: "stt-dev-7d9f8-x2x4q", labels: { "app.kubernetes.io/instance": "stt-dev" } },
      status: {
        phase: "Pending",
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
          },
        ],
      },
    },
    {
      metadata: { name: "stt-dev-6c5b4-aaaaa" },
      status: { phase: "Running", conditions: [{ type: "PodScheduled", status: "True" }] },
    },
    // Scheduled, still pulling its image: not the scheduler's to explain.
    {
      metadata: { name: "stt-dev-7d9f8-bbbbb" },
      status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "True" }] },
    },
  ],
});

describe("Pending pods during an up", () => {
  it("finds the pods the scheduler cannot place, with its message and their service", () => {
    expect(unschedulablePods(PENDING_LIST)).toEqual([
      {
        pod: "stt-dev-7d9f8-x2x4q",
        instance: "stt-dev",
        reason: "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
      },
    ]);
  });

  it("reports each Pending pod once per message until the rollout is over, then stops", async () => {
    const lines: string[] = [];
    let calls = 0;
    let over!: () => void;
    const until = new Promise<void>((resolve) => (over = resolve));
    const poller = pendingPodsPoller(
      async (args) => {
        expect(args).toEqual([
          "get",
          "pods",
          "-n",
          "speech",
          "-l",
          "app.kubernetes.io/instance in (stt-dev)",
          "-o",
          "json",
        ]);
        if (++calls === 3) over();
        return PENDING_LIST;
      },
      "speech",
      5,
    );
    await poller.watch({ instance: "stt-dev", report: (line) => lines.push(line), until });
    expect(calls).toBe(3);
    expect(lines).toEqual([
      "pod stt-dev-7d9f8-x2x4q is Pending: 0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
    ]);
  });

  it("asks once per round for the pods of every service still rolling out, and reports each under its own", async () => {
    const selectors: string[] = [];
    const lines: Record<string, string[]> = { "stt-dev": [], "tts-dev": [], "asr-dev": [] };
    const ends: Record<string, () => void> = {};
    const until = (instance: string) => new Promise<void>((resolve) => (ends[instance] = resolve));
    const pendingOf = (instance: string) => ({
      metadata: { name: `${instance}-pod`, labels: { "app.kubernetes.io/instance": instance } },
      status: {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", message: `no GPU for ${instance}` }],
      },
    });
    const poller = pendingPodsPoller(
      async (args) => {
        selectors.push(args[5]);
        // Round 2: tts is over; round 3: stt and asr too.
        if (selectors.length === 2) ends["tts-dev"]();
        if (selectors.length === 3) (ends["stt-dev"](), ends["asr-dev"]());
        return JSON.stringify({ items: ["stt-dev", "tts-dev", "asr-dev", "other-dev"].map(pendingOf) });
      },
      "speech",
      5,
    );
    const watched = ["stt-dev", "tts-dev", "asr-dev"].map((instance) =>
      poller.watch({ instance, report: (line) => lines[instance].push(line), until: until(instance) }),
    );
    await Promise.all(watched);
    expect(selectors).toEqual([
      "app.kubernetes.io/instance in (asr-dev,stt-dev,tts-dev)",
      "app.kubernetes.io/instance in (asr-dev,stt-dev,tts-dev)",
      "app.kubernetes.io/instance in (asr-dev,stt-dev)",
    ]);
    for (const instance of ["stt-dev", "tts-dev", "asr-dev"]) {
      expect(lines[instance]).toEqual([`pod ${instance}-pod is Pending: no GPU for ${instance}`]);
    }
    // The loop has ended: a new watch starts it again.
    let over!: () => void;
    const again = poller.watch({ instance: "stt-dev", report: () => {}, until: new Promise<void>((r) => (over = r)) });
    await new Promise((r) => setTimeout(r, 20));
    over();
    await again;
    expect(selectors.length).toBeGreaterThan(3);
    expect(selectors[3]).toBe("app.kubernetes.io/instance in (stt-dev)");
  });

  it("ends every watch when kubectl fails (none on PATH, cluster unreachable)", async () => {
    let calls = 0;
    const poller = pendingPodsPoller(
      async () => {
        calls++;
        throw new Error("spawn kubectl ENOENT");
      },
      "speech",
      5,
    );
    await Promise.all(
      ["stt-dev", "tts-dev"].map((instance) =>
        poller.watch({ instance, report: () => {}, until: new Promise(() => {}) }),
      ),
    );
    expect(calls).toBe(1);
  });

  it("is started by the program for the cluster services in an up, one watch per cluster, never in a preview", async () => {
    const asked: string[] = [];
    const kubectl: Kubectl = async (args) => {
      asked.push(args[5]);
      return JSON.stringify({ items: [] });
    };
    await evaluateMixed(GPU_CLUSTER, false, kubectl);
    // One call for both services of the cluster.
    expect(asked).toEqual(["app.kubernetes.io/instance in (stt-dev,tts-dev)"]);
    asked.length = 0;
    // A preview: every endpoint's ingress given, so that the outputs resolve.
    const ingress = { status: { loadBalancer: { ingress: [{ ip: "10.0.0.51" }] } } };
    await evaluateModel(mixedModel(), {
      config: secretConfig(),
      kubectl,
      outputsOf: { ...LB_INGRESS, "tts-service": ingress },
    });
    expect(asked).toEqual([]);
  });
});
