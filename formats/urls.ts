/** URLs with credentials in them: found, and blanked out for messages. */

/** The user-info part of a URL (`scheme://user:secret@`). */
const URL_USERINFO_RE = /^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]*)@/i;

/** A URL with any credentials in it blanked out, for messages: `https://***@github.com/…`. */
export function redactUrl(url: string): string {
  return url.replace(URL_USERINFO_RE, "$1***@");
}

/**
 * Whether a URL carries credentials: any user-info over http(s) (a token often stands alone as the user name), a
 * password over any other scheme. `ssh://git@host` is a plain user name.
 */
export function urlHasCredentials(url: string): boolean {
  const match = URL_USERINFO_RE.exec(url);
  if (!match) return false;
  return /^https?:/i.test(match[1]) || match[2].includes(":");
}
