/**
 * `build` or `image`: a build on the host (git URL or local folder) or a registry image.
 */
import * as path from "node:path";
import { CONFIG_NAMESPACE } from "../../stackConfig";
import { ComposeError } from "../errors";
import type { ComposeMap } from "../read";
import { isScalar, keyValues, map, shapeError } from "../shape";
import { parseImageRef } from "../syntax";
import type { Mapper, ServiceScope } from "./scope";

/** `build` (with `image:` as its extra tag) or `image`. */
function imageConfig(svc: ComposeMap, { at, composeDir, shell, warnings }: ServiceScope): Record<string, unknown> {
  if (svc.build !== undefined) {
    const b = typeof svc.build === "string" ? { context: svc.build } : map(svc.build, `${at}.build`, "a path or a map");
    for (const k of Object.keys(b)) {
      if (!["context", "dockerfile", "args", "target", "no_cache"].includes(k))
        warnings.push(`${at}.build.${k}: not carried over`);
    }
    const context = String(b.context ?? ".");
    const isUrl = /^(https?:\/\/|ssh:\/\/|git:\/\/|git@)/.test(context);
    // A git URL may carry its ref after #: the stack keeps them apart.
    const [url, ref] = isUrl ? context.split("#") : [context, undefined];
    const build: Record<string, unknown> = { context: isUrl ? url : path.resolve(composeDir, context) };
    if (ref) build.ref = ref;
    if (b.dockerfile && b.dockerfile !== "Dockerfile") build.dockerfile = String(b.dockerfile);
    const args = keyValues(b.args, `${at}.build.args`, shell, warnings);
    if (Object.keys(args).length > 0) build.args = args;
    if (b.target) build.target = String(b.target);
    if (b.no_cache === true) build.noCache = true;
    // compose tags the build with `image:`; a name in this program's namespace is the one it gives builds anyway.
    if (svc.image !== undefined && !String(svc.image).startsWith(`${CONFIG_NAMESPACE}/`)) build.tag = String(svc.image);
    if (!isUrl) {
      warnings.push(
        `${at}.build.context: ${String(build.context)} is a folder on this machine; to build on the server from ` +
          "source, set build.context to the repository's git URL and pin a commit with npm run release",
      );
    }
    return { build };
  }
  if (svc.image !== undefined) {
    if (!isScalar(svc.image)) throw shapeError(`${at}.image`, "an image name", svc.image);
    return { image: parseImageRef(String(svc.image)) };
  }
  throw new ComposeError(`${at}: has neither image nor build`);
}

export const imageMapper: Mapper = { compose: ["image", "build"], map: imageConfig };
