import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SlackApiCall } from "../stand-ins/slack-api.ts";
import { postSigned, slashCommandBody } from "../stand-ins/slack-requests.ts";
import { SIGNING_SECRET, STAFF_CHANNEL, startPlatformHarness, type PlatformHarness } from "./platform-harness.ts";

/**
 * A Slack channel and a thread in it are shared; a conversation is one person's. `/support` gives
 * each question its own thread; someone writing in another person's thread (a reply, or a mention)
 * gets their own conversation there: Alice's handoff must not silence the bot for Bob, and nothing
 * Bob writes may reach Alice's staff thread.
 */

const HELP = "C0HELP";
const ALICE = "U0ALICE";
const BOB = "U0BOB";
const RELAYED = /passed to|reply right here/i;

describe("Slack: each person their own conversation, even in someone else's thread (real Bolt, whole service)", () => {
  let h: PlatformHarness;
  let ts = 1_800_000_000;
  const nextTs = () => `${++ts}.000100`;

  beforeAll(async () => {
    h = await startPlatformHarness();
  });
  afterAll(async () => h?.close());

  const inThread = (threadTs: string, pattern: RegExp) => (c: SlackApiCall) =>
    c.args["channel"] === HELP && c.args["thread_ts"] === threadTs && pattern.test(String(c.args["text"]));
  const staffThreadText = (cardTs: string) =>
    h.slackApi.callsTo("chat.postMessage", (c) => c.args["channel"] === STAFF_CHANNEL && c.args["thread_ts"] === cardTs).map((c) => String(c.args["text"])).join("\n");

  /** `/support <text>` as `user`: the question's thread. */
  async function support(user: string, text: string): Promise<string> {
    const res = await postSigned(`${h.url}/slack/events`, slashCommandBody({ text, userId: user, userName: user.toLowerCase(), channelId: HELP, responseUrl: h.slackApi.responseUrl() }), "application/x-www-form-urlencoded", { signingSecret: SIGNING_SECRET });
    expect(res.status).toBe(200);
    const question = await h.slackApi.waitForCall("chat.postMessage", (c) => c.args["channel"] === HELP && c.args["thread_ts"] === undefined && String(c.args["text"]).includes(text), "the question post");
    return question.response["ts"] as string;
  }

  it("Alice is handed to a person; Bob's /support, his reply and his mention in Alice's thread are answered by the bot, and none reaches her staff thread", async () => {
    const { slackApi } = h;
    const aliceThread = await support(ALICE, "I want to talk to a human");
    await slackApi.waitForCall("chat.postMessage", inThread(aliceThread, /<@U0ALICE>/), "the handoff reply to Alice");
    const card = await slackApi.waitForCall("chat.postMessage", (c) => c.args["channel"] === STAFF_CHANNEL && c.args["thread_ts"] === undefined, "Alice's handoff card");
    const cardTs = card.response["ts"] as string;
    await h.app.handoffService.idle();

    // Bob's own /support: its own thread, answered by the bot.
    const bobThread = await support(BOB, "How do I reset my password?");
    const bobAnswer = await slackApi.waitForCall("chat.postMessage", inThread(bobThread, /password/i), "the bot's answer to Bob");
    expect(String(bobAnswer.args["text"])).not.toMatch(RELAYED);

    // Bob replies in Alice's thread: the bot answers him there, naming him.
    await h.slackEvent({ type: "message", channel: HELP, channel_type: "channel", user: BOB, ts: nextTs(), thread_ts: aliceThread, parent_user_id: slackApi.botUserId, text: "How do I export my data?" });
    const toBob = await slackApi.waitForCall("chat.postMessage", inThread(aliceThread, /export/i), "the bot's answer to Bob in Alice's thread");
    expect(String(toBob.args["text"])).toMatch(/^<@U0BOB> /);

    // Bob mentions the bot in Alice's thread: the same conversation of his.
    await h.slackEvent({ type: "app_mention", channel: HELP, user: BOB, ts: nextTs(), thread_ts: aliceThread, text: `<@${slackApi.botUserId}> how do I download my invoices?` });
    // (Bob's chat account is linked to no customer: he is told so, and sees nothing of Alice's.)
    await slackApi.waitForCall("chat.postMessage", inThread(aliceThread, /^<@U0BOB> .*billing details/is), "the bot's answer to Bob's mention");

    // Alice's own reply still goes to her person.
    await h.slackEvent({ type: "message", channel: HELP, channel_type: "channel", user: ALICE, ts: nextTs(), thread_ts: aliceThread, parent_user_id: slackApi.botUserId, text: "Is anyone there?" });
    await slackApi.waitForCall("chat.postMessage", (c) => c.args["channel"] === STAFF_CHANNEL && c.args["thread_ts"] === cardTs && /Is anyone there\?/.test(String(c.args["text"])), "Alice's reply in her staff thread");
    await h.app.handoffService.idle();
    expect(staffThreadText(cardTs)).not.toMatch(/export|invoices|password/i);

    const conversations = await h.app.log.searchConversations({ platform: "slack" });
    const keyOf = (user: string) => conversations.filter((c) => c.userId === user).map((c) => c.conversationKey).sort();
    expect(keyOf(ALICE)).toEqual([`slack:T0TEST:${HELP}:${aliceThread}`]);
    expect(keyOf(BOB)).toEqual([`slack:T0TEST:${HELP}:${aliceThread}:user.${BOB}`, `slack:T0TEST:${HELP}:${bobThread}`].sort());
    expect(conversations.find((c) => c.userId === ALICE)?.status).toBe("waiting");
    expect(conversations.filter((c) => c.userId === BOB).map((c) => c.status)).toEqual(["bot", "bot"]);
  });
});
