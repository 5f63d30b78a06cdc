/** A service's endpoint: the tcp port its http URL is on, picked by endpointPort or as the first tcp port. */
import { describe, expect, it } from "vitest";
import { goodConfig } from "../test/support/badConfigs";
import { problems } from "../test/support/models";
import { buildModel } from "./buildModel";

describe("endpointPort", () => {
  const withPorts = (ports: object[], endpointPort?: number) => {
    const raw = goodConfig();
    raw.services.tts.ports = ports;
    if (endpointPort !== undefined) raw.services.tts.endpointPort = endpointPort;
    return raw;
  };

  it("picks the tcp mapping of a container port published over udp and tcp", () => {
    const raw = withPorts(
      [
        { host: 9000, container: 8000, protocol: "udp" },
        { host: 8055, container: 8000, protocol: "tcp" },
      ],
      8000,
    );
    const tts = buildModel(raw, { stack: "prod" }).services.find((s) => s.name === "tts")!;
    expect(tts.endpoint).toEqual({ host: 8055, container: 8000, protocol: "tcp", hostIp: "0.0.0.0" });
  });

  it("refuses an endpointPort published over udp only", () => {
    const raw = withPorts([{ host: 9000, container: 8000, protocol: "udp" }], 8000);
    expect(problems(raw)).toEqual([
      "services.tts.endpointPort: container port 8000 is published over udp only; the endpoint is an http URL and needs a tcp port",
    ]);
  });

  it("without endpointPort, the first tcp port is the endpoint even after a udp one", () => {
    const raw = withPorts([
      { host: 9000, container: 7000, protocol: "udp" },
      { host: 8055, container: 8000 },
    ]);
    expect(buildModel(raw, { stack: "prod" }).services.find((s) => s.name === "tts")!.endpoint?.host).toBe(8055);
  });
});
