import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CANNOT_POST_TEXT, LOOKING_TEXT } from "../../bots/slack/texts.ts";
import type { SlackApiCall } from "../stand-ins/slack-api.ts";
import { scriptedSupervisor, startCoreHarness, type CoreHarness } from "./core-harness.ts";

/** 60 paragraphs of ~2,500 characters: more than three Slack messages' worth (40,000 characters each). */
const PARAGRAPHS = Array.from({ length: 60 }, (_, i) => `Paragraph ${i + 1}. ${"word ".repeat(498)}`.trim());

const sectionTexts = (call: SlackApiCall) => (call.args["blocks"] as Array<{ text?: { text: string } }>).map((b) => b.text?.text ?? "");
const inThread = (threadTs: string) => (c: SlackApiCall) => c.method === "chat.postMessage" && c.args["thread_ts"] === threadTs;

describe("Slack /support through the real core: stored first, acked, then posted by the outbox", () => {
  let h: CoreHarness;

  beforeAll(async () => {
    h = await startCoreHarness({ supervisor: scriptedSupervisor((text) => (/everything/.test(text) ? PARAGRAPHS.join("\n\n") : `Answer to: ${text}`)) });
  });
  afterAll(async () => h?.close());

  /** The conversation's outbound rows, oldest first. */
  const outbound = async (conversationId: string) =>
    (
      await h.app.db.pool.query<{ kind: string; status: string; parts_sent: number }>(
        "select kind, status, parts_sent from messages where conversation_id = $1 and direction = 'out' order by seq",
        [conversationId],
      )
    ).rows;
  const conversationOf = async (triggerId: string) =>
    (await h.app.db.pool.query<{ conversation_id: string }>("select conversation_id from messages where platform_message_id = $1", [`trigger:${triggerId}`])).rows[0]
      ?.conversation_id;

  it("acks before any Web API call; the question and its answer share a thread, and a reply there continues the conversation", async () => {
    const before = h.api.calls.length;
    const res = await h.slash({ text: "How do I change my billing email?", channelId: "C0SUPPORT", triggerId: "1700.1.first" });
    const ackedAt = performance.now();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response_type: "ephemeral", text: LOOKING_TEXT });

    const question = await h.api.waitForCall("chat.postMessage", (c) => c.args["channel"] === "C0SUPPORT" && c.args["thread_ts"] === undefined, "the question post");
    const threadTs = question.response["ts"] as string;
    const answer = await h.api.waitForCall("chat.postMessage", inThread(threadTs), "the answer in the question's thread");
    expect(answer.args["channel"]).toBe("C0SUPPORT");
    expect(answer.args["text"]).toBe("<@U0ALICE> Answer to: How do I change my billing email?");
    // Slack had its answer before the first Web API call of this command was made.
    const made = h.api.calls.slice(before);
    expect(made[0]).toBe(question);
    expect(made[0]!.at).toBeGreaterThan(ackedAt);
    expect(made.map((c) => c.method)).toEqual(["chat.postMessage", "chat.postMessage"]);

    // The conversation lives under the thread's key now; both rows went out, the question first.
    const conversationId = await conversationOf("1700.1.first");
    expect((await h.app.log.findConversationByKey("slack", `slack:T0TEST:C0SUPPORT:${threadTs}`))?.id).toBe(conversationId);
    // The sent mark follows the post's answer from Slack: it may be written a moment after the
    // stand-in saw the call (the test's queries no longer queue behind it on the embedded pool).
    await expect.poll(() => outbound(conversationId!)).toEqual([
      { kind: "question_post", status: "sent", parts_sent: 0 },
      { kind: "message", status: "sent", parts_sent: 1 },
    ]);

    await h.event({
      type: "message",
      channel: "C0SUPPORT",
      channel_type: "channel",
      ts: "1800000100.000100",
      thread_ts: threadTs,
      parent_user_id: h.api.botUserId,
      text: "and the address on my invoices?",
    });
    const followUp = await h.api.waitForCall("chat.postMessage", (c) => inThread(threadTs)(c) && /invoices/.test(String(c.args["text"])), "the answer to the follow-up");
    expect(followUp.args["text"]).toBe("Answer to: and the address on my invoices?");
    const inbound = await h.app.db.pool.query("select text from messages where conversation_id = $1 and direction = 'in' order by seq", [conversationId]);
    expect(inbound.rows.map((r) => r.text)).toEqual(["How do I change my billing email?", "and the address on my invoices?"]);
  });

  it("resumes a reply whose third part Slack did not take, posting no part twice", async () => {
    let threadPosts = 0;
    h.api.respondWith("chat.postMessage", (args) => {
      if (args["channel"] !== "C0LONG" || args["thread_ts"] === undefined) return undefined;
      threadPosts += 1;
      return threadPosts === 3 ? { ok: false, error: "internal_error" } : undefined;
    });
    try {
      const res = await h.slash({ text: "Tell me everything about exports", channelId: "C0LONG", triggerId: "1700.2.long" });
      expect(await res.json()).toEqual({ response_type: "ephemeral", text: LOOKING_TEXT });
      const conversationId = await conversationOf("1700.2.long");
      // The outbox (or the job, whichever comes first) retries after its backoff.
      await expect
        .poll(async () => (await outbound(conversationId!)).map((r) => r.status), { timeout: 20_000, interval: 100 })
        .toEqual(["sent", "sent"]);

      const question = h.api.callsTo("chat.postMessage", (c) => c.args["channel"] === "C0LONG" && c.args["thread_ts"] === undefined);
      expect(question).toHaveLength(1);
      const threadTs = question[0]!.response["ts"] as string;
      const attempts = h.api.calls.filter(inThread(threadTs));
      const taken = attempts.filter((c) => c.response["ok"] === true);
      const [refused] = attempts.filter((c) => c.response["ok"] === false);
      expect(taken.length).toBeGreaterThanOrEqual(4);
      // The part that failed was the third, and the retry started there: every part once, in order.
      expect(attempts.indexOf(refused!)).toBe(2);
      expect(sectionTexts(taken[2]!)).toEqual(sectionTexts(refused!));
      expect(taken.flatMap(sectionTexts).join("\n\n")).toBe(`<@U0ALICE> ${PARAGRAPHS.join("\n\n")}`);
      expect(new Set(taken.map((c) => sectionTexts(c)[0])).size).toBe(taken.length);
      const [, reply] = await outbound(conversationId!);
      expect(reply).toEqual({ kind: "message", status: "sent", parts_sent: taken.length });
    } finally {
      h.api.respondWith("chat.postMessage", undefined);
    }
  });

  it("posts neither the question nor the answer twice when Slack took them but the answer to the call was lost", async () => {
    h.api.loseAnswers("chat.postMessage", (args) => args["channel"] === "C0LOST" && args["thread_ts"] === undefined);
    h.api.loseAnswers("chat.postMessage", (args) => args["channel"] === "C0LOST" && args["thread_ts"] !== undefined);
    const res = await h.slash({ text: "Where do I find my invoices?", channelId: "C0LOST", triggerId: "1700.5.lost" });
    expect(await res.json()).toEqual({ response_type: "ephemeral", text: LOOKING_TEXT });
    const conversationId = await conversationOf("1700.5.lost");
    // Each lost answer costs one outbox retry (2 s, then 4 s backoff).
    await expect
      .poll(async () => (await outbound(conversationId!)).map((r) => r.status), { timeout: 30_000, interval: 100 })
      .toEqual(["sent", "sent"]);

    const posted = h.api.postedIn("C0LOST");
    expect(posted.map((m) => [m["thread_ts"] === undefined ? "question" : "answer", m["text"]])).toEqual([
      ["question", expect.stringContaining("Where do I find my invoices?")],
      ["answer", "<@U0ALICE> Answer to: Where do I find my invoices?"],
    ]);
    // The answer went in the thread of the question post the first attempt made.
    expect(posted[1]!["thread_ts"]).toBe(posted[0]!["ts"]);
    // Each post was attempted twice; the second attempt read Slack first and found it there.
    expect(h.api.callsTo("chat.postMessage", (c) => c.args["channel"] === "C0LOST")).toHaveLength(2);
    expect(h.api.callsTo("conversations.history", (c) => c.args["channel"] === "C0LOST")).toHaveLength(1);
    expect(h.api.callsTo("conversations.replies", (c) => c.args["channel"] === "C0LOST")).toHaveLength(1);
  });

  it("answers the asker privately when the question cannot be posted, and gives the post up at once", async () => {
    h.api.respondWith("chat.postMessage", (args) => (args["channel"] === "C0NOBOT" ? { ok: false, error: "not_in_channel" } : undefined));
    try {
      const responseUrl = h.api.responseUrl();
      const id = responseUrl.slice(responseUrl.lastIndexOf("/") + 1);
      const res = await h.slash({ text: "Is the API down?", channelId: "C0NOBOT", triggerId: "1700.3.nobot", responseUrl });
      expect(await res.json()).toEqual({ response_type: "ephemeral", text: LOOKING_TEXT });
      await h.api.waitForResponse((p) => p.id === id && /Answer to: Is the API down\?/.test(String(p.body["text"])));
      expect(h.api.responses.filter((p) => p.id === id).map((p) => [p.body["response_type"], p.body["text"]])).toEqual([
        ["ephemeral", CANNOT_POST_TEXT],
        ["ephemeral", "Answer to: Is the API down?"],
      ]);
      const conversationId = await conversationOf("1700.3.nobot");
      await expect.poll(async () => (await outbound(conversationId!)).map((r) => `${r.kind}:${r.status}`)).toEqual(["question_post:failed", "message:sent"]);
      expect(h.api.callsTo("chat.postMessage", (c) => c.args["channel"] === "C0NOBOT")).toHaveLength(1);
    } finally {
      h.api.respondWith("chat.postMessage", undefined);
    }
  });

  it("after a restart (no memory of the thread), a reply in it still continues the conversation: its key was rewritten", async () => {
    await h.slash({ text: "Can I pay by invoice?", channelId: "C0RESTART", triggerId: "1700.4.restart" });
    const question = await h.api.waitForCall("chat.postMessage", (c) => c.args["channel"] === "C0RESTART" && c.args["thread_ts"] === undefined, "the question post");
    const threadTs = question.response["ts"] as string;
    await h.api.waitForCall("chat.postMessage", inThread(threadTs), "the first answer");

    const after = await h.restart();
    // No parent_user_id: only the core can tell this thread is a conversation with the bot.
    await after.event({ type: "message", channel: "C0RESTART", channel_type: "channel", ts: "1800000200.000100", thread_ts: threadTs, text: "in euros too?" });
    const answer = await h.api.waitForCall("chat.postMessage", (c) => inThread(threadTs)(c) && /euros/.test(String(c.args["text"])), "the answer after the restart");
    expect(answer.args["text"]).toBe("Answer to: in euros too?");
    const conversationId = await conversationOf("1700.4.restart");
    const inbound = await h.app.db.pool.query("select text from messages where conversation_id = $1 and direction = 'in' order by seq", [conversationId]);
    expect(inbound.rows.map((r) => r.text)).toEqual(["Can I pay by invoice?", "in euros too?"]);
  });
});
