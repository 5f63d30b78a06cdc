/**
 * During `pulumi up`: the pods of a service that the scheduler cannot place, with its reason, printed under the
 * service while the provider waits for the rollout. The provider's own error names neither (its pod check reports
 * an unscheduled pod at info level only): without this, a surge pod with no free GPU would fail the up after the
 * rollout bound with `timed out waiting to be Ready` alone. Reads the pods with `kubectl get pods -o json` on the
 * cluster's context and namespace; without kubectl on PATH it stays silent (the up's hint says what to run).
 */
import { execFile } from "node:child_process";

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
  /** The scheduler's message (`0/2 nodes are available: 2 Insufficient nvidia.com/gpu. …`), else its reason. */
  readonly reason: string;
}

/** The pods of a `kubectl get pods -o json` list whose PodScheduled condition is False, by name. */
export function unschedulablePods(podList: string): PendingPod[] {
  const items = (JSON.parse(podList) as { items?: unknown[] }).items ?? [];
  const pending: PendingPod[] = [];
  for (const item of items as {
    metadata?: { name?: string; deletionTimestamp?: string };
    status?: { phase?: string; conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
  }[]) {
    if (item.status?.phase !== "Pending" || item.metadata?.deletionTimestamp) continue;
    const scheduled = item.status.conditions?.find((c) => c.type === "PodScheduled");
    if (!scheduled || scheduled.status !== "False") continue;
    pending.push({ pod: item.metadata?.name ?? "(unnamed)", reason: scheduled.message || scheduled.reason || "" });
  }
  return pending.sort((a, b) => a.pod.localeCompare(b.pod));
}

export interface PendingWatch {
  readonly kubectl: Kubectl;
  readonly namespace: string;
  /** Label selector of the service's pods (`app.kubernetes.io/instance=<service>-<stack>`). */
  readonly selector: string;
  /** Prints one line under the service. */
  readonly report: (line: string) => void;
  /** Settles when the rollout is over (the Deployment's registration done, either way): the watch stops. */
  readonly until: Promise<unknown>;
  /** Default 10 s, the provider's own reporting period. */
  readonly intervalMs?: number;
}

/**
 * Polls the service's pods at once and then every interval until `until` settles, and reports each Pending pod once per scheduler message. Its
 * timers do not keep the program alive; a failed kubectl call (none on PATH, cluster unreachable) ends the watch.
 * Resolves when the watch has stopped.
 */
export function watchPendingPods(watch: PendingWatch): Promise<void> {
  const seen = new Set<string>();
  let done = false;
  watch.until.then(
    () => (done = true),
    () => (done = true),
  );
  const poll = async (): Promise<boolean> => {
    let list: string;
    try {
      list = await watch.kubectl(["get", "pods", "-n", watch.namespace, "-l", watch.selector, "-o", "json"]);
    } catch {
      return false;
    }
    if (done) return false;
    for (const { pod, reason } of unschedulablePods(list)) {
      const key = `${pod}\n${reason}`;
      if (seen.has(key)) continue;
      seen.add(key);
      watch.report(`pod ${pod} is Pending: ${reason}`);
    }
    return true;
  };
  return new Promise((resolve) => {
    const round = async () => ((await poll()) ? next() : resolve());
    const next = () => {
      if (done) return resolve();
      const timer = setTimeout(() => void round(), watch.intervalMs ?? 10_000);
      timer.unref?.();
    };
    void round();
  });
}
