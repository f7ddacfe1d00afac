import { performance } from "node:perf_hooks";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BODY_LIMIT_BYTES } from "../../bots/slack/index.ts";
import { CANNOT_POST_TEXT, LOOKING_TEXT, MENTION_HINT_TEXT, USAGE_TEXT } from "../../bots/slack/texts.ts";
import type { ReplySection } from "../../src/types.ts";
import type { SlackApiCall } from "../stand-ins/slack-api.ts";
import { eventCallback, postSigned, slashCommandBody, type SlashCommandFields, type SlackEventFields } from "../stand-ins/slack-requests.ts";
import { FakeCore } from "./fake-core.ts";
import { BOT_TOKEN, SIGNING_SECRET, startHarness, VERIFICATION_TOKEN, type Harness } from "./harness.ts";

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

/** Two workers answered "refund" questions; everything else gets a one-part answer. */
const TWO_TOPICS: ReplySection[] = [
  {
    route: "billing",
    title: "Refunds",
    text: "Refunds reach your card in **5 business days**.",
    sources: [{ title: "Refund policy", url: "https://help.example.com/refunds" }],
  },
  {
    route: "tech_support",
    title: "Signing in",
    text: "Reset your password from [the reset page](https://example.com/reset).",
    sources: [{ title: "Password reset", path: "tech/password-reset.md" }],
  },
];

function newSink(): FakeCore {
  return new FakeCore({
    answer: (m) =>
      /refund/i.test(m.text)
        ? // The text as the core composes it from two sections: each part under its title.
          { text: TWO_TOPICS.map((t) => `**${t.title}**\n${t.text}`).join("\n\n"), sections: TWO_TOPICS }
        : { text: `Answer to: ${m.text}` },
  });
}

function sectionTexts(call: SlackApiCall): string[] {
  const blocks = call.args["blocks"] as { type: string; text?: { text: string }; elements?: { text: string }[] }[];
  return blocks.map((b) => b.text?.text ?? b.elements?.map((e) => e.text).join(" ") ?? `(${b.type})`);
}

function slash(h: Harness, fields: SlashCommandFields, options: { timestampSec?: number } = {}) {
  return postSigned(h.eventsUrl, slashCommandBody(fields), FORM, { signingSecret: SIGNING_SECRET, ...options });
}

/** The response, and when it arrived (on the clock the Web API stand-in stamps its calls with). */
async function arrival(response: Promise<Response>): Promise<{ res: Response; at: number }> {
  const res = await response;
  return { res, at: performance.now() };
}

function event(h: Harness, fields: SlackEventFields, headers: Record<string, string> = {}) {
  return postSigned(h.eventsUrl, JSON.stringify(eventCallback(fields)), JSON_TYPE, {
    signingSecret: SIGNING_SECRET,
    headers,
  });
}

