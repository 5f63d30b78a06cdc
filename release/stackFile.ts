/**
 * A service's release inside `Pulumi.<stack>.yaml`: read it through the deployment model, and write a new one
 * with the yaml Document API so comments, key order and layout stay as they are everywhere else.
 */
import { isMap, parseDocument, type Document } from "yaml";
import { buildModel, type DeploymentModel, type ServiceSpec, modelFromRaw } from "../model";
import { asPlainObject } from "../formats";
import { CONFIG_NAMESPACE, parseStackText, StackConfigError } from "../stackConfig";
import { EXIT, ReleaseError } from "./errors";
import { editScalars, YamlEditError, type ScalarEdit } from "./yamlEdit";

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

/**
 * The model of a stack file's text, checked against its neighbour stacks when their folder is given.
 * `pendingSecrets` are secrets the file refers to that are about to be set (`pulumi config set --secret`, which
 * import-compose prints): the text is checked as it will be once they are.
 */
export function modelOf(
  text: string,
  stack: string,
  projectDir?: string,
  pendingSecrets: readonly string[] = [],
): DeploymentModel {
  let raw = parseStackText(text, undefined, `Pulumi.${stack}.yaml`);
  if (pendingSecrets.length > 0) {
    const current = raw.values.secrets;
    const secrets = { ...asPlainObject(current) };
    for (const name of pendingSecrets) secrets[name] ??= "(to be set)";
    raw = { ...raw, values: { ...raw.values, secrets }, secretKeys: new Set([...raw.secretKeys, "secrets"]) };
  }
  return projectDir
    ? modelFromRaw(raw, stack, projectDir)
    : buildModel(raw.values, { stack, secretKeys: raw.secretKeys });
}

export function findService(model: DeploymentModel, name: string): ServiceSpec {
  const service = model.services.find((s) => s.name === name);
  if (!service) {
    throw new ReleaseError(
      EXIT.usage,
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
      throw new ReleaseError(EXIT.usage, `services.${service} pulls no registry image`);
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
    if (e instanceof YamlEditError) throw new ReleaseError(EXIT.refused, `${e.message}; file left unchanged`);
    throw e;
  }
  checkedModel(next, stack, projectDir, "the release would make the stack invalid; file left unchanged");
  return next;
}

/** The model of a changed stack file's text; a text that is not valid config is refused with `refusal`. */
function checkedModel(
  text: string,
  stack: string,
  projectDir: string | undefined,
  refusal: string,
  pendingSecrets: readonly string[] = [],
): DeploymentModel {
  try {
    return modelOf(text, stack, projectDir, pendingSecrets);
  } catch (e) {
    if (e instanceof StackConfigError) throw new ReleaseError(EXIT.refused, `${refusal}:\n${e.message}`);
    throw e;
  }
}

/**
 * An edited stack file document as text, laid out as it was read (no line folding, flow lists as written), and
 * the model it gives. A result that is not valid config is refused with `refusal` and the problems.
 */
export function renderChecked(
  doc: Document,
  stack: string,
  projectDir: string | undefined,
  refusal: string,
  pendingSecrets: readonly string[] = [],
): { text: string; model: DeploymentModel } {
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  return { text, model: checkedModel(text, stack, projectDir, refusal, pendingSecrets) };
}
