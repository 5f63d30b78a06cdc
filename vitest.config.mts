import { configDefaults, defineConfig } from "vitest/config";

// Every *.test.ts in the project (unit tests beside their code, cross-cutting ones in test/); the e2e has its own
// config (e2e/vitest.config.mts, *.e2e.ts).
export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: [...configDefaults.exclude, "toolchain/**", "bin/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
