/** Key paths below the config namespace, as messages write them: `services.stt.ports[0].host`. */

/** A path with one more segment: `services.stt` + `ports` -> `services.stt.ports`, + 0 -> `…ports[0]`. */
export function appendPath(at: string, segment: PropertyKey): string {
  if (typeof segment === "number") return `${at}[${segment}]`;
  const key = String(segment);
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return at ? `${at}.${key}` : key;
  return `${at}[${JSON.stringify(key)}]`;
}

/** `["services", "stt", "ports", 0, "host"]` -> `services.stt.ports[0].host`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>(appendPath, "");
}

/** The segments of a path `formatPath` wrote: `hosts.gpu["x y"].registryAuth[0]` -> `["hosts", "gpu", "x y", "registryAuth", 0]`. */
export function parsePath(path: string): PropertyKey[] {
  const segments: PropertyKey[] = [];
  for (const match of path.matchAll(/\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|([^.[\]]+)/g)) {
    if (match[1] !== undefined) segments.push(Number(match[1]));
    else if (match[2] !== undefined) segments.push(JSON.parse(match[2]) as string);
    else segments.push(match[3]);
  }
  return segments;
}
