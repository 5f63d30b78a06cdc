import { defineConfig } from "vitest/config";

// `npm run e2e`: the product against the real Pulumi engine and a real dockerd; one file, steps in order.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    reporters: ["verbose"],
  },
});
