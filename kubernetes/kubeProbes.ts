/**
 * A service's healthcheck as the kubelet runs it: a startup probe (the start period) and a readiness probe, both
 * `httpGet` where the check is a plain GET of a published port on localhost by curl or wget, `exec` otherwise.
 *
 * Timing, from the Docker healthcheck's fields (whole seconds, at least 1, as the kubelet takes them):
 * - both probes: `periodSeconds` = interval, `timeoutSeconds` = timeout, `successThreshold` 1;
 * - readiness: `failureThreshold` = retries (Docker's unhealthy after `retries` failures in a row);
 * - startup: `failureThreshold` = ⌈startPeriod / interval⌉ + retries, so a container gets its start period and then
 *   `retries` more checks before the kubelet restarts it (Docker ignores failures during the start period).
 * No liveness probe: Docker never restarts an unhealthy container either.
 */
import type * as k8s from "@pulumi/kubernetes";
import { durationSeconds } from "../formats";
import type { HealthcheckSpec, PortSpec } from "../model";

type Probe = k8s.types.input.core.v1.Probe;
type Action = Pick<Probe, "httpGet" | "exec">;

export interface ServiceProbes {
  readonly startupProbe: Probe;
  readonly readinessProbe: Probe;
}

/** curl's flags that keep a check a plain GET that fails on an HTTP error (with `-f`, required). */
const CURL_FLAG = /^-[fsSk]+$|^--(fail|silent|show-error|insecure)$/;
/** wget's flags that keep a check a plain GET (wget fails on an HTTP error by itself). */
const WGET_FLAG = /^-q+$|^-q?O-$|^--(quiet|spider|no-verbose)$/;
/** Flags followed by a value that only says where the body goes. */
const OUTPUT_FLAGS: Readonly<Record<string, readonly string[]>> = {
  curl: ["-o", "--output"],
  wget: ["-O", "-qO", "--output-document"],
};
const DISCARD = ["/dev/null", "-"];
/** Characters that make a shell string more than one plain command. */
const SHELL_SYNTAX = /[;&|<>$`'"\\(){}*\n]/;

/** The words of a check, or undefined when it is not one plain command: `CMD …`, or `CMD-SHELL` without shell syntax. */
function commandWords(test: readonly string[]): readonly string[] | undefined {
  if (test[0] === "CMD") return test.slice(1);
  if (test[0] !== "CMD-SHELL" || test.length !== 2) return undefined;
  const words = test[1].trim().split(/\s+/);
  // `… || exit 1` is how Docker examples turn any failure into exit 1: the same for a probe.
  const tail = words.slice(-3).join(" ");
  const plain = tail === "|| exit 1" ? words.slice(0, -3) : words;
  return plain.some((word) => SHELL_SYNTAX.test(word)) ? undefined : plain;
}

/**
 * The GET a check makes, when it is a plain GET by curl (with `-f`) or wget of `http(s)://localhost:<port>/…`
 * (or 127.0.0.1, [::1]) on a port the service publishes. Only a published port: the kubelet probes the pod's
 * address, not its loopback, and a published port is one the server listens on beyond loopback.
 */
export function plainGet(
  test: readonly string[],
  ports: readonly PortSpec[],
): { scheme: "HTTP" | "HTTPS"; port: number; path: string } | undefined {
  const words = commandWords(test);
  if (!words || words.length < 2) return undefined;
  const program = words[0].split("/").pop()!;
  if (program !== "curl" && program !== "wget") return undefined;
  const flag = program === "curl" ? CURL_FLAG : WGET_FLAG;
  const urls: string[] = [];
  let fails = program === "wget";
  for (let i = 1; i < words.length; i++) {
    const word = words[i];
    if (OUTPUT_FLAGS[program].includes(word)) {
      if (!DISCARD.includes(words[++i] ?? "")) return undefined;
    } else if (flag.test(word)) {
      if (program === "curl" && (/^-[sSk]*f/.test(word) || word === "--fail")) fails = true;
    } else if (word.startsWith("-")) {
      return undefined;
    } else {
      urls.push(word);
    }
  }
  if (!fails || urls.length !== 1) return undefined;
  let url: URL;
  try {
    url = new URL(urls[0]);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (!["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) || url.username || url.password || url.hash)
    return undefined;
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  if (!ports.some((p) => p.protocol === "tcp" && p.container === port)) return undefined;
  return { scheme: url.protocol === "https:" ? "HTTPS" : "HTTP", port, path: `${url.pathname}${url.search}` };
}

/** What the probes run: the GET, or the check's command (`CMD-SHELL` through `/bin/sh -c`, as Docker does). */
export function probeAction(test: readonly string[], ports: readonly PortSpec[]): Action {
  const get = plainGet(test, ports);
  if (get) return { httpGet: { scheme: get.scheme, port: get.port, path: get.path } };
  const command = test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", test.slice(1).join(" ")] : test.slice(1);
  return { exec: { command: [...command] } };
}

/** Whole seconds, at least 1: what the kubelet takes for a period or a timeout. */
const wholeSeconds = (duration: string) => Math.max(1, Math.ceil(durationSeconds(duration)));

/** The startup and readiness probes of a healthcheck; none for no healthcheck or `NONE`. */
export function serviceProbes(
  healthcheck: HealthcheckSpec | undefined,
  ports: readonly PortSpec[],
): ServiceProbes | undefined {
  if (!healthcheck || healthcheck.test[0] === "NONE") return undefined;
  const action = probeAction(healthcheck.test, ports);
  const periodSeconds = wholeSeconds(healthcheck.interval);
  const timing = { periodSeconds, timeoutSeconds: wholeSeconds(healthcheck.timeout), successThreshold: 1 };
  const startPeriodChecks = Math.ceil(durationSeconds(healthcheck.startPeriod) / periodSeconds);
  return {
    startupProbe: { ...action, ...timing, failureThreshold: Math.max(1, startPeriodChecks + healthcheck.retries) },
    readinessProbe: { ...action, ...timing, failureThreshold: Math.max(1, healthcheck.retries) },
  };
}
