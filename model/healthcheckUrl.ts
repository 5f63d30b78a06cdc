/**
 * The URL a healthcheck GETs, when it is one plain command of curl or wget on `http(s)://localhost:<port>/…`: the
 * default of a service's readiness check, and the `httpGet` of a cluster's probes (kubernetes/kubeProbes.ts).
 */

/** A plain GET of the container's own address. */
export interface HealthcheckGet {
  readonly scheme: "http" | "https";
  readonly port: number;
  /** The path and query. */
  readonly path: string;
  /** The command fails on an HTTP error status (curl with `-f`; wget always). */
  readonly failsOnError: boolean;
}

/** curl's flags that keep a check a plain GET. */
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

/** The one URL of a curl or wget command, if its other words are flags that keep it a plain GET. */
function urlOf(words: readonly string[]): { url: string; failsOnError: boolean } | undefined {
  const program = words[0].split("/").pop()!;
  if (program !== "curl" && program !== "wget") return undefined;
  const flag = program === "curl" ? CURL_FLAG : WGET_FLAG;
  const urls: string[] = [];
  let failsOnError = program === "wget";
  for (let i = 1; i < words.length; i++) {
    const word = words[i];
    if (OUTPUT_FLAGS[program].includes(word)) {
      if (!DISCARD.includes(words[++i] ?? "")) return undefined;
    } else if (flag.test(word)) {
      if (program === "curl" && (/^-[sSk]*f/.test(word) || word === "--fail")) failsOnError = true;
    } else if (word.startsWith("-")) {
      return undefined;
    } else {
      urls.push(word);
    }
  }
  return urls.length === 1 ? { url: urls[0], failsOnError } : undefined;
}

/** The GET a healthcheck test makes of `http(s)://localhost:<port>/…` (or 127.0.0.1, [::1]); undefined otherwise. */
export function healthcheckGet(test: readonly string[]): HealthcheckGet | undefined {
  const words = commandWords(test);
  if (!words || words.length < 2) return undefined;
  const found = urlOf(words);
  if (!found) return undefined;
  let url: URL;
  try {
    url = new URL(found.url);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (!["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) || url.username || url.password || url.hash)
    return undefined;
  const scheme = url.protocol === "https:" ? "https" : "http";
  const port = url.port ? Number(url.port) : scheme === "https" ? 443 : 80;
  return { scheme, port, path: `${url.pathname}${url.search}`, failsOnError: found.failsOnError };
}
