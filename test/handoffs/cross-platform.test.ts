import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STAFF_ACTION_IDS } from "../../bots/slack/staff.ts";
import type { RestCall } from "../stand-ins/discord.ts";
import type { SlackApiCall } from "../stand-ins/slack-api.ts";
import { STAFF, STAFF_CHANNEL, startPlatformHarness, type PlatformHarness } from "./platform-harness.ts";

interface Block {
  type: string;
  text?: { text: string };
  fields?: Array<{ text: string }>;
  elements?: Array<{ type: string; action_id?: string; value?: string; text?: { text: string } | string }>;
}

const blocksOf = (call: SlackApiCall) => call.args["blocks"] as Block[];
const buttonsOf = (call: SlackApiCall) =>
  blocksOf(call)
    .filter((b) => b.type === "actions")
    .flatMap((b) => b.elements ?? [])
    .map((e) => (typeof e.text === "string" ? e.text : e.text?.text));
const cardText = (call: SlackApiCall) => blocksOf(call).map((b) => [b.text?.text, ...(b.fields ?? []).map((f) => f.text)].filter(Boolean).join("\n")).join("\n");
const contentOf = (call: RestCall) => String((call.body as { content?: unknown } | null)?.content ?? "");

describe("a Discord user handed to staff working in Slack (real discord.js and Bolt against stand-ins)", () => {
  let h: PlatformHarness;

  beforeAll(async () => {
    h = await startPlatformHarness();
  });
  afterAll(async () => h?.close());

  it("asks for a human → Slack card with buttons → Claim → staff thread reply reaches Discord → user's answer reaches the thread, bot silent → Resolve → the bot answers again", async () => {
    const { discord, slackApi } = h;
    const alice = discord.users.alice;

    // 1. On Discord, Alice mentions the bot: answered in a thread started from her message.
    const asked = discord.postMessage({ channelId: discord.channels.support, content: `<@${discord.bot.id}> I want to talk to a human` });
    const threadId = asked["id"] as string;
    const botReply = await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages` && c.status === 200, "the bot's answer in the thread");
    expect(contentOf(botReply)).toMatch(/reply right here/);

    // 2. The Slack staff channel gets one card: who, where, why, and the three buttons.
    const card = await slackApi.waitForCall("chat.postMessage", (c) => c.args["channel"] === STAFF_CHANNEL && c.args["thread_ts"] === undefined, "the handoff card");
    const cardTs = card.response["ts"] as string;
    expect(cardText(card)).toContain(`discord user ${alice.id}`);
    expect(cardText(card)).toContain("I want to talk to a human");
    expect(cardText(card)).toMatch(/\*Routes\*\nhuman \d+%/);
    expect(buttonsOf(card)).toEqual(["Claim", "Resolve", "Back to bot"]);
    await h.app.handoffService.idle();
    const [handoff] = await h.app.handoffService.list({ status: "open" });
    expect(handoff).toMatchObject({ platform: "discord", userId: alice.id, cards: [{ platform: "slack", channel: STAFF_CHANNEL, messageId: cardTs }] });
    const handoffId = handoff!.id;
    expect((card.args["blocks"] as Block[]).find((b) => b.type === "actions")?.elements?.every((e) => e.value === handoffId)).toBe(true);

    // 3. Dana clicks Claim (a signed block_actions): she owns it, and the card says so in place.
    const claim = await h.click(STAFF.dana, STAFF_ACTION_IDS.claim, handoffId, cardTs);
    expect(claim.status).toBe(200);
    // The click is acted on after Slack has its ack: the card update says when.
    const claimed = await slackApi.waitForCall("chat.update", (c) => c.args["ts"] === cardTs && /Claimed by Dana/.test(cardText(c)), "the card updated to claimed");
    expect((await h.app.handoffs.get(handoffId))?.assignee).toBe("Dana");
    expect(claimed.args["channel"]).toBe(STAFF_CHANNEL);
    expect(buttonsOf(claimed)).toEqual(["Resolve", "Back to bot"]);

    // Eve clicking Claim too is told who has it (ephemerally), and nothing changes.
    await h.click(STAFF.eve, STAFF_ACTION_IDS.claim, handoffId, cardTs);
    const told = await slackApi.waitForResponse((r) => /already claimed by Dana/.test(String(r.body["text"])));
    expect(told.body).toMatchObject({ response_type: "ephemeral", replace_original: false });

    // 4. Dana replies in the card's thread: it reaches Alice's Discord thread, signed by Dana.
    const before = discord.botMessagesIn(threadId).length;
    expect((await h.slackEvent({ type: "message", channel: STAFF_CHANNEL, channel_type: "channel", user: STAFF.dana.id, ts: "1800000001.000100", thread_ts: cardTs, parent_user_id: slackApi.botUserId, text: "Hi Alice, Dana here. I can help." })).status).toBe(200);
    const relayed = await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages` && /Dana here/.test(contentOf(c)), "Dana's reply on Discord");
    expect(contentOf(relayed)).toBe("**Dana** (support team):\nHi Alice, Dana here. I can help.");
    expect(discord.botMessagesIn(threadId).length).toBe(before + 1);
    // Slack retrying the same event does not send it twice.
    await h.slackEvent({ type: "message", channel: STAFF_CHANNEL, channel_type: "channel", user: STAFF.dana.id, ts: "1800000001.000100", thread_ts: cardTs, parent_user_id: slackApi.botUserId, text: "Hi Alice, Dana here. I can help." });

    // 5. Alice answers on Discord: it goes to the staff thread, and the bot says nothing.
    discord.postMessage({ channelId: threadId, content: "Thanks! My invoice shows two charges.", author: alice });
    const inThread = await slackApi.waitForCall("chat.postMessage", (c) => c.args["thread_ts"] === cardTs && /two charges/.test(String(c.args["text"])), "Alice's message in the staff thread");
    expect(inThread.args["text"]).toBe("*User:* Thanks! My invoice shows two charges.");
    await h.app.handoffService.idle();
    expect(discord.botMessagesIn(threadId).length).toBe(before + 1);
    // Nothing answered Alice's message, and Dana's own thread reply was not posted back to Slack.
    const outbound = await h.app.db.pool.query("select author_kind from messages where direction = 'out' and conversation_id = $1 order by created_at", [handoff!.conversationId]);
    expect(outbound.rows.map((r) => r.author_kind)).toEqual(["bot", "agent"]);
    expect(slackApi.callsTo("chat.postMessage", (c) => /Dana here/.test(String(c.args["text"])))).toEqual([]);

    // 6. Dana clicks Resolve and submits its modal without a note: the card shows it, the conversation is the bot's again.
    await h.click(STAFF.dana, STAFF_ACTION_IDS.resolve, handoffId, cardTs);
    const modal = await slackApi.waitForCall("views.open", (c) => c.response["ok"] === true, "the resolve modal");
    await h.submitView(STAFF.dana, (modal.response["view"] as { id: string }).id, {});
    const resolved = await slackApi.waitForCall("chat.update", (c) => c.args["ts"] === cardTs && /Resolved\* by Dana/.test(cardText(c)), "the card updated to resolved");
    expect(buttonsOf(resolved)).toEqual([]);
    expect((await h.app.log.getConversation(handoff!.conversationId))?.status).toBe("bot");

    // 7. The bot answers Alice's next message.
    discord.postMessage({ channelId: threadId, content: "how do I reset my password?", author: alice });
    const answer = await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages` && /password/i.test(contentOf(c)) && !/Dana/.test(contentOf(c)), "the bot's answer after resolve");
    expect(contentOf(answer)).not.toMatch(/^\*\*Dana\*\*/);

    await h.app.handoffService.idle();
    expect((await h.app.handoffs.events(handoffId)).map((e) => `${e.kind}:${e.actor}`)).toEqual([
      "opened:bot",
      "claimed:Dana",
      "agent_reply:Dana",
      "user_message:user",
      "resolved:Dana",
    ]);
  });
});
