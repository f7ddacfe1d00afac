/**
 * A worker process for the scale-out tests: `switchboard worker` exactly (bots/cli/worker.ts, the
 * graphile-worker queue, the pipeline, the Slack adapter sending over the Web API), with a
 * scripted supervisor instead of the graph, so a thousand messages take seconds. Its reply echoes
 * the message (`re: <text>`), so the order of replies in a thread can be checked.
 *
 *   node --import tsx test/inbox/worker-main.ts   (environment as for `switchboard worker`)
 */
import { work } from "../../bots/cli/worker.ts";
import type { SupervisorStateType, Turn } from "../../agents/supervisor/state.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";

/** Simulated work per message, in ms (a window in which overlapping jobs would show). */
const WORK_MS = Number(process.env["SCRIPTED_WORK_MS"] ?? 5);
/** Work on messages that say "slow", in ms: long enough to stop a worker in the middle of one. */
const SLOW_MS = Number(process.env["SCRIPTED_SLOW_MS"] ?? 1500);

const supervisor = {
  async invoke(input: { turn: Turn }): Promise<SupervisorStateType> {
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
await work(config, createLogger(config.logLevel), { overrides: { supervisor } });
