/**
 * Kubernetes clusters in stack config: the real fixture stack file with a Docker host and a cluster
 * read as the program reads it (the exact model), every refusal by key path and message, and the cluster's fit
 * rule with its reasons.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { StackConfigError } from "../stackConfig";
import { buildModel } from "./buildModel";
import { loadStackModel } from "./load";
import type { DeploymentModel } from "./types";
import { tempDir } from "../test/support/gitRepos";
import { PROJECT_DIR } from "../test/support/harness";

const FIXTURES = path.join(PROJECT_DIR, "test", "fixtures", "cluster");
const FIXTURE = fs.readFileSync(path.join(FIXTURES, "Pulumi.mixed.yaml"), "utf8");
const digest = (c: string) => `sha256:${c.repeat(64)}`;

/** The fixture with `edit` applied, as a stack file in a folder of its own, loaded as the program loads it. */
function loadEdited(edit: (text: string) => string): DeploymentModel {
  const dir = tempDir("cluster");
  const edited = edit(FIXTURE);
  expect(edited, "the edit must change the fixture").not.toBe(FIXTURE);
  fs.writeFileSync(path.join(dir, "Pulumi.mixed.yaml"), edited);
  return loadStackModel("mixed", dir);
}

function problems(build: () => unknown): string[] {
  try {
    build();
  } catch (e) {
    if (e instanceof StackConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  throw new Error("expected a StackConfigError");
}

const IMAGE = { repository: "ghcr.io/jim0237/stt", tag: "v1" };
const HEALTH = { test: ["CMD", "true"] };

/** Stack "dev": host `gpu1` (the local daemon), cluster `k8s` (with `k8s` over its kubernetes block), services. */
function config(services: Record<string, Record<string, unknown>>, k8s: Record<string, unknown> = {}) {
  return {
    hosts: {
      gpu1: { dockerHost: "unix:///var/run/docker.sock" },
      k8s: { kubernetes: { namespace: "speech", ...k8s } },
    },
    services: Object.fromEntries(Object.entries(services).map(([name, s]) => [name, { image: IMAGE, ...s }])),
  };
}
const dev = (raw: unknown) => buildModel(raw, { stack: "dev" });

/** The fixture's stt: 2 replicas and a surge pod mount its managed claim, ReadWriteOnce by default. */
const STT_REASON =
  "stt: blue-green: 1 surge GPU + tts 1 = 2 ≤ 2 spare on cluster-a; " +
  'claim "stt-models" is ReadWriteOnce: its 3 pods at once (2 replicas and a surge pod) must run on the node it ' +
  "is attached to, the surge pod's 1 GPU free there (local-path storage, bound to a node, places them so; on a " +
  "network block store they fail with Multi-Attach: set hosts.cluster-a.kubernetes.volumeAccessMode to " +
  "ReadWriteMany where the storage provides it)";

describe("the fixture stack (test/fixtures/cluster/Pulumi.mixed.yaml): a Docker host and a cluster", () => {
  const model = loadStackModel("mixed", FIXTURES);

  it("keeps the Docker host in hosts and the cluster in clusters", () => {
    expect(model.hosts).toEqual([
      {
        name: "gpu-box",
        dockerHost: "ssh://ops@10.0.0.5",
        address: "10.0.0.5",
        gpus: { count: 2 },
        sshOpts: [],
        registryAuth: [],
      },
    ]);
    expect(model.clusters).toEqual([
      {
        name: "cluster-a",
        context: "prod",
        kubeconfigSecret: "kubeconfig",
        namespace: "speech",
        serviceType: "NodePort",
        address: "10.0.0.9",
        spareGpus: 2,
        storageClassName: "local-path",
        volumeSize: "20Gi",
        volumeAccessMode: "ReadWriteOnce",
        nodePortRange: { from: 30000, to: 32767 },
      },
    ]);
    expect(model.secretNames).toEqual(["hfToken", "kubeconfig"]);
  });

  it("builds the cluster service with its replicas, node placement and the keys it shares with a Docker host's", () => {
    expect(model.services.find((s) => s.name === "stt")).toEqual({
      name: "stt",
      host: "cluster-a",
      containerName: "stt-mixed",
      image: {
        kind: "registry",
        repository: "ghcr.io/jim0237/stt-api-server",
        digest: digest("1"),
        track: false,
        ref: `ghcr.io/jim0237/stt-api-server@${digest("1")}`,
      },
      ports: [{ host: 30060, container: 8000, protocol: "tcp", hostIp: "0.0.0.0" }],
      volumes: [
        {
          name: "stt-models",
          target: "/app/models",
          external: false,
          retainOnDelete: true,
          protect: true,
          readOnly: false,
        },
        {
          name: "stt-cache",
          target: "/app/cache",
          external: true,
          retainOnDelete: true,
          protect: true,
          readOnly: false,
        },
      ],
      env: { STT_DEVICE: "cuda" },
      secretEnv: { HF_TOKEN: "hfToken" },
      gpus: { count: 1, capabilities: ["gpu"] },
      healthcheck: {
        test: ["CMD", "curl", "-f", "http://localhost:8000/health"],
        interval: "30s",
        timeout: "30s",
        retries: 3,
        startPeriod: "60s",
        waitTimeoutSeconds: 60 + 3 * (30 + 30) + 60,
      },
      user: "1000:1000",
      shmSizeBytes: 2 * 2 ** 30,
      ipc: "host",
      labels: {},
      scheme: "http",
      endpoint: { host: 30060, container: 8000, protocol: "tcp", hostIp: "0.0.0.0" },
      stopGraceSeconds: 30,
      release: {
        requested: "auto",
        strategy: "blue-green",
        reason: STT_REASON,
        drainSeconds: 30,
      },
      // Derived from the healthcheck, which makes the pods' probes as before (kubeProbes.ts).
      readiness: {
        kind: "http",
        source: "healthcheck",
        port: 8000,
        scheme: "http",
        method: "GET",
        path: "/health",
        headers: {},
        expectStatus: [],
        timeoutMs: 10000,
        intervalMs: 1000,
        passes: 2,
      },
      // What only a Docker host has (binds, shareGpu, restart, ulimits, hold) is no key of a cluster's service.
      replicas: 2,
      // The scheduler places the pods: no copy names a GPU.
      copies: [{ index: 0 }, { index: 1 }],
      runsOn: "kubernetes",
      scheduling: {
        // Sorted by key, as every map of the model.
        nodeSelector: { "kubernetes.io/arch": "amd64", "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" },
        tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
        runtimeClassName: "nvidia",
      },
    });
  });

  it("keeps the Docker service as it was: runsOn docker, one copy on the service's GPUs, no scheduling", () => {
    const asr = model.services.find((s) => s.name === "asr")!;
    expect(asr).toMatchObject({ host: "gpu-box", runsOn: "docker", restart: "unless-stopped" });
    expect(asr).toMatchObject({ replicas: 1, copies: [{ index: 0 }] });
    expect("scheduling" in asr).toBe(false);
  });

  it("resolves each release by the cluster's fit rule, with its reason", () => {
    expect(model.services.map((s) => [s.runsOn, s.release.strategy, s.release.reason])).toEqual([
      ["docker", "stop-then-start", "asr: stop-then-start: no switch: gpu-services:switch is not set"],
      ["kubernetes", "blue-green", STT_REASON],
      ["kubernetes", "blue-green", "tts: blue-green: 1 surge GPU = 1 ≤ 2 spare on cluster-a"],
      ["kubernetes", "stop-then-start", "vad: stop-then-start: 1 surge GPU + stt 1 + tts 1 = 3 > 2 spare on cluster-a"],
      ["kubernetes", "blue-green", "web: blue-green: no GPU"],
    ]);
  });

  it("a missing scheduling is absent, an empty one too; defaults of the cluster are filled", () => {
    const m = loadEdited((t) =>
      t
        .replace(/\n      scheduling:\n(?: {8}.*\n)+/, "\n      scheduling: {}\n")
        .replace(
          /\n        context: prod\n        kubeconfigSecret: kubeconfig\n        serviceType: NodePort\n        spareGpus: 2\n        storageClassName: local-path\n        volumeSize: 20Gi\n      address: 10.0.0.9\n/,
          "\n",
        ),
    );
    expect(m.clusters).toEqual([
      {
        name: "cluster-a",
        namespace: "speech",
        serviceType: "LoadBalancer",
        volumeSize: "10Gi",
        volumeAccessMode: "ReadWriteOnce",
        nodePortRange: { from: 30000, to: 32767 },
      },
    ]);
    expect("scheduling" in m.services.find((s) => s.name === "stt")!).toBe(false);
    expect(m.services.find((s) => s.name === "vad")!.release.reason).toBe(
      "vad: stop-then-start: cluster-a: spareGpus is not set",
    );
  });
});

describe("refusals on a cluster service, all at once, each by key path with the way out", () => {
  it("reads them from the stack file: the keys only a Docker host has (binds, ulimits, restart) first, then build, deviceIds, ipc, user", () => {
    const bad = (t: string) =>
      t
        .replace(
          "      image:\n        repository: ghcr.io/jim0237/vad\n        digest: sha256:3333333333333333333333333333333333333333333333333333333333333333\n",
          "      build:\n        context: https://github.com/jim0237/vad.git\n        ref: main\n" +
            "      binds:\n        - source: /srv/vad\n          target: /data\n" +
            "      ulimits:\n        memlock: -1\n      ipc: private\n      user: vad\n      restart: on-failure\n",
        )
        .replace(
          "      gpus:\n        count: 1\n      healthcheck:\n        test: [CMD, curl, -f, http://localhost:8000/health]\n    web:",
          '      gpus:\n        deviceIds: ["0"]\n      healthcheck:\n        test: [CMD, curl, -f, http://localhost:8000/health]\n    web:',
        );
    expect(problems(() => loadEdited(bad))).toEqual([
      'services.vad.binds: host "cluster-a" is a cluster, whose pods have no host folders to bind: use a volume ' +
        "(volumes[]: a PersistentVolumeClaim), or run the service on a Docker host",
      'services.vad.ulimits: host "cluster-a" is a cluster, and Kubernetes has no per-container ulimits: remove it ' +
        "(the nodes' container runtime sets them), or run the service on a Docker host",
      'services.vad.restart: host "cluster-a" is a cluster, whose pods are always restarted: use unless-stopped or ' +
        'always (got "on-failure")',
      'services.vad.build: host "cluster-a" is a cluster, which does not build images: publish the image with ' +
        "examples/service-publish.yml (or any registry push), then give image: {repository, digest} instead of " +
        "build:, or run the service on a Docker host",
      'services.vad.gpus.deviceIds: host "cluster-a" is a cluster, where the NVIDIA device plugin picks the GPUs: ' +
        "give gpus.count (a number) instead",
      'services.vad.ipc: host "cluster-a" is a cluster, where ipc may only be host (hostIPC); remove it for the ' +
        'pod\'s own IPC namespace (got "private")',
      'services.vad.user: host "cluster-a" is a cluster, which runs a pod as a numeric uid or uid:gid ' +
        '(securityContext.runAsUser, runAsGroup): give the numbers (got "vad")',
    ]);
  });

  it('shareGpu, gpus.count "all", hostIp, names Kubernetes does not take; the pins of a refused build are not repeated', () => {
    const raw = config({
      stt: {
        host: "k8s",
        gpus: { count: "all" },
        shareGpu: true,
        ports: [{ host: 8060, container: 8000, hostIp: "127.0.0.1" }],
        volumes: [{ name: "stt_models", target: "/models" }],
        labels: { "com.example/a/b": "x", "ok.example.com/fine": "y" },
        containerName: "STT",
      },
      tts: { host: "k8s", image: undefined, build: { context: "/src/tts" } },
    });
    expect(problems(() => buildModel({ ...raw, requirePinnedImages: true }, { stack: "Dev_1" }))).toEqual([
      'services.stt.shareGpu: host "k8s" is a cluster, where each pod gets its GPUs for itself; sharing a GPU is ' +
        "the device plugin's (time-slicing, MPS): remove it, or run the service on a Docker host",
      'services.stt.gpus.count: host "k8s" is a cluster, where a pod gets the number of GPUs it asks for ' +
        '(resources.limits["nvidia.com/gpu"]): give a number instead of "all"',
      'services.stt.ports[0].hostIp: host "k8s" is a cluster, whose Services listen where the cluster puts them: ' +
        'remove hostIp (got "127.0.0.1")',
      'services.stt.volumes[0].name: host "k8s" is a cluster, where a volume is a PersistentVolumeClaim of that ' +
        'name, which must be a DNS-1123 name: lowercase letters, digits, - and ., at most 253 (got "stt_models")',
      'services.stt.labels["com.example/a/b"]: host "k8s" is a cluster, where labels are pod annotations, whose ' +
        "keys are [prefix/]name: the name at most 63 letters, digits, - _ . with a letter or digit at each end, the " +
        "prefix a DNS-1123 name",
      'services.stt.containerName: host "k8s" is a cluster, where "STT" names a Deployment and a Service, which ' +
        "must be a DNS-1035 label: at most 63 lowercase letters, digits and -, a letter first and no - last; set " +
        "containerName to one",
      'services.tts.build: host "k8s" is a cluster, which does not build images: publish the image with ' +
        "examples/service-publish.yml (or any registry push), then give image: {repository, digest} instead of " +
        "build:, or run the service on a Docker host",
      'services.tts.containerName: host "k8s" is a cluster, where its default name "tts-Dev_1" names a ' +
        "Deployment and a Service, which must be a DNS-1035 label: at most 63 lowercase letters, digits and -, a " +
        "letter first and no - last; set containerName to one",
      // Not "requires pinned images: build from a git URL …" for tts's local build as well: the build is refused.
    ]);
  });

  it("the stack's pins hold on a cluster as on a Docker host (requirePinnedImages)", () => {
    expect(
      problems(() => loadEdited((t) => t.replace(`        digest: ${digest("4")}\n`, "        tag: latest\n"))),
    ).toEqual([
      'services.web.image.tag: "latest" is a floating tag and this stack requires pinned images ' +
        "(requirePinnedImages): give image.digest (sha256:...) or a fixed tag such as sha-<commit>",
    ]);
  });

  it("scheduling on a Docker host (replicas are its copies there)", () => {
    expect(
      problems(() => dev(config({ asr: { host: "gpu1", replicas: 2, scheduling: { runtimeClassName: "nvidia" } } }))),
    ).toEqual([
      'services.asr.scheduling: is for clusters only: host "gpu1" is a Docker host, which has no nodes to place ' +
        "pods on; remove it, or move the service to a cluster (a host with a kubernetes block)",
      "services.asr.replicas: 2 copies share the service's ports through the switch, and gpu-services:switch is " +
        "not set: set gpu-services:switch, or set replicas to 1",
    ]);
  });

  it("the shapes of replicas and scheduling", () => {
    expect(
      problems(() =>
        dev(
          config({
            stt: {
              host: "k8s",
              replicas: 0,
              scheduling: {
                nodeSelector: { "nvidia.com/gpu.product": "NVIDIA H100", "-bad": "x" },
                tolerations: [
                  { key: "nvidia.com/gpu", operator: "Exists", value: "true" },
                  { operator: "Equal", value: "x" },
                  { key: "a", effect: "Sometimes", tolerationSeconds: 5 },
                ],
                runtimeClassName: "NVIDIA",
                affinity: {},
              },
            },
          }),
        ),
      ),
    ).toEqual([
      "services.stt.replicas: must be a whole number of copies from 1 to 1000 (got 0)",
      'services.stt.scheduling.nodeSelector["nvidia.com/gpu.product"]: must be a Kubernetes label value: empty or ' +
        'at most 63 letters, digits, - _ ., a letter or digit at each end (got "NVIDIA H100")',
      'services.stt.scheduling.nodeSelector["-bad"]: must be a Kubernetes label key: [prefix/]name, the name at ' +
        "most 63 letters, digits, - _ .",
      "services.stt.scheduling.tolerations[0].value: must not be set with operator Exists (it tolerates every " +
        "value of the key)",
      "services.stt.scheduling.tolerations[1].operator: must be Exists when no key is given (a toleration of every " +
        "taint)",
      "services.stt.scheduling.tolerations[2].effect: must be one of NoSchedule, PreferNoSchedule, NoExecute " +
        '(got "Sometimes")',
      "services.stt.scheduling.tolerations[2].tolerationSeconds: unknown key; allowed here: key, operator, value, effect",
      "services.stt.scheduling.runtimeClassName: must be a RuntimeClass name: lowercase letters, digits, - and ., " +
        'at most 253 (got "NVIDIA")',
      "services.stt.scheduling.affinity: unknown key; allowed here: nodeSelector, tolerations, runtimeClassName",
    ]);
  });
});

describe("hosts: exactly one of dockerHost and kubernetes; a cluster's own keys", () => {
  it("refuses both, neither, and the Docker-only keys on a cluster", () => {
    const raw = {
      hosts: {
        both: { dockerHost: "unix:///var/run/docker.sock", kubernetes: { namespace: "a" } },
        neither: { address: "10.0.0.1" },
        k8s: {
          kubernetes: { namespace: "speech" },
          gpus: { count: 2, devices: [{ id: "0" }, { id: "1" }] },
          sshOpts: ["-p", "2222"],
          registryAuth: [{ address: "ghcr.io", username: "u", passwordSecret: "t" }],
        },
      },
      services: {},
    };
    expect(problems(() => dev(raw))).toEqual([
      "hosts.both.kubernetes: give exactly one of dockerHost (a Docker host) and kubernetes (a cluster), not both",
      "hosts.neither: give exactly one of dockerHost (a Docker host) and kubernetes (a cluster); neither is set",
      "hosts.k8s.gpus: is for Docker hosts: a cluster's scheduler counts the GPUs its nodes advertise " +
        "(nvidia.com/gpu) and the device plugin picks them; remove it, and give kubernetes.spareGpus for surge pods",
      "hosts.k8s.sshOpts: is for Docker hosts reached over ssh: a cluster is reached through its kubeconfig; remove it",
      "hosts.k8s.registryAuth: is for Docker hosts: a cluster pulls with its own credentials; give the namespace's " +
        "default ServiceAccount an imagePullSecret, and remove it",
    ]);
  });

  it("checks the kubernetes block's values, and that kubeconfigSecret names a secret", () => {
    const raw = {
      secrets: { other: "x" },
      hosts: {
        a: {
          kubernetes: {
            namespace: "Speech",
            serviceType: "ClusterIP",
            spareGpus: -1,
            storageClassName: "Local_Path",
            volumeSize: "10GB",
            kubeconfig: "~/.kube/config",
          },
        },
        b: { kubernetes: { namespace: "speech", volumeSize: "0Gi", context: "" } },
        c: { kubernetes: { namespace: "speech", kubeconfigSecret: "kubeconfig" } },
        d: { kubernetes: {} },
      },
      services: {},
    };
    expect(problems(() => buildModel(raw, { stack: "dev", secretKeys: new Set(["secrets"]) }))).toEqual([
      "hosts.a.kubernetes.namespace: must be a Kubernetes namespace name: at most 63 lowercase letters, digits and " +
        '-, a letter or digit at each end (got "Speech")',
      'hosts.a.kubernetes.serviceType: must be one of LoadBalancer, NodePort (got "ClusterIP")',
      "hosts.a.kubernetes.spareGpus: must be a whole number of GPUs, 0 or more (got -1)",
      "hosts.a.kubernetes.storageClassName: must be a storage class name: lowercase letters, digits, - and ., at " +
        'most 253 (got "Local_Path")',
      'hosts.a.kubernetes.volumeSize: must be a Kubernetes quantity such as 10Gi or 500Mi (got "10GB")',
      "hosts.a.kubernetes.kubeconfig: unknown key; allowed here: namespace, context, kubeconfigSecret, " +
        "serviceType, spareGpus, storageClassName, volumeSize, volumeAccessMode, nodePortRange",
      'hosts.b.kubernetes.context: must name a context of the kubeconfig (got "")',
      'hosts.b.kubernetes.volumeSize: must be a size above 0, such as 10Gi or 500Mi (got "0Gi")',
      "hosts.d.kubernetes.namespace: is required: a string",
      'hosts.c.kubernetes.kubeconfigSecret: no secret "kubeconfig" in secrets; set it to the whole kubeconfig ' +
        "with: pulumi config set --secret --path 'secrets.kubeconfig' < kubeconfig.yaml, or remove " +
        "kubeconfigSecret to use the operator's kubeconfig",
    ]);
  });
});

describe("rules across one cluster's services", () => {
  it("NodePort: a port number once per cluster, whatever the protocol; names in the namespace once", () => {
    const raw = config(
      {
        a: { host: "k8s", ports: [{ host: 30080, container: 80 }], volumes: [{ name: "models", target: "/m" }] },
        b: {
          host: "k8s",
          containerName: "a-dev",
          ports: [{ host: 30080, container: 53, protocol: "udp" }],
          volumes: [{ name: "models", target: "/m" }],
        },
        // The same numbers on the Docker host clash with nothing on the cluster.
        c: { host: "gpu1", ports: [{ host: 30080, container: 80 }], volumes: [{ name: "models", target: "/m" }] },
      },
      { serviceType: "NodePort" },
    );
    expect(problems(() => dev(raw))).toEqual([
      'services.b.containerName: "a-dev" on cluster "k8s" (namespace speech) is already the Deployment and ' +
        "Service of services.a; set another containerName",
      'services.b.volumes[0].name: claim "models" on cluster "k8s" (namespace speech) is already managed by ' +
        "services.a.volumes[0]; mark the second use external: true to share it",
      'services.b.ports[0].host: node port 30080 on cluster "k8s" (namespace speech) is already taken by ' +
        "services.a.ports[0] (serviceType NodePort: a node port is used once per cluster, whatever the protocol); " +
        "give another port number, or use serviceType LoadBalancer",
    ]);
  });

  it("NodePort: a port number outside the cluster's node port range (default 30000-32767, or nodePortRange)", () => {
    const services = {
      a: { host: "k8s", ports: [{ host: 8060, container: 8000 }] },
      b: { host: "k8s", ports: [{ host: 30060, container: 8000 }] },
    };
    expect(problems(() => dev(config(services, { serviceType: "NodePort" })))).toEqual([
      'services.a.ports[0].host: node port 8060 is outside the node port range of cluster "k8s" (namespace ' +
        "speech), 30000-32767 (serviceType NodePort: the node port is the port number, and the API server refuses " +
        "one outside its range): give a port in it, set hosts.k8s.kubernetes.nodePortRange to the cluster's " +
        "--service-node-port-range, or use serviceType LoadBalancer",
    ]);
    const wide = dev(config(services, { serviceType: "NodePort", nodePortRange: "1-65535" }));
    expect(wide.clusters[0].nodePortRange).toEqual({ from: 1, to: 65535 });
    expect(problems(() => dev(config(services, { serviceType: "NodePort", nodePortRange: "9000-80" })))).toEqual([
      'hosts.k8s.kubernetes.nodePortRange: must be from-to with 1 ≤ from ≤ to ≤ 65535 (got "9000-80")',
    ]);
    // On LoadBalancer the range does not apply.
    expect(dev(config(services)).clusters[0].nodePortRange).toEqual({ from: 30000, to: 32767 });
  });

  it("a tracked tag: a Deployment does not roll when a tag moves", () => {
    const raw = config({ a: { host: "k8s", image: { ...IMAGE, track: true } } });
    expect(problems(() => dev(raw))).toEqual([
      'services.a.image.track: host "k8s" is a cluster, whose Deployment rolls only when its pod template ' +
        "changes, not when a tag moves: pin a digest (npm run release -- release <stack> <service> <tag> writes " +
        "it), or run the service on a Docker host",
    ]);
  });

  it("LoadBalancer: each Service has its own address, so the same port numbers do not clash", () => {
    const m = dev(
      config({
        a: { host: "k8s", ports: [{ host: 8080, container: 80 }] },
        b: { host: "k8s", ports: [{ host: 8080, container: 80 }] },
      }),
    );
    expect(m.services.map((s) => s.ports[0].host)).toEqual([8080, 8080]);
  });

  it("the Docker host's GPU count and the switch's udp rule are the Docker host's: cluster services do not count", () => {
    const raw = {
      ...config({
        a: { host: "gpu1", gpus: { count: 1 } },
        b: { host: "k8s", gpus: { count: 4 }, ports: [{ host: 5353, container: 53, protocol: "udp" }] },
      }),
      switch: { image: { repository: "ghcr.io/jim0237/gpu-switch", tag: "v1" } },
    };
    raw.hosts.gpu1 = { ...raw.hosts.gpu1, gpus: 1 } as typeof raw.hosts.gpu1;
    const m = dev(raw);
    expect(m.services.map((s) => s.release.reason)).toEqual([
      "a: stop-then-start: no healthcheck: services.a.healthcheck is not set (blue-green waits for a healthy copy)",
      "b: stop-then-start: no healthcheck: services.b.healthcheck is not set (a rolling update waits for a ready pod)",
    ]);
  });

  it("a neighbour stack with a cluster is checked on its Docker hosts only", () => {
    const dir = tempDir("cluster-neighbours");
    fs.writeFileSync(
      path.join(dir, "Pulumi.mixed.yaml"),
      FIXTURE.replace("  gpu-services:hosts:\n", "  gpu-services:sharesHostsWith: [other]\n  gpu-services:hosts:\n"),
    );
    // The neighbour takes the Docker host's other GPU and port 8071; its cluster service has port 8070, as asr.
    fs.writeFileSync(
      path.join(dir, "Pulumi.other.yaml"),
      [
        "config:",
        "  gpu-services:hosts:",
        "    gpu-box: {dockerHost: ssh://ops@10.0.0.5}",
        "    cluster-a: {kubernetes: {namespace: speech}}",
        "  gpu-services:services:",
        "    asr2: {host: gpu-box, image: {repository: nginx, tag: '1.27'}, ports: [{host: 8071, container: 80}], gpus: {count: 1}}",
        "    stt: {host: cluster-a, image: {repository: nginx, tag: '1.27'}, ports: [{host: 8070, container: 80}], gpus: {count: 4}}",
        "",
      ].join("\n"),
    );
    const m = loadStackModel("mixed", dir);
    expect(m.sharesHostsWith).toEqual(["other"]);
    expect(m.services.map((s) => s.name)).toEqual(["asr", "stt", "tts", "vad", "web"]);
    // Its Docker service is checked against this stack's: the same port on the shared Docker host is refused. Its
    // cluster service clashes with nothing and takes none of gpu-box's 2 GPUs (else 1 + 1 + 4 > 2 would be refused).
    const clash = (text: string) =>
      text.replace("ports: [{host: 8071, container: 80}]", "ports: [{host: 8070, container: 80}]");
    fs.writeFileSync(
      path.join(dir, "Pulumi.other.yaml"),
      clash(fs.readFileSync(path.join(dir, "Pulumi.other.yaml"), "utf8")),
    );
    expect(problems(() => loadStackModel("mixed", dir))).toEqual([
      'services.asr.ports[0].host: host port 8070/tcp on host "gpu-box" (ssh://ops@10.0.0.5) is already published ' +
        'by stack "other" (services.asr2.ports[0])',
    ]);
  });
});

describe("the cluster's fit rule", () => {
  const onK8s = (s: Record<string, unknown>) => ({ host: "k8s", healthcheck: HEALTH, ...s });
  const reasons = (services: Record<string, Record<string, unknown>>, k8s: Record<string, unknown> = {}) =>
    dev(config(Object.fromEntries(Object.entries(services).map(([n, s]) => [n, onK8s(s)])), k8s)).services.map(
      (s) => s.release.reason,
    );

  it("needs no switch; spareGpus decides for GPU services, in name order, each surge pod counted", () => {
    expect(
      reasons(
        { a: { gpus: { count: 2 } }, b: { gpus: { count: 1 } }, c: { gpus: { count: 2 } }, d: {} },
        { spareGpus: 3 },
      ),
    ).toEqual([
      "a: blue-green: 2 surge GPUs = 2 ≤ 3 spare on k8s",
      "b: blue-green: 1 surge GPU + a 2 = 3 ≤ 3 spare on k8s",
      "c: stop-then-start: 2 surge GPUs + a 2 + b 1 = 5 > 3 spare on k8s",
      "d: blue-green: no GPU",
    ]);
  });

  it("without spareGpus a GPU service is recreated; without a healthcheck nothing rolls; asked for is kept", () => {
    expect(
      reasons({
        a: { gpus: { count: 1 } },
        b: { healthcheck: undefined },
        c: { gpus: { count: 1 }, release: { strategy: "stop-then-start" } },
        d: { gpus: { count: 1 }, release: { strategy: "blue-green" } },
      }),
    ).toEqual([
      "a: stop-then-start: k8s: spareGpus is not set",
      "b: stop-then-start: no healthcheck: services.b.healthcheck is not set (a rolling update waits for a ready pod)",
      "c: stop-then-start: asked for (services.c.release.strategy)",
      "d: blue-green: asked for (services.d.release.strategy); k8s: spareGpus is not set, so the surge pod waits for " +
        "a GPU the scheduler finds",
    ]);
  });

  it("spareGpus 0: no GPU service rolls; an explicit blue-green counts before every auto", () => {
    expect(reasons({ a: { gpus: { count: 1 } } }, { spareGpus: 0 })).toEqual([
      "a: stop-then-start: 1 surge GPU = 1 > 0 spare on k8s",
    ]);
    expect(
      reasons(
        { a: { gpus: { count: 1 } }, z: { gpus: { count: 1 }, release: { strategy: "blue-green" } } },
        { spareGpus: 1 },
      ),
    ).toEqual([
      "a: stop-then-start: 1 surge GPU + z 1 = 2 > 1 spare on k8s",
      "z: blue-green: 1 surge GPU = 1 ≤ 1 spare on k8s",
    ]);
  });

  it("refuses an explicit blue-green without a healthcheck, or whose surge pods do not fit the declared spare GPUs", () => {
    expect(
      problems(() =>
        dev(
          config(
            {
              a: onK8s({ healthcheck: undefined, release: { strategy: "blue-green" } }),
              b: onK8s({ gpus: { count: 2 }, release: { strategy: "blue-green" } }),
              c: onK8s({ gpus: { count: 1 }, release: { strategy: "blue-green" } }),
            },
            { spareGpus: 2 },
          ),
        ),
      ),
    ).toEqual([
      "services.a.release.strategy: blue-green needs a healthcheck: set services.a.healthcheck (a rolling update " +
        "moves traffic only to a ready pod), or set it to auto or stop-then-start",
      "services.b.release.strategy: blue-green does not fit its surge pod: 2 surge GPUs + c 1 = 3 > 2 spare on k8s; " +
        "every blue-green service may surge one pod in the same up; ask for fewer GPUs, raise " +
        "hosts.k8s.kubernetes.spareGpus, or set it to auto or stop-then-start",
      "services.c.release.strategy: blue-green does not fit its surge pod: 1 surge GPU + b 2 = 3 > 2 spare on k8s; " +
        "every blue-green service may surge one pod in the same up; ask for fewer GPUs, raise " +
        "hosts.k8s.kubernetes.spareGpus, or set it to auto or stop-then-start",
    ]);
  });
});

describe("the claims' access mode (hosts.<h>.kubernetes.volumeAccessMode)", () => {
  const models = [{ name: "models", target: "/m" }];
  const onK8s = (s: Record<string, unknown>) => ({ host: "k8s", healthcheck: HEALTH, volumes: models, ...s });
  const build = (services: Record<string, Record<string, unknown>>, k8s: Record<string, unknown>) =>
    dev(config(Object.fromEntries(Object.entries(services).map(([n, s]) => [n, onK8s(s)])), k8s));

  it("ReadWriteOnce (the default): where more than one pod mounts a managed claim at once, the reason says where they run", () => {
    const m = build(
      {
        a: { gpus: { count: 2 }, replicas: 1 },
        b: { replicas: 2, release: { strategy: "stop-then-start" }, volumes: [{ name: "b-models", target: "/m" }] },
        c: { replicas: 1, release: { strategy: "stop-then-start" }, volumes: [{ name: "c-models", target: "/m" }] },
        d: { replicas: 3, volumes: [{ name: "models", target: "/m", external: true }] },
      },
      { spareGpus: 2 },
    );
    expect(m.clusters[0].volumeAccessMode).toBe("ReadWriteOnce");
    expect(m.services.map((s) => s.release.reason)).toEqual([
      'a: blue-green: 2 surge GPUs = 2 ≤ 2 spare on k8s; claim "models" is ReadWriteOnce: its 2 pods at once ' +
        "(1 replica and a surge pod) must run on the node it is attached to, the surge pod's 2 GPUs free there " +
        "(local-path storage, bound to a node, places them so; on a network block store they fail with " +
        "Multi-Attach: set hosts.k8s.kubernetes.volumeAccessMode to ReadWriteMany where the storage provides it)",
      'b: stop-then-start: asked for (services.b.release.strategy); claim "b-models" is ReadWriteOnce: its 2 pods ' +
        "at once (2 replicas) must run on the node it is attached to (local-path storage, bound to a node, places " +
        "them so; on a network block store they fail with Multi-Attach: set hosts.k8s.kubernetes.volumeAccessMode " +
        "to ReadWriteMany where the storage provides it)",
      // One pod at a time, or only an external claim (whose access mode is the claim's own): nothing to say.
      "c: stop-then-start: asked for (services.c.release.strategy)",
      "d: blue-green: no GPU",
    ]);
  });

  it("ReadWriteMany: pods on any nodes, nothing to say", () => {
    const m = build({ a: { gpus: { count: 1 }, replicas: 2 } }, { spareGpus: 1, volumeAccessMode: "ReadWriteMany" });
    expect(m.services[0].release.reason).toBe("a: blue-green: 1 surge GPU = 1 ≤ 1 spare on k8s");
  });

  it("ReadWriteOncePod: auto recreates, since a surge pod could not mount the claim", () => {
    const m = build(
      { a: { gpus: { count: 1 } }, b: { volumes: [{ name: "b-models", target: "/m" }] } },
      { spareGpus: 4, volumeAccessMode: "ReadWriteOncePod" },
    );
    expect(m.services.map((s) => s.release.reason)).toEqual([
      'a: stop-then-start: claim "models" is ReadWriteOncePod on k8s (one pod at a time: no surge pod)',
      'b: stop-then-start: claim "b-models" is ReadWriteOncePod on k8s (one pod at a time: no surge pod)',
    ]);
  });

  it("ReadWriteOncePod: a second pod on a claim is refused (replicas, blue-green, a claim shared), by key path", () => {
    const raw = config(
      {
        a: onK8s({ replicas: 2 }),
        b: onK8s({ release: { strategy: "blue-green" }, volumes: [{ name: "b-models", target: "/m" }] }),
        c: onK8s({ volumes: [{ name: "models", target: "/m", external: true }] }),
      },
      { volumeAccessMode: "ReadWriteOncePod" },
    );
    const mode = "hosts.k8s.kubernetes.volumeAccessMode";
    const onePod = `${mode} is ReadWriteOncePod, which lets one pod at a time mount a claim`;
    expect(problems(() => dev(raw))).toEqual([
      `services.a.replicas: 2 pods cannot all mount claim "models": ${onePod}; set replicas to 1, or set ${mode} ` +
        "to ReadWriteMany (storage that provides it) or ReadWriteOnce (pods on one node)",
      'services.c.volumes[0].external: claim "models" is managed by services.a on cluster "k8s" (namespace speech), ' +
        `and ${onePod}: the pods of both services cannot mount it; give this service a claim of its own, or set ` +
        `${mode} to ReadWriteMany or ReadWriteOnce`,
      'services.b.release.strategy: blue-green cannot roll: its surge pod would mount claim "b-models" beside the ' +
        `old pod, and ${onePod}; set it to auto or stop-then-start, or set volumeAccessMode to ReadWriteMany ` +
        "(storage that provides it) or ReadWriteOnce",
    ]);
  });

  it("refuses a mode the API server does not take", () => {
    expect(problems(() => dev(config({}, { volumeAccessMode: "RWX" })))).toEqual([
      'hosts.k8s.kubernetes.volumeAccessMode: must be one of ReadWriteOnce, ReadWriteOncePod, ReadWriteMany (got "RWX")',
    ]);
  });
});
