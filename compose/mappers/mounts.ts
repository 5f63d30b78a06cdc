/**
 * `volumes`: named volumes by their Docker names, binds made absolute.
 */
import { ComposeError } from "../errors";
import { isMap, type ComposeMap } from "../read";
import { isScalar, list, shapeError } from "../shape";
import { containerPath } from "../syntax";
import type { Mapper, ServiceScope } from "./scope";

/** Named volumes (as external references to their Docker names) and binds. */
function mountsConfig(svc: ComposeMap, { at, warnings, names }: ServiceScope): Record<string, unknown> {
  const volumes: Record<string, unknown>[] = [];
  const binds: Record<string, unknown>[] = [];
  if (svc.volumes !== undefined) {
    list(svc.volumes, `${at}.volumes`, "a list of mounts").forEach((v, i) => {
      const where = `${at}.volumes[${i}]`;
      let type: string;
      let source: string | undefined;
      let target: string;
      let readOnly = false;
      if (isMap(v)) {
        type = String(v.type ?? "volume");
        if (v.target === undefined) throw new ComposeError(`${where}: a mount in long syntax needs target`);
        if (type === "bind" && (v.source === undefined || v.source === "")) {
          throw new ComposeError(`${where}: a bind mount needs source (the host folder)`);
        }
        source = v.source === undefined ? undefined : String(v.source);
        target = containerPath(String(v.target));
        readOnly = v.read_only === true;
        for (const k of Object.keys(v)) {
          if (!["type", "source", "target", "read_only", "bind", "volume"].includes(k))
            warnings.push(`${where}.${k}: not carried over`);
        }
      } else if (isScalar(v)) {
        const parts = String(v).split(":");
        if (parts.length === 1) {
          type = "volume";
          target = containerPath(parts[0]);
        } else {
          source = parts[0];
          target = containerPath(parts[1]);
          readOnly = (parts[2] ?? "").split(",").includes("ro");
          type = /^[./~]/.test(source) ? "bind" : "volume";
        }
      } else {
        throw shapeError(where, "a mount such as data:/data or {type, source, target}", v);
      }
      if (type === "tmpfs" || (type === "volume" && (source === undefined || source === ""))) {
        warnings.push(
          `${where}: ${type === "tmpfs" ? "tmpfs" : "an anonymous volume"} on ${target} is not carried over (its data does not outlive the container anyway)`,
        );
        return;
      }
      if (type === "bind")
        binds.push({ source: names.bindSource(source!, where), target, ...(readOnly ? { readOnly: true } : {}) });
      else if (type === "volume") {
        volumes.push({
          name: names.volumeName(source!, where),
          target,
          external: true,
          ...(readOnly ? { readOnly: true } : {}),
        });
      } else warnings.push(`${where}: a ${type} mount is not carried over`);
    });
  }
  return { ...(volumes.length > 0 ? { volumes } : {}), ...(binds.length > 0 ? { binds } : {}) };
}

export const mountsMapper: Mapper = { compose: ["volumes"], map: mountsConfig };
