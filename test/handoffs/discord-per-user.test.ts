import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPlatformAdapters, startAdapters, type PlatformConnections } from "../../bots/cli/platform-connections.ts";
import { formatConversationKey } from "../../bots/discord/conversation-key.ts";
import { attachStaffChannels } from "../../bots/staff-channels.ts";
import { silentLogger } from "../../src/logger.ts";
import { startTestApp, type RunningApp } from "../helpers/app.ts";
import { snowflake, startDiscordStandIn, type DiscordStandIn, type RestCall, type StandInUser } from "../stand-ins/discord.ts";
import { FAST_CLIENTS } from "./platform-harness.ts";

/**
 * A Discord channel (and a thread) is shared; a conversation is one person's. Alice handed to a
 * person must not silence the bot for Bob in the same channel, and nothing Bob says may reach
 * Alice's staff thread (or, with a model, Alice's prompts and memory).
 */

const contentOf = (call: RestCall) => String((call.body as { content?: unknown } | null)?.content ?? "");
const RELAYED = /passed to the support team member/;

describe("Discord: each person their own conversation in a shared channel or thread (real discord.js, whole service)", () => {
  let s: RunningApp;
  let discord: DiscordStandIn;
  let connections: PlatformConnections | undefined;
  let staffChannel: string;

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    staffChannel = discord.channels.general;
    s = await startTestApp({
      DISCORD_TOKEN: discord.token,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_HANDOFF_CHANNEL: staffChannel,
    });
    const logger = silentLogger();
    const { adapters } = createPlatformAdapters(s.app, s.app.config, logger, "receive", FAST_CLIENTS);
    for (const adapter of adapters) s.app.outbox.attach(adapter);
    attachStaffChannels(s.app, s.app.config, logger, FAST_CLIENTS);
    connections = await startAdapters(s.app, adapters, logger);
  });

  afterAll(async () => {
    await connections?.stop();
    await discord?.close();
    await s?.close();
  });

  /** Runs `/support` and waits for what replaced "thinking…". */
  async function support(author: StandInUser, question: string, channelId = discord.channels.support): Promise<string> {
    const asked = discord.invokeSupport({ question, author, channelId });
    const edited = await discord.waitForCall(
      (c) => c.method === "PATCH" && c.path === `/webhooks/${discord.applicationId}/${asked.token}/messages/@original`,
      `the answer to ${author.username}'s /support`,
      15_000,
    );
    return contentOf(edited);
  }

  /** The staff thread (the card's id) of this person's active handoff. */
  async function staffThreadOf(user: StandInUser): Promise<string> {
    await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${staffChannel}/messages` && contentOf(c).includes(`<@${user.id}>`), `${user.username}'s handoff card`);
    await s.app.handoffService.idle();
    const handoff = (await s.app.handoffService.list({ status: "active" })).find((h) => h.userId === user.id);
    const card = handoff?.cards.find((c) => c.platform === "discord");
    expect(card).toBeDefined();
    return card!.messageId;
  }

  const staffThreadText = (threadId: string) => discord.calls.items.filter((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages`).map(contentOf).join("\n");

  it("/support: Alice asks for a person, then Bob's unrelated question in the same channel is answered by the bot, and none of it reaches Alice's staff thread", async () => {
    const { alice, bob } = discord.users;
    expect(await support(alice, "I want to talk to a human")).toMatch(/reply right here/);
    const aliceThread = await staffThreadOf(alice);

    const answer = await support(bob, "How do I reset my password?");
    expect(answer).not.toMatch(RELAYED);
    expect(answer).toMatch(/password/i);
    // Alice's next message still goes to her person, not to the bot.
    expect(await support(alice, "Are you there?")).toMatch(RELAYED);
    await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${aliceThread}/messages` && /Are you there\?/.test(contentOf(c)), "Alice's message in her staff thread");
    await s.app.handoffService.idle();
    expect(staffThreadText(aliceThread)).not.toMatch(/reset my password/);

    const conversations = await s.app.log.searchConversations({ platform: "discord" });
    const of = (user: StandInUser) => conversations.filter((c) => c.userId === user.id);
    expect(of(alice)).toHaveLength(1);
    expect(of(bob)).toHaveLength(1);
    expect(of(alice)[0]).toMatchObject({ status: "waiting", conversationKey: `discord:${discord.guildId}:${discord.channels.support}:user.${alice.id}` });
    expect(of(bob)[0]).toMatchObject({ status: "bot", conversationKey: `discord:${discord.guildId}:${discord.channels.support}:user.${bob.id}` });
  });

  it("a mention's thread: Bob writing in the thread of Alice's handed-off conversation gets the bot, and Alice's staff thread nothing of his", async () => {
    const { alice, bob } = discord.users;
    const asked = discord.postMessage({ channelId: discord.channels.support, content: `<@${discord.bot.id}> I want to talk to a human about my account`, author: alice });
    const threadId = asked["id"] as string;
    await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages` && /reply right here/.test(contentOf(c)), "the handoff reply in Alice's thread");
    const aliceConversation = await s.app.log.findConversationByKey("discord", formatConversationKey({ kind: "guild", guildId: discord.guildId, channelId: threadId, userId: alice.id }));
    expect(aliceConversation?.status).toBe("waiting");
    await s.app.handoffService.idle();
    const handoff = (await s.app.handoffService.list({ status: "active" })).find((h) => h.conversationId === aliceConversation?.id);
    const staffThread = handoff?.cards.find((c) => c.platform === "discord")?.messageId;
    expect(staffThread).toBeDefined();

    const before = discord.botMessagesIn(threadId).length;
    const bobAsks = discord.postMessage({ channelId: threadId, content: "How do I export my data?", author: bob });
    await expect.poll(() => discord.botMessagesIn(threadId).length).toBeGreaterThan(before);
    const [toBob] = discord.botMessagesIn(threadId).slice(before);
    expect(contentOf(toBob!)).toMatch(/export/i);
    // In Alice's thread, the answer replies to Bob's message: it is clear whom it is for.
    expect((toBob!.body as { message_reference?: { message_id: string } }).message_reference?.message_id).toBe(bobAsks["id"]);
    await s.app.handoffService.idle();
    expect(staffThreadText(staffThread!)).not.toMatch(/export my data/);
    const bobConversation = await s.app.log.findConversationByKey("discord", formatConversationKey({ kind: "guild", guildId: discord.guildId, channelId: threadId, userId: bob.id }));
    expect(bobConversation).toMatchObject({ status: "bot", userId: bob.id });
    expect(bobConversation?.id).not.toBe(aliceConversation?.id);
  });

  it("a conversation stored under the old per-channel key goes on for its own user only", async () => {
    const { alice, bob } = discord.users;
    const channelId = discord.channels.voice; // a place neither used yet, keyed the old way
    const oldKey = formatConversationKey({ kind: "guild", guildId: discord.guildId, channelId });
    const stored = await s.app.intake.submit({
      platform: "discord",
      conversationKey: oldKey,
      userId: alice.id,
      text: "How do I download my invoices?",
      platformMessageId: snowflake(),
      replyContext: { kind: "channel", channelId },
    });
    expect(stored.status).toBe("accepted");
    if (stored.status === "accepted") await stored.done;

    await support(alice, "And where do I change my billing e-mail?", channelId);
    await support(bob, "How do I download my invoices?", channelId);
    const inOld = await s.app.db.pool.query<{ author_id: string }>(
      "select m.author_id from messages m join conversations c on c.id = m.conversation_id where c.conversation_key = $1 and m.direction = 'in' order by m.created_at",
      [oldKey],
    );
    expect(inOld.rows.map((r) => r.author_id)).toEqual([alice.id, alice.id]);
    expect(await s.app.log.findConversationByKey("discord", formatConversationKey({ kind: "guild", guildId: discord.guildId, channelId, userId: bob.id }))).toMatchObject({ userId: bob.id });
    expect(await s.app.log.findConversationByKey("discord", formatConversationKey({ kind: "guild", guildId: discord.guildId, channelId, userId: alice.id }))).toBeUndefined();
  });
});
