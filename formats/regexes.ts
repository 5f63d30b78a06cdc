/**
 * The patterns of the stack config's values, in one place (as zod keeps its own formats in one regexes.ts): names,
 * image references, git refs, env names, durations, Docker host URIs. Schemas, the model, the release CLI and
 * compose import all test values against these.
 */

/** Names of hosts and services: lowercase letters, digits and -. */
export const SERVICE_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const CONTAINER_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
export const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;
/** A Docker repository (no tag, no digest): optional registry host[:port], then lowercase path components. */
export const REPOSITORY_RE =
  /^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** A repository with an optional tag: what `docker tag` takes as a target. */
export const IMAGE_NAME_RE = new RegExp(`${REPOSITORY_RE.source.slice(0, -1)}(?::${TAG_RE.source.slice(1, -1)})?$`);
export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
/** An env name as Docker takes it (Elasticsearch's `node.name` too): not empty, no `=`, no NUL (runc refuses it). */
export const ENV_NAME_RE = /^[^=\0]+$/;
/** A Go-style duration as Docker takes it: 30s, 1m30s, 500ms, 1h. */
export const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ns|us|ms|s|m|h))+$/;
/** Any Go duration (time.ParseDuration), as Docker and compose-go read them: `0`, or numbers each with a unit. */
export const GO_DURATION_RE = /^(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
export const DOCKER_HOST_RE =
  /^(unix:\/\/\/.+|ssh:\/\/(?:[^@/\s]+@)?[^@/\s:]+(?::\d+)?|tcp:\/\/[^/\s]+:\d+|npipe:\/\/.+)$/;
export const GIT_URL_RE = /^(?:https?:\/\/|ssh:\/\/|git:\/\/|git@)[^\s#]+?(?:\.git)?$/;
export const COMMIT_RE = /^[0-9a-f]{40}$/;
export const GIT_REF_RE = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/+-]{1,255}$/;

/** An HTTP token (RFC 9110 §5.6.2): a header name, a media type's parts. */
export const HTTP_TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** An HTTP header value as sent: visible characters, spaces and tabs; no line break, no NUL. */
export const HTTP_HEADER_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** A media type without quoted parameters: `audio/wav`, `application/json; charset=utf-8`. */
export const MEDIA_TYPE_RE =
  /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*;\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+=[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;
/** The path (and query) of an HTTP request: from `/`, no whitespace, no fragment. */
export const URL_PATH_RE = /^\/[^\s#]*$/;
/** A file of the project (the repository), relative to its folder: letters, digits, `_ . - /`; no `.` or `..` part. */
export const PROJECT_FILE_RE = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;
/** A multipart form field name as a Content-Disposition carries it unquoted-safe: letters, digits, `_ . -`. */
export const FORM_FIELD_RE = /^[A-Za-z0-9_.-]{1,100}$/;

/** Env names whose values are credentials: import-compose moves them to secretEnv, the policy pack flags them. */
export const SECRET_ENV_NAME = /TOKEN|KEY|PASSWORD|SECRET/i;

/** Values that are flags, numbers or empty: no credential, whatever the name (`DISABLE_PASSWORD_LOGIN=false`). */
const PLAIN_ENV_VALUE = /^(?:|true|false|yes|no|on|off|none|null|[-+]?\d+(?:\.\d+)?)$/i;

/** An env value taken for a credential: its name says so and it is not a flag, a number or empty. */
export function looksSecret(name: string, value: string): boolean {
  return SECRET_ENV_NAME.test(name) && !PLAIN_ENV_VALUE.test(value.trim());
}
