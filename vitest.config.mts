import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/**/*.test.ts",
      "components/**/*.test.ts",
      "config/**/*.test.ts",
      "cli/**/*.test.ts",
      "release/**/*.test.ts",
      "policy/**/*.test.ts",
      "compose/**/*.test.ts",
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
