/**
 * A real Kubernetes control plane on 127.0.0.1 for the e2e, from the binaries stage 5 of scripts/pulumi-toolchain
 * builds: etcd, kube-apiserver (a serving certificate and an admin client certificate from a throwaway CA made
 * with openssl), kube-controller-manager, kube-scheduler, and kwok, which keeps fake Node objects Ready and
 * marks the pods the scheduler binds to them Running and Ready, without a kubelet. Each lab has its own folder,
 * free ports and etcd, so runs do not clash.
 *
 * What kwok does not do, the lab does, so that the kubernetes provider's awaits are met and not skipped:
 * - a PersistentVolumeClaim is bound by the controller manager's binder to a static hostPath PersistentVolume
 *   the lab makes (`volumes`, `addVolumes`) in a StorageClass of that name (no provisioner, Immediate binding);
 * - a Service of type LoadBalancer gets `.status.loadBalancer.ingress` from the lab's own watch loop, which acts
 *   as a cloud's load-balancer controller (`loadBalancerAddress`, 127.0.0.1 by default).
 * The Endpoints and EndpointSlices of a Service are the controller manager's, from the pods kwok marks Ready
 * (their IPs come from kwok's `--cidr`, 198.18.0.0/16, a benchmarking range nothing here sends traffic to).
 *
 * Not exercised (kwok runs no containers): images, commands, probes, volumes' contents and GPUs. The Docker
 * e2e covers those.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { freePort } from "./docker";
import { tempDir } from "../support/gitRepos";
import { toolchainBin } from "./workspace";

/** What the lab runs, from the toolchain's bin folder (scripts/pulumi-toolchain, stage 5). */
export const KUBE_LAB_TOOLS = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
  "kwok",
  "kwok-stages.yaml",
] as const;

/** The annotation kwok is told to manage nodes by. */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";

