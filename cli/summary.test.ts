import { expect, it } from "vitest";
import { renderSummary } from "./summary";

it("renders stack outputs as a Markdown table, services sorted, pipes escaped", () => {
  expect(
    renderSummary("prod", {
      services: {
        tts: {
          endpoint: "https://10.30.11.45:8055",
          image: "ghcr.io/jim0237/tts-v2-api-server@sha256:ab",
          containerName: "tts-prod",
          host: "gpu-server",
        },
        stt: {
          endpoint: "http://10.30.11.45:8060",
          image: "gpu-services/stt:cf2f|x",
          containerName: "stt-prod",
          host: "gpu-server",
        },
      },
    }),
  ).toBe(
    [
      "## Stack `prod`",
      "",
      "| service | host | container | endpoint | image deployed |",
      "| --- | --- | --- | --- | --- |",
      "| stt | gpu-server | stt-prod | http://10.30.11.45:8060 | `gpu-services/stt:cf2f\\|x` |",
      "| tts | gpu-server | tts-prod | https://10.30.11.45:8055 | `ghcr.io/jim0237/tts-v2-api-server@sha256:ab` |",
    ].join("\n"),
  );
  expect(renderSummary("test", {})).toContain("| (no services) | | | | |");
});
