/** Host addresses: the address of a Docker host URI, the any-address, `[v6]:port`, overlapping published ports. */

/** A published port's address that means every address of the host. */
export function isAnyAddress(ip: string): boolean {
  return ip === "0.0.0.0" || ip === "::";
}

/** An address as it is written before `:port`: IPv6 in brackets (`[::1]`), IPv4 and names as they are. */
export function addressForPort(address: string): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}

/** The address clients use for a Docker host URI: ssh://agnes@10.30.11.45 -> 10.30.11.45. */
export function addressOf(dockerHost: string): string {
  const match = /^(?:ssh|tcp):\/\/(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+)/.exec(dockerHost);
  return match ? match[1] : "localhost";
}

/** Whether two published ports take the same host port (same protocol, overlapping addresses). */
export function portsOverlap(
  a: { hostIp: string; protocol: string; host: number },
  b: { hostIp: string; protocol: string; host: number },
): boolean {
  return (
    a.protocol === b.protocol &&
    a.host === b.host &&
    (a.hostIp === b.hostIp || isAnyAddress(a.hostIp) || isAnyAddress(b.hostIp))
  );
}