/** A pod as the lab's API gives it, the fields the e2e and the bench read. */
export interface Pod {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { image: string; resources?: { limits?: Record<string, string> } }[] };
  status: { phase: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export interface NodeOptions {
  /** `nvidia.com/gpu` in each node's capacity and allocatable. Default: the lab's `gpusPerNode`. */
  readonly gpus?: number;
  /** Labels besides the usual ones (`kubernetes.io/hostname`, `kubernetes.io/os`, `type: kwok`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Taints, e.g. `{ key: "nvidia.com/gpu", effect: "NoSchedule" }`. Default: none. */
  readonly taints?: readonly { key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
  /** Node cpu and memory capacity. Default: 32 cpus, 256Gi, 110 pods. */
  readonly cpu?: string;
  readonly memory?: string;
}

export interface VolumeOptions {
  /** The StorageClass the volumes are in (made if missing: no provisioner, Immediate binding). */
  readonly storageClassName: string;
  /** How many PersistentVolumes. */
  readonly count: number;
  /** Each one's capacity. Default 100Gi (a claim binds to a volume at least its size). */
  readonly size?: string;
}

export interface KubeLabOptions {
  /** Fake nodes to start with. Default 2. */
  readonly nodes?: number;
  /** `nvidia.com/gpu` per node. Default 2. */
  readonly gpusPerNode?: number;
  /** The nodes' labels, taints and size (see `NodeOptions`). */
  readonly node?: NodeOptions;
  /** Node names are `<nodePrefix>-<n>`, n from 0. Default "gpu-node". */
  readonly nodePrefix?: string;
  /** Namespaces to create (the program does not create its namespace). Default: none besides `default`. */
  readonly namespaces?: readonly string[];
  /** Static PersistentVolumes to make at the start. Default: none. */
  readonly volumes?: VolumeOptions;
  /** What the lab's load-balancer controller writes as each LoadBalancer Service's ingress IP. Default 127.0.0.1. */
  readonly loadBalancerAddress?: string;
  /** The kubeconfig context's name. Default "gpu-lab". */
  readonly context?: string;
  /** Where the binaries are. Default: the toolchain's bin folder. */
  readonly bin?: string;
}

export interface KubeLab {
  /** The lab's folder: certificates, logs (`<component>.log`), etcd's data, hostPath volumes. */
  readonly dir: string;
  /** An admin kubeconfig with the certificates inline (so it can also be a stack secret), and its context. */
  readonly kubeconfig: string;
  readonly context: string;
  /** The kube-apiserver's URL, https://127.0.0.1:<port>. */
  readonly server: string;
  readonly loadBalancerAddress: string;
  /** The names of the nodes made so far. */
  readonly nodes: readonly string[];
  /** kubectl with the lab's kubeconfig; its stdout, or an error with its stderr. */
  kubectl(args: readonly string[], input?: string): string;
  /** `kubectl … -o json`, parsed. */
  kubectlJson<T = any>(args: readonly string[]): T;
  /** An API request as the admin (JSON in and out); `contentType` for PATCH. */
  api<T = any>(method: string, urlPath: string, body?: unknown, contentType?: string): Promise<T>;
  /** Make `count` more fake nodes and wait until kwok has them Ready; returns their names. */
  addNodes(count: number, options?: NodeOptions): Promise<string[]>;
  /** Make static PersistentVolumes; returns their names. */
  addVolumes(options: VolumeOptions): Promise<string[]>;
  /** Stop every process (the load-balancer loop first) and remove the folder. */
  stop(): Promise<void>;
}

interface Component {
  readonly name: string;
  readonly child: ChildProcess;
  exited?: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA, a serving certificate for 127.0.0.1 signed by it, an admin client certificate, a service-account key. */
function makeCertificates(dir: string): void {
  openssl(
    dir,
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt"].concat([
      "-days",
      "7",
      "-subj",
      "/CN=gpu-services-kube-lab-ca",
    ]),
  );
  const sign = (name: string, subject: string, ext: string) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      subject,
    ]);
    openssl(
      dir,
      ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"].concat([
        "-days",
        "7",
        "-extfile",
        `${name}.ext`,
        "-out",
        `${name}.crt`,
      ]),
    );
  };
  // 10.96.0.1: the `kubernetes` Service's ClusterIP in --service-cluster-ip-range (no traffic goes to it here).
  sign(
    "apiserver",
    "/CN=kube-apiserver",
    "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default.svc\n" +
      "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
  );
  // system:masters: the admin, and the identity of the controller manager, scheduler and kwok.
  sign(
    "admin",
    "/O=system:masters/CN=gpu-services-lab-admin",
    "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
  );
  openssl(dir, ["genrsa", "-out", "sa.key", "2048"]);
  openssl(dir, ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
}

function kubeconfigText(dir: string, server: string, context: string): string {
  const b64 = (file: string) => fs.readFileSync(path.join(dir, file)).toString("base64");
  return `apiVersion: v1
kind: Config
clusters:
  - name: ${context}
    cluster:
      server: ${server}
      certificate-authority-data: ${b64("ca.crt")}
users:
  - name: ${context}-admin
    user:
      client-certificate-data: ${b64("admin.crt")}
      client-key-data: ${b64("admin.key")}
contexts:
  - name: ${context}
    context:
      cluster: ${context}
      user: ${context}-admin
      namespace: default
current-context: ${context}
`;
}

/** kwok's configuration: parallelism set (kwok run bare has none of kwokctl's defaults), then its stages. */
function kwokConfigText(stages: string): string {
  return `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  podPlayStageParallelism: 8
  nodePlayStageParallelism: 8
  nodeLeaseParallelism: 8
  podsOnNodeSyncParallelism: 4
  enablePodsOnNodeSyncListPager: true
  enablePodsOnNodeSyncStreamWatch: false
---
${stages.replace(/^---\n/, "")}`;
}

