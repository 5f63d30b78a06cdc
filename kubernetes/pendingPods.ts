/**
 * During `pulumi up`: the pods of a service that the scheduler cannot place, with its reason, printed under the
 * service while the provider waits for the rollout. The provider's own error names neither (its pod check reports
 * an unscheduled pod at info level only): without this, a surge pod with no free GPU would fail the up after the
 * rollout bound with `timed out waiting to be Ready` alone. Reads the pods with `kubectl get pods -o json` on the
 * cluster's context and namespace, one call per round for all of a cluster's services that are rolling out; without
 * kubectl on PATH it stays silent (the up's hint says what to run).
 */
import { execFile } from "node:child_process";
import { INSTANCE_LABEL } from "./kubeInputs";

/** Runs kubectl with these arguments and gives its stdout. */
export type Kubectl = (args: readonly string[]) => Promise<string>;

/** kubectl on PATH, on `context` (default: the kubeconfig's current one), with a bound on each call. */
export function kubectlCli(context: string | undefined, timeoutMs = 15_000): Kubectl {
  const base = context !== undefined ? ["--context", context] : [];
  return (args) =>
    new Promise((resolve, reject) =>
      execFile("kubectl", [...base, ...args], { timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
}

export interface PendingPod {
  readonly pod: string;
  /** Its `app.kubernetes.io/instance` label: which service of the stack it belongs to. */
  readonly instance: string;
  /** The scheduler's message (`0/2 nodes are available: 2 Insufficient nvidia.com/gpu. …`), else its reason. */
  readonly reason: string;
}

/** The pods of a `kubectl get pods -o json` list whose PodScheduled condition is False, by name. */
export function unschedulablePods(podList: string): PendingPod[] {
  const items = (JSON.parse(podList) as { items?: unknown[] }).items ?? [];
  const pending: PendingPod[] = [];
  for (const item of items as {
    metadata?: { name?: string; deletionTimestamp?: string; labels?: Record<string, string> };
    status?: { phase?: string; conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
  }[]) {
    if (item.status?.phase !== "Pending" || item.metadata?.deletionTimestamp) continue;
    const scheduled = item.status.conditions?.find((c) => c.type === "PodScheduled");
    if (!scheduled || scheduled.status !== "False") continue;
    pending.push({
      pod: item.metadata?.name ?? "(unnamed)",
      instance: item.metadata?.labels?.[INSTANCE_LABEL] ?? "",
      reason: scheduled.message || scheduled.reason || "",
    });
  }
  return pending.sort((a, b) => a.pod.localeCompare(b.pod));
}

export interface PendingWatch {
  /** The service's `app.kubernetes.io/instance` label value (`<service>-<stack>`). */
  readonly instance: string;
  /** Prints one line under the service. */
  readonly report: (line: string) => void;
  /** Settles when the rollout is over (the Deployment's registration done, either way): the watch stops. */
  readonly until: Promise<unknown>;
}

/** The Pending-pod watches of one cluster's namespace during an up; `watch` starts one per service. */
export interface PendingPodsPoller {
  /** Resolves when this service's watch has stopped (its rollout over, or kubectl failed). */
  watch(watch: PendingWatch): Promise<void>;
}

/**
 * One poll loop for every service of a cluster: each round (every interval, default 10 s, the provider's own
 * reporting period) one `kubectl get pods -l 'app.kubernetes.io/instance in (…)'` for the services still rolling
 * out, each Pending pod reported once per scheduler message under its own service. A kubectl call per service
 * instead would start 40 a second at 400 services (npm run bench:kube-scale). The loop runs while a watch is on;
 * its timers do not keep the program alive; a failed kubectl call (none on PATH, cluster unreachable) ends every
 * watch.
 */
export function pendingPodsPoller(kubectl: Kubectl, namespace: string, intervalMs = 10_000): PendingPodsPoller {
  const watches = new Map<string, { readonly watch: PendingWatch; readonly seen: Set<string>; stop(): void }>();
  let running = false;
  const sleep = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      timer.unref?.();
    });
  const round = async (): Promise<boolean> => {
    const instances = [...watches.keys()].sort();
    let list: string;
    try {
      list = await kubectl([
        "get",
        "pods",
        "-n",
        namespace,
        "-l",
        `${INSTANCE_LABEL} in (${instances.join(",")})`,
        "-o",
        "json",
      ]);
    } catch {
      for (const w of [...watches.values()]) w.stop();
      return false;
    }
    for (const { pod, instance, reason } of unschedulablePods(list)) {
      const w = watches.get(instance);
      const key = `${pod}\n${reason}`;
      if (!w || w.seen.has(key)) continue;
      w.seen.add(key);
      w.watch.report(`pod ${pod} is Pending: ${reason}`);
    }
    return true;
  };
  const loop = async () => {
    running = true;
    // The services a program registers in one go share the first round.
    await Promise.resolve();
    while (watches.size > 0 && (await round()) && watches.size > 0) await sleep();
    running = false;
  };
  return {
    watch(watch) {
      return new Promise<void>((resolve) => {
        const entry = {
          watch,
          seen: new Set<string>(),
          stop: () => {
            if (watches.get(watch.instance) === entry) watches.delete(watch.instance);
            resolve();
          },
        };
        watches.set(watch.instance, entry);
        watch.until.then(entry.stop, entry.stop);
        if (!running) void loop();
      });
    },
  };
}