describe("Slack over HTTP (real Bolt app, Web API stand-in)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ transport: "http", sink: newSink() });
  });

  afterAll(async () => {
    await h?.close();
  });

  it("acks /support ephemerally before posting the question, then answers in its thread with one section per topic", async () => {
    const { res, at: ackedAt } = await arrival(
      slash(h, {
        text: "Can I get a refund? Also I can't log in",
        channelId: "C0SUPPORT",
        triggerId: "trigger-refund-1",
        token: VERIFICATION_TOKEN,
      }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response_type: "ephemeral", text: LOOKING_TEXT });
    // Stored before the ack, posted after it.
    expect(h.sink.stored.map((s) => s.message.platformMessageId)).toContain("trigger:trigger-refund-1");

    // The question, quoted with who asked, is the thread's parent.
    const question = await h.api.waitForCall("chat.postMessage", (c) => c.args["channel"] === "C0SUPPORT");
    expect(question.at).toBeGreaterThan(ackedAt);
    expect(question.args["thread_ts"]).toBeUndefined();
    expect(sectionTexts(question)[0]).toBe("*<@U0ALICE> asked:*\n>Can I get a refund? Also I can't log in");
    const threadTs = question.response["ts"] as string;

    const answer = await h.api.waitForCall("chat.postMessage", (c) => c.args["thread_ts"] === threadTs);
    expect(answer.args["channel"]).toBe("C0SUPPORT");
    expect(sectionTexts(answer)).toEqual([
      "<@U0ALICE> *Refunds*\nRefunds reach your card in \u200b*5 business days*\u200b.",
      "Sources: <https://help.example.com/refunds|Refund policy>",
      "(divider)",
      "*Signing in*\nReset your password from <https://example.com/reset|the reset page>.",
      "Sources: Password reset",
    ]);
    expect(answer.token).toBe(BOT_TOKEN);

    // The conversation moved to the thread: found under its key, answered there from now on.
    const key = `slack:T0TEST:C0SUPPORT:${threadTs}`;
    const [stored] = h.sink.storedFor(key);
    expect(stored?.message).toMatchObject({
      platform: "slack",
      userId: "U0ALICE",
      userName: "alice",
      text: "Can I get a refund? Also I can't log in",
      platformMessageId: "trigger:trigger-refund-1",
      replyContext: { channel: "C0SUPPORT", threadTs, askerId: "U0ALICE" },
    });
    await event(h, {
      type: "message",
      channel: "C0SUPPORT",
      channel_type: "channel",
      ts: `${Number(threadTs.split(".")[0]) + 5}.000100`,
      thread_ts: threadTs,
      parent_user_id: "U0BOT",
      text: "and for annual plans?",
    });
    expect(h.sink.storedFor(key).map((s) => s.message.text)).toEqual(["Can I get a refund? Also I can't log in", "and for annual plans?"]);
    await h.api.waitForCall("chat.postMessage", (c) => c.args["thread_ts"] === threadTs && sectionTexts(c)[0] === "Answer to: and for annual plans?");
  });

  it("answers /support without a question with usage help and submits nothing", async () => {
    const attempts = h.sink.attempts.length;
    const calls = h.api.calls.length;
    const res = await slash(h, { text: "   " });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response_type: "ephemeral", text: USAGE_TEXT });
    expect(h.sink.attempts.length).toBe(attempts);
    expect(h.api.calls.length).toBe(calls);
  });

  it("tells the asker privately when it cannot post in the channel, and answers there", async () => {
    h.api.respondWith("chat.postMessage", (args) =>
      args["channel"] === "C0PRIVATE" ? { ok: false, error: "not_in_channel" } : undefined,
    );
    try {
      const responseUrl = h.api.responseUrl();
      const id = responseUrl.slice(responseUrl.lastIndexOf("/") + 1);
      const res = await slash(h, { text: "hello?", channelId: "C0PRIVATE", responseUrl });
      expect(await res.json()).toEqual({ response_type: "ephemeral", text: LOOKING_TEXT });
      const answer = await h.api.waitForResponse((p) => p.id === id && p.body["text"] === "Answer to: hello?");
      const notes = h.api.responses.filter((p) => p.id === id);
      expect(notes.map((p) => p.body["text"])).toEqual([CANNOT_POST_TEXT, "Answer to: hello?"]);
      expect(notes.every((p) => p.body["response_type"] === "ephemeral")).toBe(true);
      expect(answer.body["replace_original"]).toBe(false);
      // Nothing reached the channel: the question post was refused once, and not retried.
      expect(h.api.callsTo("chat.postMessage", (c) => c.args["channel"] === "C0PRIVATE")).toHaveLength(1);
    } finally {
      h.api.respondWith("chat.postMessage", undefined);
    }
  });

  it("answers an empty mention with a hint in its thread, after the ack", async () => {
    const attempts = h.sink.attempts.length;
    const { res, at } = await arrival(event(h, { type: "app_mention", channel: "C0HINT", ts: "1700000050.000100", text: "<@U0BOT>" }));
    expect(res.status).toBe(200);
    const hint = await h.api.waitForCall("chat.postMessage", (c) => c.args["channel"] === "C0HINT");
    expect(hint.at).toBeGreaterThan(at);
    expect(hint.args).toMatchObject({ thread_ts: "1700000050.000100", text: MENTION_HINT_TEXT });
    expect(h.sink.attempts.length).toBe(attempts);
  });

  it("answers an app_mention in its thread, and a reply in that thread continues the conversation without a mention", async () => {
    const res = await event(h, {
      type: "app_mention",
      channel: "C0MENTION",
      ts: "1700000100.000100",
      text: "<@U0BOT> how do I export my data?",
    });
    expect(res.status).toBe(200);
    const key = "slack:T0TEST:C0MENTION:1700000100.000100";
    expect(h.sink.storedFor(key).map((s) => s.message.text)).toEqual(["how do I export my data?"]);
    const first = await h.api.waitForCall("chat.postMessage", (c) => c.args["thread_ts"] === "1700000100.000100");
    expect(first.args["channel"]).toBe("C0MENTION");
    expect(sectionTexts(first)).toEqual(["Answer to: how do I export my data?"]);

    // A plain reply in the thread (Slack sends it as message.channels with thread_ts).
    await event(h, {
      type: "message",
      channel: "C0MENTION",
      channel_type: "channel",
      ts: "1700000105.000200",
      thread_ts: "1700000100.000100",
      parent_user_id: "U0ALICE",
      text: "and as CSV?",
    });
    expect(h.sink.storedFor(key).map((s) => s.message.text)).toEqual(["how do I export my data?", "and as CSV?"]);
    expect(new Set(h.sink.storedFor(key).map((s) => s.conversationId)).size).toBe(1);
    await h.api.waitForCall(
      "chat.postMessage",
      (c) => c.args["thread_ts"] === "1700000100.000100" && sectionTexts(c)[0] === "Answer to: and as CSV?",
    );
  });

  it("ignores thread replies in threads the bot is not part of, edits, and bot messages", async () => {
    const attempts = h.sink.attempts.length;
    const common = { type: "message" as const, channel: "C0RANDOM", channel_type: "channel" as const };
    // Each response comes after the listeners ran (processBeforeResponse), so nothing can follow.
    await event(h, { ...common, ts: "1700000200.000001", thread_ts: "1700000199.000001", text: "unrelated thread" });
    await event(h, { ...common, ts: "1700000200.000002", text: "top-level chatter" });
    await event(h, { ...common, ts: "1700000200.000003", subtype: "message_changed", text: "edit" });
    await event(h, {
      type: "message",
      channel: "D0ALICE",
      channel_type: "im",
      ts: "1700000200.000004",
      bot_id: "B0OTHER",
      subtype: "bot_message",
      text: "another bot",
    });
    await event(h, { type: "message", channel: "D0ALICE", channel_type: "im", ts: "1700000200.000005", user: "U0BOT", text: "me" });
    expect(h.sink.attempts.length).toBe(attempts);
  });

  it("answers a direct message in the DM", async () => {
    await event(h, { type: "message", channel: "D0ALICE", channel_type: "im", ts: "1700000300.000100", text: "is there a free trial?" });
    const [stored] = h.sink.storedFor("slack:T0TEST:D0ALICE");
    expect(stored?.message.text).toBe("is there a free trial?");
    const reply = await h.api.waitForCall("chat.postMessage", (c) => c.args["channel"] === "D0ALICE");
    expect(reply.args["thread_ts"]).toBeUndefined();
    expect(sectionTexts(reply)).toEqual(["Answer to: is there a free trial?"]);
  });

  it("answers a group DM (mpim) in the group DM; a mention there is left to app_mention", async () => {
    await event(h, { type: "message", channel: "G0GROUP", channel_type: "mpim", ts: "1700000350.000100", user: "U0CAROL", text: "do you offer a nonprofit discount?" });
    const [stored] = h.sink.storedFor("slack:T0TEST:G0GROUP");
    expect(stored?.message.text).toBe("do you offer a nonprofit discount?");
    const reply = await h.api.waitForCall("chat.postMessage", (c) => c.args["channel"] === "G0GROUP");
    expect(reply.args["thread_ts"]).toBeUndefined();
    expect(sectionTexts(reply)).toEqual(["Answer to: do you offer a nonprofit discount?"]);

    const attempts = h.sink.attempts.length;
    await event(h, { type: "message", channel: "G0GROUP", channel_type: "mpim", ts: "1700000350.000200", user: "U0CAROL", text: "<@U0BOT> and for schools?" });
    expect(h.sink.attempts.length).toBe(attempts);
  });

  it("answers a retried event (x-slack-retry-num) once", async () => {
    const mention: SlackEventFields = {
      type: "app_mention",
      channel: "C0RETRY",
      ts: "1700000400.000100",
      text: "<@U0BOT> where is my invoice?",
    };
    await event(h, mention);
    const retry = await event(h, mention, { "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" });
    expect(retry.status).toBe(200);
    await h.sink.waitForDelivery((r) => r.conversationKey === "slack:T0TEST:C0RETRY:1700000400.000100");
    expect(h.sink.storedFor("slack:T0TEST:C0RETRY:1700000400.000100")).toHaveLength(1);
    // The retry was answered by Slack's ack only: one reply in the thread.
    expect(h.api.callsTo("chat.postMessage", (c) => c.args["channel"] === "C0RETRY")).toHaveLength(1);
  });

  it("refuses a bad signature and a stale timestamp with 401 and processes nothing", async () => {
    const attempts = h.sink.attempts.length;
    const body = slashCommandBody({ text: "refund please" });

    const forged = await postSigned(h.eventsUrl, body, FORM, { signingSecret: "not-the-secret" });
    expect(forged.status).toBe(401);
    const tampered = await postSigned(h.eventsUrl, body, FORM, {
      signingSecret: SIGNING_SECRET,
      signature: "v0=" + "0".repeat(64),
    });
    expect(tampered.status).toBe(401);
    const unsigned = await fetch(h.eventsUrl, { method: "POST", headers: { "content-type": FORM }, body });
    expect(unsigned.status).toBe(401);
    const stale = await slash(h, { text: "refund please" }, { timestampSec: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    // Signed for an hour ahead: replayable for an hour, so refused the same way.
    const future = await slash(h, { text: "refund please" }, { timestampSec: Math.floor(Date.now() / 1000) + 60 * 60 });
    expect(future.status).toBe(401);
    expect(await future.json()).toEqual({ error: "invalid_timestamp" });
    // A minute off either way is clock drift, and accepted.
    expect((await slash(h, { text: "what plans do you offer?" }, { timestampSec: Math.floor(Date.now() / 1000) + 60 })).status).toBe(200);

    expect(h.sink.attempts.length).toBe(attempts + 1);
  });

  it("refuses a signed body that is no request Slack sends (an action without its user, an event callback without its event) with 400", async () => {
    const attempts = h.sink.attempts.length;
    const action = `payload=${encodeURIComponent(JSON.stringify({ type: "block_actions", actions: [{ action_id: "handoff_claim", value: "h1" }] }))}`;
    const noUser = await postSigned(h.eventsUrl, action, FORM, { signingSecret: SIGNING_SECRET });
    expect(noUser.status).toBe(400);
    const noEvent = await postSigned(h.eventsUrl, JSON.stringify({ type: "event_callback", team_id: "T0TEST" }), "application/json", { signingSecret: SIGNING_SECRET });
    expect(noEvent.status).toBe(400);
    expect(h.sink.attempts.length).toBe(attempts);
  });

  it("refuses a body over the documented limit (1 MiB) with 413", async () => {
    expect(DEFAULT_BODY_LIMIT_BYTES).toBe(1024 * 1024);
    const attempts = h.sink.attempts.length;
    const body = JSON.stringify(
      eventCallback({ type: "app_mention", channel: "C0BIG", ts: "1700000500.000100", text: "x".repeat(DEFAULT_BODY_LIMIT_BYTES) }),
    );
    const res = await postSigned(h.eventsUrl, body, JSON_TYPE, { signingSecret: SIGNING_SECRET });
    expect(res.status).toBe(413);
    expect(h.sink.attempts.length).toBe(attempts);
  });

  it("answers Slack's url_verification challenge", async () => {
    const body = JSON.stringify({ token: "t", challenge: "challenge-abc", type: "url_verification" });
    const res = await postSigned(h.eventsUrl, body, JSON_TYPE, { signingSecret: SIGNING_SECRET });
    expect(await res.json()).toEqual({ challenge: "challenge-abc" });
  });

  it("delivers a long reply as several messages in the thread, within Slack's limits", async () => {
    const paragraphs = Array.from({ length: 40 }, (_, i) => `Paragraph ${i + 1}. ${"word ".repeat(498)}`.trim());
    await h.adapter.deliver({
      platform: "slack",
      conversationKey: "slack:T0TEST:C0LONG:1700000600.000100",
      conversationId: "conv-long",
      text: paragraphs.join("\n\n"),
      sections: [],
      author: { kind: "bot" },
      idempotencyKey: "long-1",
    });
    const posts = h.api.callsTo("chat.postMessage", (c) => c.args["channel"] === "C0LONG");
    expect(posts.length).toBeGreaterThan(1);
    for (const post of posts) {
      expect(post.args["thread_ts"]).toBe("1700000600.000100");
      const texts = sectionTexts(post);
      expect(texts.length).toBeLessThanOrEqual(50);
      expect(texts.join("").length).toBeLessThanOrEqual(40_000);
      for (const text of texts) expect(text.length).toBeLessThanOrEqual(3000);
      expect((post.args["text"] as string).length).toBeLessThanOrEqual(3000);
    }
    // Split on paragraph boundaries, in order, nothing lost.
    expect(posts.flatMap(sectionTexts).join("\n\n")).toBe(paragraphs.join("\n\n"));
  });

  it("shows a relayed agent reply as from that person", async () => {
    await h.adapter.deliver({
      platform: "slack",
      conversationKey: "slack:T0TEST:D0BOB",
      conversationId: "conv-agent",
      text: "I've refunded **$20** to your card.",
      sections: [],
      author: { kind: "agent", name: "Dana" },
      idempotencyKey: "agent-1",
    });
    const [post] = h.api.callsTo("chat.postMessage", (c) => c.args["channel"] === "D0BOB");
    expect(post?.args["thread_ts"]).toBeUndefined();
    expect(sectionTexts(post!)).toEqual(["*Dana (support):* I've refunded \u200b*$20*\u200b to your card."]);
  });

  it("never writes a token or the signing secret to the log, even at trace level", async () => {
    await slash(h, { text: "refund for order 42", channelId: "C0LOGS", token: VERIFICATION_TOKEN });
    await event(h, { type: "app_mention", channel: "C0LOGS", ts: "1700000700.000100", text: "<@U0BOT> hi there" });
    await h.sink.waitForDelivery((r) => r.conversationKey === "slack:T0TEST:C0LOGS:1700000700.000100");
    const logs = h.logs.text;
    // The capture works: the WebClient's own debug lines about its calls are in it.
    expect(logs).toContain("chat.postMessage");
    expect(logs).not.toContain(BOT_TOKEN);
    expect(logs).not.toContain(SIGNING_SECRET);
    expect(logs).not.toContain(VERIFICATION_TOKEN);
    expect(logs).not.toMatch(/xox[bp]-/);
  });
});

