import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RestCall } from "../stand-ins/discord.ts";
import { eventCallback, postSigned, type SlackEventFields } from "../stand-ins/slack-requests.ts";
import { STAFF_ACTION_IDS } from "../../bots/slack/staff.ts";
import { SIGNING_SECRET, STAFF, STAFF_CHANNEL, startPlatformHarness, type PlatformHarness } from "./platform-harness.ts";

const contentOf = (call: RestCall) => String((call.body as { content?: unknown } | null)?.content ?? "");

describe("a Slack staff reply to a Discord user while Discord is slow (real Bolt and discord.js against stand-ins)", () => {
  let h: PlatformHarness;
  let threadId: string;
  let cardTs: string;
  let handoffId: string;

  beforeAll(async () => {
    h = await startPlatformHarness();
    const { discord, slackApi } = h;
    // A Discord user asks for a person: the handoff card appears in the Slack staff channel.
    const asked = discord.postMessage({ channelId: discord.channels.support, content: `<@${discord.bot.id}> I want to talk to a human` });
    threadId = asked["id"] as string;
    await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages` && c.status === 200, "the bot's answer in the thread");
    const card = await slackApi.waitForCall("chat.postMessage", (c) => c.args["channel"] === STAFF_CHANNEL && c.args["thread_ts"] === undefined, "the handoff card");
    cardTs = card.response["ts"] as string;
    await h.app.handoffService.idle();
    const [handoff] = await h.app.handoffService.list({ status: "open" });
    handoffId = handoff!.id;
  });
  afterAll(async () => h?.close());

  it("acks a card click before it looks the clicker up (users.info) and acts on it", async () => {
    const { slackApi } = h;
    const res = await h.click(STAFF.dana, STAFF_ACTION_IDS.claim, handoffId, cardTs);
    const ackedAt = performance.now();
    expect(res.status).toBe(200);
    const lookup = await slackApi.waitForCall("users.info", (c) => c.args["user"] === STAFF.dana.id, "Dana's name looked up");
    expect(lookup.at).toBeGreaterThan(ackedAt);
    await slackApi.waitForCall("chat.update", (c) => c.args["ts"] === cardTs && JSON.stringify(c.args["blocks"]).includes("Claimed by Dana"), "the card updated to claimed");
    expect((await h.app.handoffs.get(handoffId))?.assignee).toBe("Dana");
  });

  it("acks Slack before the reply reaches Discord, and Slack's retry of the event sends nothing twice", async () => {
    const { discord, slackApi } = h;

    // Discord answers the staff reply's post only when the test says so (longer than Slack waits for an ack).
    const inThread = (c: RestCall) => c.method === "POST" && c.path === `/channels/${threadId}/messages` && /Dana here/.test(contentOf(c));
    const slow = discord.slowRoute({ method: "POST", path: new RegExp(`^/channels/${threadId}/messages$`), times: 1 });
    const danaWrites: SlackEventFields = {
      type: "message",
      channel: STAFF_CHANNEL,
      channel_type: "channel",
      user: STAFF.dana.id,
      ts: "1800000001.000100",
      thread_ts: cardTs,
      parent_user_id: slackApi.botUserId,
      text: "Hi Alice, Dana here. I can help.",
    };
    const body = JSON.stringify(eventCallback(danaWrites, { botUserId: slackApi.botUserId, eventId: "Ev0DANA1" }));
    const send = (headers: Record<string, string> = {}) => postSigned(`${h.url}/slack/events`, body, "application/json", { signingSecret: SIGNING_SECRET, headers });

    const first = await send();
    const firstAckAt = performance.now();
    expect(first.status).toBe(200);

    // The reply goes to Discord after the ack, and is in flight there: its post is held.
    const held = await discord.requests.waitFor(inThread, "the staff reply's post to Discord");
    expect(held.status).toBe(0);
    const row = async () =>
      (await h.app.db.pool.query<{ status: string }>("select status from messages where direction = 'out' and author_kind = 'agent' and text like '%Dana here%'")).rows;
    expect(await row()).toEqual([{ status: "sending" }]);

    // Slack sends the same event again (as it does when an ack is late or lost).
    const retry = await send({ "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" });
    const retryAckAt = performance.now();
    expect(retry.status).toBe(200);
    expect(held.status).toBe(0);

    slow.release();
    const answered = await discord.waitForCall((c) => inThread(c) && c.status === 200, "Dana's reply answered by Discord");
    expect(answered.answeredAt).toBeGreaterThan(firstAckAt);
    expect(answered.answeredAt).toBeGreaterThan(retryAckAt);

    // Everything both deliveries of the event started is done once the adapter has stopped.
    await h.slack.stop();
    await h.app.handoffService.idle();
    expect(await row()).toEqual([{ status: "sent" }]);
    expect(discord.requests.items.filter(inThread)).toHaveLength(1);
    expect(contentOf(answered)).toBe("**Dana** (support team):\nHi Alice, Dana here. I can help.");
    expect((await h.app.handoffs.events(handoffId)).filter((e) => e.kind === "agent_reply").map((e) => e.actor)).toEqual(["Dana"]);
  });
});
