import { availableParallelism } from "node:os";
import { configDefaults, defineConfig } from "vitest/config";

// The test tiers, one vitest project each; the e2e has its own config (e2e/vitest.config.mts, *.e2e.ts) and the
// switch's Go tests run under `go test` (npm run test:go).
//   unit    `npm test`: every *.test.ts beside its code and in test/, needing Node alone (no Docker, Go or
//           docker-compose)
//   docker  `npm run test:docker`: test/docker/, against a real dockerd, registry and busybox
//   oracle  `npm run test:oracle`: test/oracle/, exports checked by the real docker-compose
const TIER_FOLDERS = { docker: "test/docker/**", oracle: "test/oracle/**" };

export default defineConfig({
  test: {
    exclude: [...configDefaults.exclude, "toolchain/**", "bin/**"],
    testTimeout: 60_000,
    // A passing test's console output (the program's pulumi.log lines) is noise; a failing one's is shown.
    silent: "passed-only",
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          // One module graph per worker, not one per file: evaluating @pulumi/pulumi, zod and the program again for
          // each of ~40 files cost two thirds of the tier's CPU. Safe here, as a file that changes what the process
          // shares (process.env, the working folder, spies on pulumi.log or console) puts it back, and
          // test/support/harness.ts sets the Pulumi mocks afresh for each evaluation.
          isolate: false,
          // vitest's default leaves a core free (one worker on two cores), but these files spend much of their time
          // waiting on git and the processes they start: a worker per core keeps both busy.
          maxWorkers: Math.max(2, availableParallelism() - 1),
          exclude: [...configDefaults.exclude, "toolchain/**", "bin/**", ...Object.values(TIER_FOLDERS)],
        },
      },
      // One file at a time, as they share the one dockerd.
      ...Object.entries(TIER_FOLDERS).map(([name, folder]) => ({
        extends: true,
        test: { name, include: [`${folder}/*.test.ts`], fileParallelism: false },
      })),
    ],
  },
});