describe("Slack over HTTP, acked as soon as a listener acks (processBeforeResponse: false)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ transport: "http", logLevel: "warn", adapter: { processBeforeResponse: false } });
  });

  afterAll(async () => {
    await h?.close();
  });

  it("acknowledges an event before the core has stored it", async () => {
    const release = h.sink.hold();
    const res = await event(h, { type: "app_mention", channel: "C0FAST", ts: "1700000800.000100", text: "<@U0BOT> hi" });
    expect(res.status).toBe(200);
    expect(h.sink.stored).toHaveLength(0);
    release();
    await h.sink.waitForDelivery((r) => r.conversationKey === "slack:T0TEST:C0FAST:1700000800.000100");
  });

  it("acknowledges /support once it is stored, and posts nothing before that", async () => {
    const release = h.sink.hold();
    const attempts = h.sink.attempts.length;
    const pending = arrival(slash(h, { text: "slow database day", channelId: "C0SLOW" }));
    await h.sink.waitForAttempts(attempts + 1);
    expect(h.api.callsTo("chat.postMessage", (c) => c.args["channel"] === "C0SLOW")).toHaveLength(0);
    release();
    const { res, at } = await pending;
    expect(await res.json()).toEqual({ response_type: "ephemeral", text: LOOKING_TEXT });
    const reply = await h.sink.waitForDelivery((r) => r.text === "Answer to: slow database day");
    expect(reply.conversationKey).toMatch(/^slack:T0TEST:C0SLOW:\d+\.\d+$/);
    const [question] = h.api.callsTo("chat.postMessage", (c) => c.args["channel"] === "C0SLOW");
    expect(question!.at).toBeGreaterThan(at);
  });
});

