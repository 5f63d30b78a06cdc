/** How the release tools report a remote (git, a registry) that did not answer in time. */

/** What a remote that did not answer in time is reported with, and how to wait longer. */
export function noAnswerWithin(remote: string, timeoutMs: number): string {
  return `${remote} did not answer within ${Math.round(timeoutMs / 1000)} s (--timeout <seconds> to wait longer)`;
}
