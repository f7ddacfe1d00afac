// @ts-check
/**
 * A worker process for the scale-out tests: `switchboard worker` exactly (bots/cli/worker.ts, the
 * graphile-worker queue, the pipeline, the Slack adapter sending over the Web API), with a
 * scripted supervisor instead of the graph, so a thousand messages take seconds. Its reply echoes
 * the message (`re: <text>`), so the order of replies in a thread can be checked.
 *
 *   node test/inbox/worker-main.mjs   (environment as for `switchboard worker`;
 *                                     WORKER_PORT=N serves /healthz there, as --port)
 *
 * Plain JavaScript on the compiled dist/ (which the test run's global setup keeps current), as
 * `switchboard worker` runs: through tsx, a start costs ~2.5 s of CPU more (transpiling and its
 * loader hooks), and on a loaded machine the tests' workers then took over 40 s to register.
 */
import fs from "node:fs";

const { work } = /** @type {typeof import("../../bots/cli/worker.ts")} */ (await import("../../dist/bots/cli/worker.js"));
const { loadConfig } = /** @type {typeof import("../../src/config.ts")} */ (await import("../../dist/src/config.js"));
const { createLogger } = /** @type {typeof import("../../src/logger.ts")} */ (await import("../../dist/src/logger.js"));

/** Simulated work per message, in ms (a window in which overlapping jobs would show). */
const WORK_MS = Number(process.env["SCRIPTED_WORK_MS"] ?? 5);
/** Work on messages that say "slow", in ms: long enough to stop a worker in the middle of one. */
const SLOW_MS = Number(process.env["SCRIPTED_SLOW_MS"] ?? 1500);
/** A file each graph run appends its message id to: how often each message was answered from scratch. */
const RUN_LOG = process.env["SCRIPTED_RUN_LOG"];

const supervisor = {
  /** @param {{ turn: import("../../agents/supervisor/state.ts").Turn }} input */
  async invoke(input) {
    if (RUN_LOG) fs.appendFileSync(RUN_LOG, `${input.turn.messageId}\n`);
    await new Promise((resolve) => setTimeout(resolve, input.turn.text.includes("slow") ? SLOW_MS : WORK_MS));
    /** @type {import("../../agents/supervisor/state.ts").SupervisorStateType} */
    const state = {
      messages: [],
      turn: input.turn,
      decision: null,
      results: [],
      reply: { text: `re: ${input.turn.text}`, sections: [], footer: "" },
      handoff: null,
      unclearStreak: 0,
      answered: true,
    };
    return state;
  },
};

const config = loadConfig();
const port = process.env["WORKER_PORT"] ? Number(process.env["WORKER_PORT"]) : undefined;
await work(config, createLogger(config.logLevel), { port, overrides: { supervisor } });
