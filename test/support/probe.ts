/** An HTTP probe every 50 ms, for the downtime of a release: the longest stretch without a good answer. */

export interface ProbeReport {
  readonly requests: number;
  readonly failures: number;
  /** The longest time between two good answers (or from the start/to the end, when failing there). */
  readonly longestGapMs: number;
}

export function startProbe(url: string, intervalMs = 50): { stop(): Promise<ProbeReport> } {
  let running = true;
  let requests = 0;
  let failures = 0;
  let lastGood = Date.now();
  let longestGapMs = 0;
  const loop = (async () => {
    while (running) {
      const sent = Date.now();
      requests++;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await response.text();
        if (!response.ok) throw new Error(String(response.status));
        longestGapMs = Math.max(longestGapMs, Date.now() - lastGood);
        lastGood = Date.now();
      } catch {
        failures++;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - sent))));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      longestGapMs = Math.max(longestGapMs, failures > 0 ? Date.now() - lastGood : 0);
      return { requests, failures, longestGapMs };
    },
  };
}
