/**
 * A worker process for the scale-out tests: `switchboard worker` exactly (bots/cli/worker.ts, the
 * graphile-worker queue, the pipeline, the Slack adapter sending over the Web API), with a
 * scripted supervisor instead of the graph, so a thousand messages take seconds. Its reply echoes
 * the message (`re: <text>`), so the order of replies in a thread can be checked.
 *
 *   node --import tsx test/inbox/worker-main.ts   (environment as for `switchboard worker`;
 *                                                 WORKER_PORT=N serves /healthz there, as --port)
 */
import fs from "node:fs";
import { work } from "../../bots/cli/worker.ts";
import type { SupervisorStateType, Turn } from "../../agents/supervisor/state.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";

/** Simulated work per message, in ms (a window in which overlapping jobs would show). */
const WORK_MS = Number(process.env["SCRIPTED_WORK_MS"] ?? 5);
/** Work on messages that say "slow", in ms: long enough to stop a worker in the middle of one. */
const SLOW_MS = Number(process.env["SCRIPTED_SLOW_MS"] ?? 1500);
/** A file each graph run appends its message id to: how often each message was answered from scratch. */
const RUN_LOG = process.env["SCRIPTED_RUN_LOG"];

const supervisor = {
  async invoke(input: { turn: Turn }): Promise<SupervisorStateType> {
    if (RUN_LOG) fs.appendFileSync(RUN_LOG, `${input.turn.messageId}\n`);
    await new Promise((resolve) => setTimeout(resolve, input.turn.text.includes("slow") ? SLOW_MS : WORK_MS));
    return {
      messages: [],
      turn: input.turn,
      decision: null,
      results: [],
      reply: { text: `re: ${input.turn.text}`, sections: [], footer: "" },
      handoff: null,
      unclearStreak: 0,
      answered: true,
    };
  },
};

const config = loadConfig();
const port = process.env["WORKER_PORT"] ? Number(process.env["WORKER_PORT"]) : undefined;
await work(config, createLogger(config.logLevel), { port, overrides: { supervisor } });
