/** Whether a service's endpoint answers: any HTTP answer within the bound counts (a 404 is still an answer). */
import * as http from "node:http";
import * as https from "node:https";

export interface EndpointAnswer {
  readonly answers: boolean;
  /** `HTTP 200`, or why there was no answer. */
  readonly detail: string;
}

export const ENDPOINT_TIMEOUT_MS = 3000;

export function probeEndpoint(url: string, timeoutMs = ENDPOINT_TIMEOUT_MS): Promise<EndpointAnswer> {
  const client = url.startsWith("https:") ? https : http;
  return new Promise((resolve) => {
    // The services' own HTTPS is self-signed: an answer is what is asked here, not the certificate.
    const request = client.get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (response) => {
      response.resume();
      resolve({ answers: true, detail: `HTTP ${response.statusCode}` });
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    request.on("error", (error: NodeJS.ErrnoException) =>
      resolve({ answers: false, detail: error.code ?? error.message }),
    );
  });
}
