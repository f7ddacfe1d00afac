import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createPlatformAdapters } from "../../bots/cli/platform-connections.ts";
import { formatConversationKey } from "../../bots/discord/index.ts";
import { AdapterError } from "../../src/errors.ts";
import { DeliveryError } from "../../src/handoffs/handoff-service.ts";
import { silentLogger } from "../../src/logger.ts";
import { DeliveryRefused } from "../../src/outbox/delivery-refused.ts";
import type { OutboundReply } from "../../src/types.ts";
import { startTestApp, type RunningApp } from "../helpers/app.ts";
import { snowflake, startDiscordStandIn, type DiscordStandIn } from "../stand-ins/discord.ts";
import { FAST_CLIENTS } from "../handoffs/platform-harness.ts";
import { contentOf, isPost, startHarness, type Harness } from "./harness.ts";

/** What a failed `deliver` threw. */
const failure = (p: Promise<unknown>) => p.then(() => null, (err: unknown) => err);

describe("Discord delivery: refusals Discord will never take back are `DeliveryRefused`, the rest retryable", () => {
  let h: Harness;
  const reply = (channelId: string, text = "Your invoice is attached.", conversationKey?: string): OutboundReply => ({
    platform: "discord",
    conversationKey: conversationKey ?? formatConversationKey({ kind: "guild", guildId: h.standIn.guildId, channelId }),
    conversationId: "conv-1",
    text,
    sections: [],
    author: { kind: "agent", name: "Dana" },
    idempotencyKey: `k-${snowflake()}`,
  });

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  test("a channel that no longer exists (10003) is refused, saying why", async () => {
    const err = await failure(h.adapter.deliver(reply(snowflake())));
    expect(err).toBeInstanceOf(DeliveryRefused);
    expect((err as Error).message).toMatch(/channel no longer exists/);
  });

  test.each([
    [50001, 403, "Missing Access", /cannot see the channel/],
    [50013, 403, "Missing Permissions", /may not post/],
    [160005, 403, "Thread is locked", /thread is locked/],
    [50035, 400, "Invalid Form Body", /rejected the message/],
  ])("Discord error %i is refused", async (code, status, message, reason) => {
    const channel = h.standIn.channels.support;
    h.standIn.failRoute({ method: "POST", path: new RegExp(`^/channels/${channel}/messages$`), status, code, message, times: 1 });
    const err = await failure(h.adapter.deliver(reply(channel)));
    expect(err).toBeInstanceOf(DeliveryRefused);
    expect((err as Error).message).toMatch(reason);
  });

  test("a user who does not take DMs from the bot (50007) is refused", async () => {
    h.standIn.postDirectMessage({ content: "hello?" });
    const dm = h.standIn.dmChannelOf(h.standIn.users.alice).id;
    await h.standIn.waitForCall(isPost(`/channels/${dm}/messages`), "the answer to the DM");
    h.standIn.failRoute({ method: "POST", path: new RegExp(`^/channels/${dm}/messages$`), status: 403, code: 50007, message: "Cannot send messages to this user", times: 1 });
    const err = await failure(h.adapter.deliver(reply(dm, "Following up.", formatConversationKey({ kind: "dm", channelId: dm }))));
    expect(err).toBeInstanceOf(DeliveryRefused);
  });

  test("a stored key that is not a Discord key is refused", async () => {
    const err = await failure(h.adapter.deliver(reply("1", "x", "slack:T1:C1:1.2")));
    expect(err).toBeInstanceOf(DeliveryRefused);
  });

  test("a server error is retryable (a plain AdapterError), and the retry goes through", async () => {
    const channel = h.standIn.channels.support;
    h.standIn.failRoute({ method: "POST", path: new RegExp(`^/channels/${channel}/messages$`), status: 500, code: 0, message: "Internal Server Error", times: 1 });
    const message = reply(channel, "Second try works.");
    const err = await failure(h.adapter.deliver(message));
    expect(err).toBeInstanceOf(AdapterError);
    expect(err).not.toBeInstanceOf(DeliveryRefused);
    await h.adapter.deliver(message);
    expect(h.standIn.botMessagesIn(channel).map(contentOf)).toContain("**Dana** (support team):\nSecond try works.");
  });
});

