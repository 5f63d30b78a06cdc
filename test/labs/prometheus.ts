/**
 * A real Prometheus scraping a switch, as docs/operations/metrics-and-logs.md says to run one: in the switch's
 * network namespace (`--network container:gpu-switch-<stack>`), scraping `localhost:2019/gpu-switch/metrics`,
 * nothing published. Prometheus is built here from the Go module proxy (`go install`, static) into a cache of its
 * own, once; its image is FROM scratch with the binary and the config. The lab queries its HTTP API on the switch
 * container's address on the switch's network, which the host reaches without a published port.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { docker } from "./docker";
import { tempDir } from "../support/gitRepos";

export const PROMETHEUS_MODULE = "github.com/prometheus/prometheus";
export const PROMETHEUS_VERSION = "v0.316.0";

/** Where the built binary is kept: `$GPU_SERVICES_PROMETHEUS_CACHE`, or ~/.cache/gpu-services-prometheus. */
const cacheDir = () =>
  process.env.GPU_SERVICES_PROMETHEUS_CACHE ??
  path.join(os.homedir(), ".cache", "gpu-services-prometheus", PROMETHEUS_VERSION);

/** The binary, built when the cache lacks it; `builtSeconds` is how long that took (0: from the cache). */
export function prometheusBinary(): { path: string; builtSeconds: number } {
  const dir = cacheDir();
  const binary = path.join(dir, "prometheus");
  if (fs.existsSync(binary)) return { path: binary, builtSeconds: 0 };
  const started = Date.now();
  fs.mkdirSync(dir, { recursive: true });
  execFileSync(
    "go",
    ["install", "-trimpath", "-tags", "netgo,osusergo", `${PROMETHEUS_MODULE}/cmd/prometheus@${PROMETHEUS_VERSION}`],
    {
      env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOBIN: dir, GOFLAGS: "" },
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 1 << 26,
    },
  );
  return { path: binary, builtSeconds: (Date.now() - started) / 1000 };
}

export interface RunningPrometheus {
  readonly container: string;
  /** Its HTTP API, on the switch container's address. */
  readonly url: string;
  /** An instant PromQL query at `at` (ms since the epoch): each series' labels and value. */
  query(promql: string, at: number): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** The time of the newest sample of `gpu_switch_requests_total` it holds, ms since the epoch (0: none yet). */
  lastScrape(): Promise<number>;
  remove(): void;
}

/** Start Prometheus in the switch's network namespace, scraping it every `intervalSeconds`. */
export function startPrometheus(switchContainer: string, binary: string, intervalSeconds = 1): RunningPrometheus {
  const dir = tempDir("prometheus-image");
  const image = `gpu-services-e2e-prometheus:${PROMETHEUS_VERSION}`;
  try {
    fs.copyFileSync(binary, path.join(dir, "prometheus"));
    fs.writeFileSync(
      path.join(dir, "prometheus.yml"),
      `global:
  scrape_interval: ${intervalSeconds}s
scrape_configs:
  - job_name: gpu-switch
    metrics_path: /gpu-switch/metrics
    static_configs:
      - targets: ["localhost:2019"]
        labels:
          host: local
`,
    );
    fs.writeFileSync(
      path.join(dir, "Dockerfile"),
      'FROM scratch\nCOPY prometheus prometheus.yml /\nENTRYPOINT ["/prometheus"]\n',
    );
    execFileSync("docker", ["build", "-q", "-t", image, dir], {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const container = `${switchContainer}-prometheus`;
  docker(["rm", "-f", container]);
  docker([
    "run",
    "-d",
    "--name",
    container,
    "--network",
    `container:${switchContainer}`,
    image,
    "--config.file=/prometheus.yml",
    "--storage.tsdb.path=/data",
    "--web.listen-address=0.0.0.0:9090",
  ]);
  const address = docker([
    "inspect",
    "--format",
    "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
    switchContainer,
  ]).split(" ")[0];
  const url = `http://${address}:9090`;
  const query = async (promql: string, at: number) => {
    const params = new URLSearchParams({ query: promql, time: (at / 1000).toFixed(3) });
    const response = await fetch(`${url}/api/v1/query?${params}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== "success") throw new Error(`PromQL ${promql}: ${body.error}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return {
    container,
    url,
    query,
    async lastScrape() {
      try {
        const found = await query("max(timestamp(gpu_switch_requests_total))", Date.now());
        return found.length ? found[0].value * 1000 : 0;
      } catch {
        return 0; // not answering yet
      }
    },
    remove: () => void docker(["rm", "-f", container]),
  };
}
