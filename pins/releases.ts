/**
 * A service's release inside `Pulumi.<stack>.yaml`: read it through the deployment model, and write a new one
 * with the stack-file editor (stackEdit/), so comments, key order and layout stay as they are everywhere else.
 */
import { isMap, parseDocument } from "yaml";
import { ReportedError } from "../errors";
import type { DeploymentModel, ServiceSpec } from "../model";
import { checkedModel, editScalars, YamlEditError, type ScalarEdit } from "../stackEdit";
import { CONFIG_NAMESPACE } from "../stackConfig";

/** What a release is: a registry tag and/or digest, or a git commit to build. */
export type Release =
  | { readonly kind: "registry"; readonly tag?: string; readonly digest?: string }
  /** A git build at `ref`; no ref: the remote's default branch (the key is absent from the file). */
  | { readonly kind: "build"; readonly ref?: string };

/** How a build release without a ref is shown. */
export const DEFAULT_BRANCH = "(no ref: the remote's default branch)";

export function releaseOf(service: ServiceSpec): Release {
  const image = service.image;
  if (image.kind === "build") return { kind: "build", ...(image.gitRef !== undefined ? { ref: image.gitRef } : {}) };
  return {
    kind: "registry",
    ...(image.tag !== undefined ? { tag: image.tag } : {}),
    ...(image.digest !== undefined ? { digest: image.digest } : {}),
  };
}

/** How a release is shown and compared: `tag@digest`, `digest`, `tag`, or the commit. */
export function formatRelease(r: Release): string {
  if (r.kind === "build") return r.ref ?? DEFAULT_BRANCH;
  if (r.tag && r.digest) return `${r.tag}@${r.digest}`;
  return r.digest ?? r.tag ?? "latest";
}

export function findService(model: DeploymentModel, name: string): ServiceSpec {
  const service = model.services.find((s) => s.name === name);
  if (!service) {
    throw new ReportedError(
      "invalid",
      `stack "${model.stack}" has no service "${name}"; services: ${model.services.map((s) => s.name).join(", ") || "(none)"}`,
    );
  }
  return service;
}

/**
 * The stack file's text with the service's release replaced; nothing else changes, byte for byte (see
 * yamlEdit.ts). The result is validated as a whole: a release that would make the stack invalid is refused.
 */
export function withRelease(
  text: string,
  stack: string,
  service: string,
  release: Release,
  projectDir?: string,
): string {
  const base = ["config", `${CONFIG_NAMESPACE}:services`, service];
  let edits: ScalarEdit[];
  if (release.kind === "build") {
    edits = [{ path: [...base, "build", "ref"], value: release.ref }];
  } else {
    if (!isMap(parseDocument(text).getIn([...base, "image"]))) {
      throw new ReportedError("invalid", `services.${service} pulls no registry image`);
    }
    edits = [
      { path: [...base, "image", "tag"], value: release.tag },
      { path: [...base, "image", "digest"], value: release.digest },
    ];
  }
  let next: string;
  try {
    next = editScalars(text, edits);
  } catch (e) {
    if (e instanceof YamlEditError) throw new ReportedError("refused", `${e.message}; file left unchanged`);
    throw e;
  }
  checkedModel(next, stack, projectDir, "the release would make the stack invalid; file left unchanged");
  return next;
}