describe("a refused staff reply through the outbox (real app, Discord adapter as `worker` builds it)", () => {
  let s: RunningApp;
  let standIn: DiscordStandIn;

  beforeAll(async () => {
    standIn = await startDiscordStandIn();
    s = await startTestApp({ DISCORD_TOKEN: standIn.token, DISCORD_API_URL: standIn.apiUrl }, { outboxSweepMs: 100 });
    for (const adapter of createPlatformAdapters(s.app, s.app.config, silentLogger(), "send", FAST_CLIENTS).adapters) s.app.outbox.attach(adapter);
  });
  afterAll(async () => {
    await s?.close();
    await standIn?.close();
  });

  /** Alice asks for a person in the channel (a conversation of its own); the bot's answer is delivered. */
  async function handoff(channelId: string): Promise<{ handoffId: string; conversationId: string }> {
    const submission = await s.app.intake.submit({
      platform: "discord",
      conversationKey: formatConversationKey({ kind: "guild", guildId: standIn.guildId, channelId }),
      userId: standIn.users.alice.id,
      text: "I want to talk to a human",
      platformMessageId: snowflake(),
      replyContext: { kind: "channel", channelId },
    });
    if (submission.status !== "accepted") throw new Error(submission.status);
    const outcome = await submission.done;
    if (outcome.kind !== "reply" || !outcome.handoff) throw new Error(`expected a handoff: ${outcome.kind}`);
    await expect.poll(() => statuses(submission.conversationId)).toEqual(["sent"]);
    return { handoffId: outcome.handoff.id, conversationId: submission.conversationId };
  }

  const statuses = async (conversationId: string) =>
    (await s.app.db.pool.query<{ status: string }>("select status from messages where direction = 'out' and conversation_id = $1 order by seq", [conversationId])).rows.map((r) => r.status);

  test("the channel was deleted: the staff member is told at once, and the message is given up after one attempt", async () => {
    const support = standIn.channels.support;
    const { handoffId, conversationId } = await handoff(support);
    standIn.failRoute({ method: "POST", path: new RegExp(`^/channels/${support}/messages$`), status: 404, code: 10003, message: "Unknown Channel", times: 1 });

    const err = await failure(s.app.handoffService.reply(handoffId, "Dana", "Hi Alice, Dana here."));
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as Error).message).toMatch(/channel no longer exists/);
    const row = await s.app.db.pool.query("select status, attempts from messages where conversation_id = $1 and author_kind = 'agent'", [conversationId]);
    expect(row.rows).toEqual([{ status: "failed", attempts: 1 }]);
  });

  test("Discord failing for a moment: the reply is kept for a retry, and delivered by it", async () => {
    const general = standIn.channels.general;
    const { handoffId, conversationId } = await handoff(general);
    standIn.failRoute({ method: "POST", path: new RegExp(`^/channels/${general}/messages$`), status: 500, code: 0, message: "Internal Server Error", times: 1 });

    const sent = await s.app.handoffService.reply(handoffId, "Dana", "Still here, one moment.");
    expect(sent.delivery).toBe("retry");
    // The first retry is due after the outbox's 2 s backoff.
    await expect.poll(() => statuses(conversationId)).toEqual(["sent", "sent"]);
    expect(standIn.botMessagesIn(general).map(contentOf).filter((c) => c.includes("Still here"))).toEqual(["**Dana** (support team):\nStill here, one moment."]);
  });

  test("Discord made the post but its answer was lost: the retry carries the same nonce, and Discord makes no second message", async () => {
    const dm = standIn.dmChannelOf(standIn.users.bob).id;
    standIn.loseAnswers({ method: "POST", path: new RegExp(`^/channels/${dm}/messages$`), times: 1 });
    const submission = await s.app.intake.submit({
      platform: "discord",
      conversationKey: formatConversationKey({ kind: "dm", channelId: dm }),
      userId: standIn.users.bob.id,
      text: "What plans do you offer?",
      platformMessageId: snowflake(),
      replyContext: { kind: "channel", channelId: dm },
    });
    if (submission.status !== "accepted") throw new Error(submission.status);
    await submission.done;
    // The connection dropped after Discord made the message: the outbox cannot know, and retries
    // after its 2 s backoff.
    await expect.poll(() => statuses(submission.conversationId)).toEqual(["sent"]);
    expect(standIn.createdIn(dm)).toHaveLength(1);
    const posts = standIn.requests.items.filter((c) => c.method === "POST" && c.path === `/channels/${dm}/messages`);
    expect(posts).toHaveLength(2);
    const [first, second] = posts.map((c) => c.body as { nonce?: string; enforce_nonce?: boolean });
    expect(first).toMatchObject({ enforce_nonce: true });
    expect(second?.nonce).toBe(first?.nonce);
    const [row] = (await s.app.db.pool.query("select attempts from messages where direction = 'out' and conversation_id = $1", [submission.conversationId])).rows;
    expect(row).toEqual({ attempts: 2 });
  });
});
