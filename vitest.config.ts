import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Rebuilds dist/ (what bin/switchboard.js runs) when a source is newer than the last build.
    globalSetup: ["test/global-setup.ts"],
    // Embedded Postgres (PGlite) boots in ~1 s per database; platform stand-ins use real sockets.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
