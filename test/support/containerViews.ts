/** Containers as observe/hostSnapshot.ts reads them from the daemon, for the unit tests of status and doctor. */
import type { ContainerView } from "../../observe/hostSnapshot";

/** A running container named `name` with a GPU request by count and no health; `over` sets the rest. */
export function containerView(name: string, over: Partial<ContainerView> = {}): ContainerView {
  return {
    id: name,
    name,
    imageId: "sha256:1",
    imageName: "stt",
    labels: {},
    status: "running",
    running: true,
    startedAt: "",
    restartCount: 0,
    ports: [],
    gpuRequest: true,
    gpuDevices: [],
    command: [],
    ...over,
  };
}
