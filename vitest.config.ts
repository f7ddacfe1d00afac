import { availableParallelism } from "node:os";
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
    // expect.poll's default gives up after 1 s, which a loaded machine exceeds: the same hang
    // guard as test/helpers/wait-until.ts's HANG_GUARD_MS (a poll that is met returns at once).
    expect: { poll: { timeout: 60_000 } },
    pool: "forks",
    // Vitest's default is one file at a time on two cores (cores − 1), yet most of a file's time
    // is spent waiting — on sockets, child processes, Postgres and timers — not computing: four
    // files at a time on two cores keeps the CPU busy. Per core, so a bigger machine runs more.
    maxWorkers: Math.max(2, availableParallelism() * 2),
    // A worker process runs its files one after another in one module graph instead of loading
    // LangChain, LangGraph, Fastify, Bolt, discord.js and PGlite afresh for each file: that
    // loading was half the suite's CPU. Files share no state but what a module keeps on purpose
    // (the trained router, shared per process by design); nothing in test/ mocks modules or
    // stubs globals, which is what would leak between files.
    isolate: false,
  },
});