function nodeObject(name: string, gpus: number, options: NodeOptions): object {
  const resources = {
    cpu: options.cpu ?? "32",
    memory: options.memory ?? "256Gi",
    pods: "110",
    "nvidia.com/gpu": String(gpus),
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        type: "kwok",
        ...options.labels,
      },
    },
    spec: { taints: options.taints?.map((t) => ({ ...t })) ?? [] },
    status: { allocatable: resources, capacity: resources },
  };
}

export async function startKubeLab(opts: KubeLabOptions = {}): Promise<KubeLab> {
  const bin = opts.bin ?? toolchainBin(KUBE_LAB_TOOLS);
  const dir = tempDir("kube-lab");
  const context = opts.context ?? "gpu-lab";
  const loadBalancerAddress = opts.loadBalancerAddress ?? "127.0.0.1";
  const components: Component[] = [];
  let stopped = false;
  const killAll = () => {
    for (const c of components) if (!c.exited) c.child.kill("SIGKILL");
  };
  process.once("exit", killAll);

  const start = (name: string, args: string[]): Component => {
    const log = fs.openSync(path.join(dir, `${name}.log`), "w");
    const child = spawn(path.join(bin, name), args, { cwd: dir, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    const component: Component = { name, child };
    child.on("exit", (code, signal) => (component.exited = `exited with ${signal ?? code}`));
    child.on("error", (err) => (component.exited = `could not start: ${err.message}`));
    components.push(component);
    return component;
  };
  const logTail = (name: string) =>
    fs
      .readFileSync(path.join(dir, `${name}.log`), "utf8")
      .split("\n")
      .slice(-25)
      .join("\n");
  /** Wait for `check`, failing at once (with the end of its log) if a component has exited. */
  const waitUp = async (what: string, check: () => Promise<boolean>, timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const dead = components.find((c) => c.exited);
      if (dead) throw new Error(`${dead.name} ${dead.exited} while waiting for ${what}:\n${logTail(dead.name)}`);
      if (await check().catch(() => false)) return;
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  try {
    makeCertificates(dir);
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    start("etcd", [
      "--name=lab",
      `--data-dir=${path.join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=lab=${peerUrl}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await waitUp("etcd", async () => (await fetch(`${etcdUrl}/health`)).ok, 60_000);

    const server = `https://127.0.0.1:${apiPort}`;
    const file = (name: string) => path.join(dir, name);
    start("kube-apiserver", [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${file("apiserver.crt")}`,
      `--tls-private-key-file=${file("apiserver.key")}`,
      `--client-ca-file=${file("ca.crt")}`,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${file("sa.pub")}`,
      `--service-account-signing-key-file=${file("sa.key")}`,
      "--service-cluster-ip-range=10.96.0.0/16",
      // The `kubernetes` Service's endpoints would be this host's address, which on 127.0.0.1 is refused.
      "--endpoint-reconciler-type=none",
      // NodePort Services on the Services' own port numbers (the program asks for nodePort = port).
      "--service-node-port-range=1-65535",
      // hostIPC (ipc: host) is a host namespace: refused unless privileged pods are allowed.
      "--allow-privileged=true",
      "--profiling=false",
      `--cert-dir=${file("apiserver-certs")}`,
    ]);
    const ca = fs.readFileSync(file("ca.crt"));
    const cert = fs.readFileSync(file("admin.crt"));
    const key = fs.readFileSync(file("admin.key"));
    const agent = new https.Agent({ ca, cert, key, keepAlive: true });
    const request = (method: string, urlPath: string, body?: unknown, contentType = "application/json") =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = https.request(
          `${server}${urlPath}`,
          { method, agent, headers: data ? { "content-type": contentType, accept: "application/json" } : {} },
          (res) => {
            let text = "";
            res.on("data", (chunk: Buffer) => (text += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on("error", reject);
        req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${urlPath}: no answer in 30 s`)));
        req.end(data);
      });
    const api = async <T = any>(method: string, urlPath: string, body?: unknown, contentType?: string): Promise<T> => {
      const res = await request(method, urlPath, body, contentType);
      if (res.status >= 300) throw new Error(`${method} ${urlPath}: ${res.status} ${res.text.slice(0, 500)}`);
      return (res.text ? JSON.parse(res.text) : undefined) as T;
    };
    await waitUp("kube-apiserver /readyz", async () => (await request("GET", "/readyz")).text === "ok", 180_000);

    const kubeconfig = file("kubeconfig.yaml");
    fs.writeFileSync(kubeconfig, kubeconfigText(dir, server, context), { mode: 0o600 });
    const kubectl = (args: readonly string[], input?: string) => {
      try {
        return execFileSync(path.join(bin, "kubectl"), [`--kubeconfig=${kubeconfig}`, ...args], {
          encoding: "utf8",
          input,
          stdio: ["pipe", "pipe", "pipe"],
        });
      } catch (err: any) {
        throw new Error(`kubectl ${args.join(" ")}: ${err.stderr || err.message}`);
      }
    };

    // The controllers' ports off (0): several labs at once would clash on their default ports.
    start("kube-controller-manager", [
      `--kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      "--secure-port=0",
      `--service-account-private-key-file=${file("sa.key")}`,
      `--root-ca-file=${file("ca.crt")}`,
      "--use-service-account-credentials=false",
    ]);
    start("kube-scheduler", [`--kubeconfig=${kubeconfig}`, "--leader-elect=false", "--secure-port=0"]);
    fs.writeFileSync(file("kwok.yaml"), kwokConfigText(fs.readFileSync(path.join(bin, "kwok-stages.yaml"), "utf8")));
    start("kwok", [
      `--kubeconfig=${kubeconfig}`,
      `--config=${file("kwok.yaml")}`,
      "--manage-all-nodes=false",
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      "--cidr=198.18.0.0/16",
      "--node-ip=198.19.0.1",
      "--node-lease-duration-seconds=40",
    ]);

    // The load-balancer controller: every LoadBalancer Service without an ingress gets one.
    let watch: ReturnType<typeof https.request> | undefined;
    const patched = new Set<string>();
    const assignAddress = async (svc: any) => {
      const id = `${svc.metadata.namespace}/${svc.metadata.name}`;
      if (svc.spec?.type !== "LoadBalancer" || svc.status?.loadBalancer?.ingress?.length) return;
      if (patched.has(`${id}@${svc.metadata.resourceVersion}`)) return;
      patched.add(`${id}@${svc.metadata.resourceVersion}`);
      const patch = { status: { loadBalancer: { ingress: [{ ip: loadBalancerAddress, ipMode: "VIP" }] } } };
      const log = (text: string) =>
        fs.appendFileSync(file("lb-controller.log"), `${new Date().toISOString()} ${id}: ${text}\n`);
      const url = `/api/v1/namespaces/${svc.metadata.namespace}/services/${svc.metadata.name}/status`;
      await api("PATCH", url, patch, "application/merge-patch+json").then(
        () => log(`ingress ${loadBalancerAddress}`),
        (err: Error) => log(err.message),
      );
    };
    const runWatch = () => {
      if (stopped) return;
      watch = https.request(`${server}/api/v1/services?watch=1&allowWatchBookmarks=false`, { agent }, (res) => {
        let buffer = "";
        res.on("data", (chunk: Buffer) => {
          buffer += chunk;
          let newline: number;
          while ((newline = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (!line.trim()) continue;
            const event = JSON.parse(line) as { type: string; object: any };
            if (event.type === "ADDED" || event.type === "MODIFIED") void assignAddress(event.object);
          }
        });
        res.on("end", () => setTimeout(runWatch, 200));
      });
      watch.on("error", () => !stopped && setTimeout(runWatch, 500));
      watch.end();
    };
    runWatch();

    const nodes: string[] = [];
    const volumes: string[] = [];
    const addNodes = async (count: number, options: NodeOptions = {}): Promise<string[]> => {
      const merged = { ...opts.node, ...options };
      const names = Array.from({ length: count }, (_, i) => `${opts.nodePrefix ?? "gpu-node"}-${nodes.length + i}`);
      for (const name of names) {
        await api("POST", "/api/v1/nodes", nodeObject(name, merged.gpus ?? opts.gpusPerNode ?? 2, merged));
        nodes.push(name);
      }
      await waitUp(
        `${count} kwok nodes Ready`,
        async () => {
          const list = await api<{ items: any[] }>("GET", "/api/v1/nodes");
          const ready = new Set(
            list.items
              .filter((n) => n.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"))
              .map((n) => n.metadata.name),
          );
          return names.every((n) => ready.has(n));
        },
        120_000,
      );
      return names;
    };
    const addVolumes = async (options: VolumeOptions): Promise<string[]> => {
      const existing = await request("GET", `/apis/storage.k8s.io/v1/storageclasses/${options.storageClassName}`);
      if (existing.status === 404) {
        await api("POST", "/apis/storage.k8s.io/v1/storageclasses", {
          apiVersion: "storage.k8s.io/v1",
          kind: "StorageClass",
          metadata: { name: options.storageClassName },
          provisioner: "kubernetes.io/no-provisioner",
          volumeBindingMode: "Immediate",
          reclaimPolicy: "Retain",
        });
      }
      const names: string[] = [];
      for (let i = 0; i < options.count; i++) {
        const name = `lab-pv-${options.storageClassName}-${volumes.length}`;
        const hostPath = path.join(dir, "volumes", name);
        fs.mkdirSync(hostPath, { recursive: true });
        await api("POST", "/api/v1/persistentvolumes", {
          apiVersion: "v1",
          kind: "PersistentVolume",
          metadata: { name, labels: { "gpu-services-lab/volume": "static" } },
          spec: {
            capacity: { storage: options.size ?? "100Gi" },
            accessModes: ["ReadWriteOnce"],
            persistentVolumeReclaimPolicy: "Retain",
            storageClassName: options.storageClassName,
            hostPath: { path: hostPath, type: "DirectoryOrCreate" },
          },
        });
        volumes.push(name);
        names.push(name);
      }
      return names;
    };

    // The controller manager is working once its service-account controller has made `default`'s account.
    for (const ns of opts.namespaces ?? []) {
      await api("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    }
    for (const ns of ["default", ...(opts.namespaces ?? [])]) {
      await waitUp(
        `kube-controller-manager (the default ServiceAccount of ${ns})`,
        async () => (await request("GET", `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200,
        120_000,
      );
    }
    if (opts.volumes) await addVolumes(opts.volumes);
    await addNodes(opts.nodes ?? 2);

    return {
      dir,
      kubeconfig,
      context,
      server,
      loadBalancerAddress,
      nodes,
      kubectl,
      kubectlJson: (args) => JSON.parse(kubectl([...args, "-o", "json"])),
      api,
      addNodes,
      addVolumes,
      async stop() {
        stopped = true;
        watch?.destroy();
        agent.destroy();
        for (const c of [...components].reverse()) {
          if (c.exited) continue;
          const gone = new Promise<void>((resolve) => c.child.once("exit", () => resolve()));
          c.child.kill("SIGTERM");
          const timer = setTimeout(() => c.child.kill("SIGKILL"), 10_000);
          await gone;
          clearTimeout(timer);
        }
        process.removeListener("exit", killAll);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    stopped = true;
    killAll();
    process.removeListener("exit", killAll);
    // Keep the folder (its logs say why) and name it.
    throw new Error(`kube lab in ${dir} did not start: ${(err as Error).message}`);
  }
}
