/**
 * `labels` (without this program's own) and `container_name`: what names the container.
 */
import { LABEL_PREFIX } from "../../formats";
import type { ComposeMap } from "../read";
import { keyValues } from "../shape";
import type { Mapper, ServiceScope } from "./scope";

/** The user's labels, without this program's own (it sets them itself). */
function labelsConfig(svc: ComposeMap, { at, shell, warnings }: ServiceScope): Record<string, unknown> {
  if (svc.labels === undefined) return {};
  const labels = keyValues(svc.labels, `${at}.labels`, shell, warnings, "empty");
  for (const k of Object.keys(labels).filter((key) => key.startsWith(LABEL_PREFIX))) delete labels[k];
  return Object.keys(labels).length > 0 ? { labels } : {};
}

/** `container_name`. */
function containerNameConfig(svc: ComposeMap): Record<string, unknown> {
  return svc.container_name !== undefined ? { containerName: String(svc.container_name) } : {};
}

export const labelsMapper: Mapper = { compose: ["labels"], map: labelsConfig };
export const containerNameMapper: Mapper = { compose: ["container_name"], map: containerNameConfig };
