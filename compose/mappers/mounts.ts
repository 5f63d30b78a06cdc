/**
 * `volumes`: named volumes by their Docker names, binds made absolute.
 */
import { ComposeError } from "../errors";
import { type ComposeMap } from "../read";
import { isScalar, list, shapeError } from "../shape";
import { containerPath } from "../syntax";
import type { Mapper, ServiceScope } from "./scope";
import { isPlainObject } from "../../formats";

/** One mount as compose reads it. */
interface Mount {
  readonly type: string;
  readonly source?: string;
  readonly target: string;
  readonly readOnly: boolean;
}

/** A mount in long syntax. */
function longMount(v: Record<string, unknown>, where: string, warnings: string[]): Mount {
  const type = String(v.type ?? "volume");
  if (v.target === undefined) throw new ComposeError(`${where}: a mount in long syntax needs target`);
  if (type === "bind" && (v.source === undefined || v.source === "")) {
    throw new ComposeError(`${where}: a bind mount needs source (the host folder)`);
  }
  for (const k of Object.keys(v)) {
    if (!["type", "source", "target", "read_only", "bind", "volume"].includes(k))
      warnings.push(`${where}.${k}: not carried over`);
  }
  return {
    type,
    ...(v.source === undefined ? {} : { source: String(v.source) }),
    target: containerPath(String(v.target)),
    readOnly: v.read_only === true,
  };
}

/**
 * A mount in short syntax (`source:target[:mode]`), refused where compose-go refuses it: an empty spec, an empty
 * section between colons (an interpolated source that came out empty: not an anonymous volume), too many colons.
 */
function shortMount(spec: string, where: string, emptied: string): Mount {
  if (spec === "") throw new ComposeError(`${where}: an empty volume spec (compose refuses it)${emptied}`);
  const parts = spec.split(":");
  if (parts.length > 3)
    throw new ComposeError(`${where}: "${spec}" has too many colons (compose refuses it)${emptied}`);
  if (parts.length > 1 && parts.some((part) => part === "")) {
    throw new ComposeError(`${where}: "${spec}" has an empty section between colons (compose refuses it)${emptied}`);
  }
  if (parts.length === 1) return { type: "volume", target: containerPath(parts[0]), readOnly: false };
  const [source, target, mode = ""] = parts;
  const type = /^[./~]/.test(source) ? "bind" : "volume";
  return { type, source, target: containerPath(target), readOnly: mode.split(",").includes("ro") };
}

/** Named volumes (as external references to their Docker names) and binds. */
function mountsConfig(svc: ComposeMap, { at, warnings, names, emptied }: ServiceScope): Record<string, unknown> {
  const volumes: Record<string, unknown>[] = [];
  const binds: Record<string, unknown>[] = [];
  if (svc.volumes === undefined) return {};
  list(svc.volumes, `${at}.volumes`, "a list of mounts").forEach((v, i) => {
    const where = `${at}.volumes[${i}]`;
    if (!isPlainObject(v) && !isScalar(v))
      throw shapeError(where, "a mount such as data:/data or {type, source, target}", v);
    const { type, source, target, readOnly } = isPlainObject(v)
      ? longMount(v, where, warnings)
      : shortMount(String(v), where, emptied(where));
    const ro = readOnly ? { readOnly: true } : {};
    if (type === "tmpfs" || (type === "volume" && (source === undefined || source === ""))) {
      warnings.push(
        `${where}: ${type === "tmpfs" ? "tmpfs" : "an anonymous volume"} on ${target} is not carried over (its data does not outlive the container anyway)`,
      );
    } else if (type === "bind") binds.push({ source: names.bindSource(source!, where), target, ...ro });
    else if (type === "volume") volumes.push({ name: names.volumeName(source!, where), target, external: true, ...ro });
    else warnings.push(`${where}: a ${type} mount is not carried over`);
  });
  return { ...(volumes.length > 0 ? { volumes } : {}), ...(binds.length > 0 ? { binds } : {}) };
}

export const mountsMapper: Mapper = { compose: ["volumes"], map: mountsConfig };
