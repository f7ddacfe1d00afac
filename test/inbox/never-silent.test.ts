import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { HANDOFF_TEXT } from "../../src/handoffs/reasons.ts";
import { silentLogger } from "../../src/logger.ts";
import type { Supervisor, TurnResult } from "../../src/ports.ts";
import { tempDataDir } from "../helpers/databases.ts";

/** A graph that ends without answering a bot-owned conversation (what a lone failed worker once did). */
const silent: Supervisor = {
  async invoke(): Promise<TurnResult> {
    return { answered: false, decision: null, results: [], reply: null, handoff: null, unclearStreak: 0 };
  },
};

describe("a bot-owned conversation is never left without an answer", () => {
  let app: App;
  beforeAll(async () => {
    const config = loadConfig({ DATA_DIR: tempDataDir(), LOG_LEVEL: "silent", DEMO_DATA: "off", JOB_MAX_ATTEMPTS: "1" });
    app = await createApp(config, silentLogger(), { supervisor: silent });
  });
  afterAll(async () => app?.close());

  it("a graph that returns no answer is a failure: a person takes over and the user is told", async () => {
    const s = await app.intake.submit({ platform: "http", conversationKey: "http:silent", userId: "u1", text: "What plans do you offer?", platformMessageId: "silent-1" });
    if (s.status !== "accepted") throw new Error("not accepted");
    const outcome = await s.done;
    expect(outcome).toMatchObject({ kind: "reply", handoff: { reason: "model_failed" } });
    expect(outcome.kind === "reply" && outcome.text).toContain(HANDOFF_TEXT.model_failed);
    expect((await app.handoffs.openFor(s.conversationId))?.detail).toMatch(/without an answer/);
    const out = await app.db.pool.query("select status, idempotency_key from messages where direction = 'out' and conversation_id = $1", [s.conversationId]);
    expect(out.rows).toEqual([{ status: "sent", idempotency_key: `giveup:${s.messageId}` }]);
  });
});
