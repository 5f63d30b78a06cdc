import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { buildModel } from "../model";
import { exportCompose } from "./export";

describe("export-compose", () => {
  it("writes a CPU limit as compose's service-level cpus, and none where there is no limit", () => {
    const model = buildModel(
      {
        hosts: { lab: { dockerHost: "unix:///var/run/docker.sock" } },
        services: {
          tts: { host: "lab", image: { repository: "nginx", tag: "1.27" }, cpus: 1.5 },
          stt: { host: "lab", image: { repository: "nginx", tag: "1.27" } },
        },
      },
      { stack: "dev" },
    );
    const doc = parse(exportCompose(model).get("dev-lab.compose.yaml")!);
    expect(doc.services.tts.cpus).toBe(1.5);
    expect("cpus" in doc.services.stt).toBe(false);
  });
});