describe("Slack /support when the response to Slack is slow to go out", () => {
  it("holds the question post until the HTTP response was written", async () => {
    let h: Harness | undefined;
    h = await startHarness({
      transport: "http",
      configureServer: (server) => {
        // The response to a slash command goes out only once the core handed the adapter its
        // question post, and the adapter either holds it (right) or posted it (wrong).
        server.addHook("onSend", async (request, _reply, payload) => {
          if (!String(request.headers["content-type"]).startsWith(FORM) || !h) return payload;
          await Promise.race([
            h.logs.waitFor(/holding the delivery until Slack has its ack/),
            h.api.waitForCall("chat.postMessage", (c) => c.args["channel"] === "C0GATE"),
          ]);
          return payload;
        });
      },
    });
    try {
      const { res, at } = await arrival(slash(h, { text: "is the gate shut?", channelId: "C0GATE" }));
      expect(await res.json()).toEqual({ response_type: "ephemeral", text: LOOKING_TEXT });
      const question = await h.api.waitForCall("chat.postMessage", (c) => c.args["channel"] === "C0GATE");
      expect(question.at).toBeGreaterThan(at);
      await h.sink.waitForDelivery((r) => r.text === "Answer to: is the gate shut?");
    } finally {
      await h.close();
    }
  });
});

