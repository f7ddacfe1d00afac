import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { twoPartSupervisor } from "../helpers/graph-fixtures.ts";
import type { SlackApiCall } from "../stand-ins/slack-api.ts";
import { startCoreHarness, type CoreHarness } from "./core-harness.ts";
import { createLogger } from "../../src/logger.ts";

/**
 * Partial answers first (issue 16), on Slack through the real core and the real Bolt client: a
 * message that asks two things gets the part that is ready as soon as it is, and the same
 * message is edited (`chat.update`) when the slow part finishes.
 */

const { supervisor, techGate } = twoPartSupervisor();
const texts = (call: SlackApiCall) => `${String(call.args["text"])}\n${JSON.stringify(call.args["blocks"] ?? [])}`;

describe("Slack: partial answers first", () => {
  let h: CoreHarness;
  let ts = 0;
  const mention = (text: string) => {
    ts += 1;
    const messageTs = `1800000${String(ts).padStart(3, "0")}.000100`;
    return { ts: messageTs, sent: h.event({ type: "app_mention", channel: "C0PARTIAL", user: "U0ALICE", ts: messageTs, text: `<@${h.api.botUserId}> ${text}` }) };
  };

  beforeAll(async () => {
    h = await startCoreHarness({ supervisor, env: { PARTIAL_REPLY_MS: "50" }, ...(process.env.DEBUG_LOG ? { logger: createLogger("debug") } : {}) });
  });
  afterAll(async () => {
    techGate.open();
    await h?.close();
  });

  it("posts the ready part with what is still coming, then edits that message into the whole answer", async () => {
    techGate.close();
    const { ts: threadTs } = mention("two things: my invoice, and the app crashes");
    const first = await h.api.waitForCall("chat.postMessage", (c) => c.args["thread_ts"] === threadTs, "the partial answer");
    expect(texts(first)).toContain("Your last invoice was paid on 3 March.");
    expect(texts(first)).toMatch(/Still working on: Tech_support/);
    expect(texts(first)).not.toContain("Clear the app cache");
    // Nothing else is posted while the slow part is still being worked on.
    expect(h.api.callsTo("chat.update")).toHaveLength(0);

    techGate.open();
    const update = await h.api.waitForCall("chat.update", (c) => c.args["ts"] === first.response["ts"], "the edit with the whole answer");
    expect(update.args["channel"]).toBe("C0PARTIAL");
    expect(texts(update)).toContain("Your last invoice was paid on 3 March.");
    expect(texts(update)).toContain("Clear the app cache, then sign in again.");
    expect(texts(update)).not.toMatch(/Still working on/);

    // One message in the thread, showing the whole answer: posted once, edited once.
    expect(h.api.callsTo("chat.postMessage", (c) => c.args["thread_ts"] === threadTs)).toHaveLength(1);
    const shown = h.api.postedIn("C0PARTIAL").filter((m) => m["thread_ts"] === threadTs);
    expect(shown).toHaveLength(1);
    expect(String(shown[0]!["text"])).toContain("Clear the app cache");

    // The outbox kept both versions, in order; the transcript shows the whole answer only.
    const conversationId = (await h.app.db.pool.query<{ conversation_id: string }>("select conversation_id from messages where platform_message_id like $1", [`%${threadTs}%`])).rows[0]?.conversation_id;
    expect(conversationId).toBeDefined();
    const outbound = () =>
      h.app.db.pool.query<{ kind: string; status: string; revises: string | null; idempotency_key: string }>(
        "select kind, status, revises, idempotency_key from messages where conversation_id = $1 and direction = 'out' order by seq",
        [conversationId],
      );
    // Marked sent once Slack answered the edit: poll (a hang guard, not a speed check).
    let rows = await outbound();
    for (let i = 0; i < 200 && rows.rows.some((r) => r.status !== "sent"); i++) {
      await new Promise((r) => setTimeout(r, 50));
      rows = await outbound();
    }
    expect(rows.rows.map((r) => [r.kind, r.status])).toEqual([["partial", "sent"], ["message", "sent"]]);
    expect(rows.rows[1]!.revises).toBe(rows.rows[0]!.idempotency_key);
    const transcript = await h.app.log.transcript(conversationId!);
    const bot = transcript.filter((m) => m.direction === "out");
    expect(bot).toHaveLength(1);
    expect(bot[0]!.text).toContain("Clear the app cache");
  });

  it("posts one whole answer when every part is ready within PARTIAL_REPLY_MS", async () => {
    techGate.open();
    const updatesBefore = h.api.callsTo("chat.update").length;
    const { ts: threadTs } = mention("two things again: invoice and a crash");
    const answer = await h.api.waitForCall("chat.postMessage", (c) => c.args["thread_ts"] === threadTs, "the whole answer");
    expect(texts(answer)).toContain("Your last invoice was paid on 3 March.");
    expect(texts(answer)).toContain("Clear the app cache");
    expect(texts(answer)).not.toMatch(/Still working on/);
    // A version would have been delivered before the whole answer (the outbox keeps their order).
    expect(h.api.callsTo("chat.update")).toHaveLength(updatesBefore);
    expect(h.api.callsTo("chat.postMessage", (c) => c.args["thread_ts"] === threadTs)).toHaveLength(1);
  });

  it("a one-part answer is never posted in parts", async () => {
    const updatesBefore = h.api.callsTo("chat.update").length;
    const { ts: threadTs } = mention("just my invoice please");
    const answer = await h.api.waitForCall("chat.postMessage", (c) => c.args["thread_ts"] === threadTs, "the answer");
    expect(texts(answer)).toContain("Your last invoice was paid on 3 March.");
    expect(texts(answer)).not.toMatch(/Still working on/);
    expect(h.api.callsTo("chat.update")).toHaveLength(updatesBefore);
  });

  it("the HTTP API returns the whole answer, with no partial version recorded", async () => {
    techGate.close();
    const release = setTimeout(() => techGate.open(), 400);
    const res = await h.http.inject({ method: "POST", url: "/api/messages", payload: { userId: "api-user", text: "two things: invoice, crash" } });
    clearTimeout(release);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { reply: string; conversationId: string };
    expect(body.reply).toContain("Your last invoice was paid on 3 March.");
    expect(body.reply).toContain("Clear the app cache");
    const partials = await h.app.db.pool.query("select 1 from messages where conversation_id = $1 and kind = 'partial'", [body.conversationId]);
    expect(partials.rowCount).toBe(0);
  });
});
