import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Rebuilds dist/ (what bin/switchboard.js runs) when a source is newer than the last build.
    globalSetup: ["test/global-setup.ts"],
    // Hang guards, not speed checks: a test waits on conditions, and on a loaded machine (other
    // test runs, Postgres, a build) a start that takes 1 s alone can take 20. Speed is measured in
    // bench/, in CPU time.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
