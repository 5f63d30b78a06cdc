import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { labModel, NGINX } from "../test/support/models";
import { exportCompose } from "./export";

describe("export-compose", () => {
  it("writes a CPU limit as compose's service-level cpus, and none where there is no limit", () => {
    const model = labModel({ tts: { image: NGINX, cpus: 1.5 }, stt: { image: NGINX } });
    const doc = parse(exportCompose(model).get("dev-lab.compose.yaml")!);
    expect(doc.services.tts.cpus).toBe(1.5);
    expect("cpus" in doc.services.stt).toBe(false);
  });
});