describe("the fastify plugin on a shared server", () => {
  it("keeps its raw-body parser and body limit to its own route", async () => {
    const h = await startHarness({ transport: "http", logLevel: "warn" });
    const server = Fastify();
    server.post("/api/echo", async (request) => request.body);
    await server.register(h.adapter.httpPlugin);
    try {
      const echo = await server.inject({ method: "POST", url: "/api/echo", payload: { hello: "json" } });
      expect(echo.json()).toEqual({ hello: "json" });
      const unsigned = await server.inject({ method: "POST", url: "/slack/events", payload: { type: "event_callback" } });
      expect(unsigned.statusCode).toBe(401);
    } finally {
      await server.close();
      await h.close();
    }
  });
});

describe("Slack redelivery after a restart", () => {
  it("is dropped by the core's dedupe: no second answer, no second question post", async () => {
    const core = new FakeCore();
    const mention: SlackEventFields = { type: "app_mention", channel: "C0RESTART", ts: "1700000900.000100", text: "<@U0BOT> ping" };
    const command: SlashCommandFields = { text: "restart question", channelId: "C0RESTART", triggerId: "trigger-restart" };

    const before = await startHarness({ transport: "http", sink: core, logLevel: "warn" });
    try {
      await event(before, mention);
      await slash(before, command);
      await core.waitForDelivery((r) => r.text === "Answer to: restart question");
      await core.waitForDelivery((r) => r.text === "Answer to: ping");
    } finally {
      await before.close();
    }

    // A new process: empty memory, same core, same Slack.
    const after = await startHarness({ transport: "http", sink: core, logLevel: "warn" });
    try {
      const retried = await event(after, mention, { "x-slack-retry-num": "2", "x-slack-retry-reason": "http_error" });
      expect(retried.status).toBe(200);
      const again = await slash(after, command);
      expect(again.status).toBe(200);
      expect(core.duplicates.map((m) => m.platformMessageId).sort()).toEqual(
        ["T0TEST:C0RESTART:1700000900.000100", "trigger:trigger-restart"].sort(),
      );
      expect(core.deliveries.map((d) => d.kind)).toEqual(expect.arrayContaining(["question_post", "message", "message"]));
      expect(core.deliveries).toHaveLength(3);
      // The question is stored before anything is posted: the redelivery posted nothing at all.
      expect(after.api.callsTo("chat.postMessage")).toHaveLength(0);
      expect(after.api.callsTo("chat.delete")).toHaveLength(0);
    } finally {
      await after.close();
    }
  });
});
