/**
 * Compose's small syntaxes: commands (split as a shell would), image references, ports (short and long) and
 * container paths.
 */
import * as path from "node:path";
import { durationSeconds, GO_DURATION_RE, isPlainObject } from "../formats";
import { ComposeError } from "./errors";
import { isScalar, list, shapeError } from "./shape";

/** Split a compose string command like a shell would (quotes, backslashes), without running a shell. */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: '"' | "'" | undefined;
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quote) throw new ComposeError(`unterminated ${quote} quote in command: ${s}`);
  if (has || cur) out.push(cur);
  return out;
}

/** `ghcr.io/owner/name:tag@sha256:…` -> parts. */
export function parseImageRef(ref: string): { repository: string; tag?: string; digest?: string } {
  const [nameTag, digest] = ref.split("@");
  const m = /^(.*?)(?::([^/:]+))?$/.exec(nameTag)!;
  return { repository: m[1], ...(m[2] ? { tag: m[2] } : {}), ...(digest ? { digest } : {}) };
}

/** A command or entrypoint: a list as it is, a string split as a shell would. */
export function argv(value: unknown, at: string): string[] {
  if (typeof value === "string") return splitCommand(value);
  return list(value, at, "a list of arguments or a string").map((arg, i) => {
    if (!isScalar(arg)) throw shapeError(`${at}[${i}]`, "a string", arg);
    return String(arg);
  });
}

/**
 * One entry of `ports`: the published port, or undefined (said in a warning) when it publishes none or a random
 * one. `emptied` names the variables that came out empty in it, for the messages.
 */
export function parsePort(
  p: unknown,
  at: string,
  warnings: string[],
  emptied = "",
): Record<string, unknown> | undefined {
  if (isPlainObject(p)) {
    for (const k of Object.keys(p)) {
      if (!["target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"].includes(k)) {
        warnings.push(`${at}.${k}: not carried over`);
      }
    }
    if (p.target === undefined) throw new ComposeError(`${at}: a port in long syntax needs target`);
    if (p.published === undefined || p.published === "") {
      warnings.push(`${at}: no published port (Docker would pick a random one); not carried over`);
      return undefined;
    }
    const published = Number(String(p.published));
    if (!Number.isInteger(published)) {
      warnings.push(`${at}: published port range "${String(p.published)}" is not supported; not carried over`);
      return undefined;
    }
    return {
      host: published,
      container: Number(p.target),
      ...(p.protocol && p.protocol !== "tcp" ? { protocol: p.protocol } : {}),
      ...(p.host_ip && p.host_ip !== "0.0.0.0" ? { hostIp: p.host_ip } : {}),
    };
  }
  if (!isScalar(p)) throw shapeError(at, "a port such as 8080:80 or {target, published}", p);
  const s = String(p);
  if (s === "") throw new ComposeError(`${at}: an empty port spec (compose refuses it)${emptied}`);
  if (/:(\/\w+)?$/.test(s))
    throw new ComposeError(`${at}: "${s}" has no container port (compose refuses it)${emptied}`);
  if (/^(?:(\[[^\]]+\]|\d+\.\d+\.\d+\.\d+):)?:\d+(?:\/(tcp|udp))?$/.test(s)) {
    warnings.push(`${at}: "${s}" publishes on a random host port; not carried over${emptied}`);
    return undefined;
  }
  const m = /^(?:(\[[^\]]+\]|\d+\.\d+\.\d+\.\d+):)?(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(s);
  if (!m) {
    warnings.push(`${at}: "${s}" (ranges or an unknown form) is not supported; not carried over`);
    return undefined;
  }
  const [, ip, host, container, protocol] = m;
  if (!host) {
    warnings.push(`${at}: "${s}" publishes on a random host port; not carried over`);
    return undefined;
  }
  return {
    host: Number(host),
    container: Number(container),
    ...(protocol && protocol !== "tcp" ? { protocol } : {}),
    ...(ip && ip !== "0.0.0.0" ? { hostIp: ip.replace(/^\[|\]$/g, "") } : {}),
  };
}

/** A path inside the container as compose writes it: `/tmp/images/` -> `/tmp/images`. */
export function containerPath(target: string): string {
  const clean = path.posix.normalize(target);
  return clean.length > 1 ? clean.replace(/\/$/, "") : clean;
}

/** Seconds in a compose duration (`1m30s`, `500ms`), or an error naming the key: compose refuses the rest. */
export function composeDuration(value: unknown, at: string): number {
  if (typeof value === "string" && GO_DURATION_RE.test(value)) return durationSeconds(value);
  throw new ComposeError(
    `${at}: ${JSON.stringify(value)} is not a compose duration (a number and a unit: 10s, 1m30s, 500ms)`,
  );
}
