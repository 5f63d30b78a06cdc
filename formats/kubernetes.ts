/**
 * Kubernetes' own formats, as the API server validates them (k8s.io/apimachinery's validation and resource
 * packages): DNS-1123 and DNS-1035 names, qualified names (label and annotation keys), label values, quantities.
 * The stack config refuses what the API server would, before anything is registered.
 */

/** A DNS-1123 label (namespaces, and the names in them that must be one): at most 63, lowercase, digits, `-`. */
export const DNS1123_LABEL_RE = /^(?=.{1,63}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*";
/** A DNS-1123 subdomain (claims, secrets, storage classes, runtime classes): labels joined by `.`, at most 253. */
export const DNS1123_SUBDOMAIN_RE = new RegExp(`^(?=.{1,253}$)${SUBDOMAIN}$`);
/** A DNS-1035 label (Services): a DNS-1123 label that starts with a letter. */
export const DNS1035_LABEL_RE = /^(?=.{1,63}$)[a-z](?:[-a-z0-9]*[a-z0-9])?$/;

/** The name part of a qualified name: at most 63, alphanumeric at both ends, `-`, `_`, `.` inside. */
const QUALIFIED_NAME_PART = "(?=[^/]{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?";

/** A label or annotation key: `[prefix/]name`, the prefix a DNS-1123 subdomain (`nvidia.com/gpu.product`). */
export const QUALIFIED_NAME_RE = new RegExp(`^(?:(?=[^/]{1,253}/)${SUBDOMAIN}/)?${QUALIFIED_NAME_PART}$`);

/** A label value: empty, or at most 63, alphanumeric at both ends, `-`, `_`, `.` inside. */
export const LABEL_VALUE_RE = /^(?:(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** A quantity (resource.Quantity): a decimal number with a binary (`Gi`), decimal (`G`, `m`) or exponent suffix. */
export const QUANTITY_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** A numeric user as Kubernetes runs it (`securityContext.runAsUser`/`runAsGroup`): `uid` or `uid:gid`. */
export const NUMERIC_USER_RE = /^\d+(?::\d+)?$/;

/** How a cluster exposes a service's ports (`hosts.<h>.kubernetes.serviceType`). */
export const CLUSTER_SERVICE_TYPES = ["LoadBalancer", "NodePort"] as const;

/**
 * The access mode of a cluster's managed claims (`hosts.<h>.kubernetes.volumeAccessMode`), as the API takes it:
 * mounted by the pods of one node, by one pod, or by pods on any nodes.
 */
export const VOLUME_ACCESS_MODES = ["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"] as const;
export type VolumeAccessMode = (typeof VOLUME_ACCESS_MODES)[number];

/** The restart policies a Deployment honours: its pods are always restarted. */
export const CLUSTER_RESTART_POLICIES = ["unless-stopped", "always"] as const;

/** A toleration's operator and effect, as the API takes them. */
export const TOLERATION_OPERATORS = ["Exists", "Equal"] as const;
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;
