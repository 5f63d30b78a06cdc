/** GpuServiceArgs, the Docker component's inputs, in the model's own types. */
import { describe, expectTypeOf, it } from "vitest";
import type { DeploymentModel } from "../model";
import type { RestartPolicy } from "../formats";
import type { GpuServiceArgs } from "./gpuService";

// Type-level: vitest runs these as no-ops; `npm run typecheck` (tsc over every .ts, run in CI) checks them.
describe("GpuServiceArgs", () => {
  it("keeps the model's types: restart is a restart policy, not any string", () => {
    expectTypeOf<GpuServiceArgs["restart"]>().toEqualTypeOf<RestartPolicy>();
    expectTypeOf<GpuServiceArgs["ports"]>().toEqualTypeOf<DeploymentModel["services"][number]["ports"]>();
  });
});
