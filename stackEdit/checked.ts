/**
 * Stack files as the CLIs change them: the model of a stack file's text, and an edited document rendered and
 * checked whole, so a change that would make the stack invalid is refused before anything is written.
 */
import type { Document } from "yaml";
import { ReportedError } from "../errors";
import { asPlainObject } from "../formats";
import { buildModel, modelFromRaw, type DeploymentModel } from "../model";
import { parseStackText, StackConfigError } from "../stackConfig";

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

/** The model of a changed stack file's text; a text that is not valid config is refused with `refusal`. */
export function checkedModel(
  text: string,
  stack: string,
  projectDir: string | undefined,
  refusal: string,
  pendingSecrets: readonly string[] = [],
): DeploymentModel {
  try {
    return modelOf(text, stack, projectDir, pendingSecrets);
  } catch (e) {
    if (e instanceof StackConfigError) throw new ReportedError("refused", `${refusal}:\n${e.message}`);
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
