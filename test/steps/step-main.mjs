// @ts-check
/**
 * A worker service process for the services tests: `switchboard worker --agents <AGENTS>` exactly
 * (bots/cli/worker.ts, src/steps/), on the compiled dist/ as test/inbox/worker-main.mjs is, with
 * one seam: the billing worker is the real one (its tools on BILLING_DATABASE_URL when set), except
 * that with SCRIPTED_HANG=1 a question containing "hang" never finishes — a step in flight, for
 * the test to kill this process in the middle of (no clock involved). Every billing step it
 * starts is appended to SCRIPTED_RUN_LOG as `<pid> <question>`.
 *
 *   AGENTS=billing DATABASE_URL=… node test/steps/step-main.mjs
 */
import fs from "node:fs";

const { work } = /** @type {typeof import("../../bots/cli/worker.ts")} */ (await import("../../dist/bots/cli/worker.js"));
const { loadConfig } = /** @type {typeof import("../../src/config.ts")} */ (await import("../../dist/src/config.js"));
const { createLogger } = /** @type {typeof import("../../src/logger.ts")} */ (await import("../../dist/src/logger.js"));
const { defaultWorkers } = /** @type {typeof import("../../agents/workers/registry.ts")} */ (await import("../../dist/agents/workers/registry.js"));

const HANG = process.env["SCRIPTED_HANG"] === "1";
const RUN_LOG = process.env["SCRIPTED_RUN_LOG"];

/** @type {import("../../agents/workers/types.ts").WorkerDefinition[]} */
const workers = defaultWorkers.map((w) =>
  w.name !== "billing"
    ? w
    : {
        ...w,
        async answerOffline(input, tools, deps) {
          if (RUN_LOG) fs.appendFileSync(RUN_LOG, `${process.pid} ${input.question}\n`);
          if (HANG && input.question.includes("hang")) await new Promise(() => {});
          return w.answerOffline(input, tools, deps);
        },
      },
);

const config = loadConfig();
await work(config, createLogger(config.logLevel), { overrides: { workers } });
