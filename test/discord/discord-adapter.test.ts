import { afterEach, describe, expect, test } from "vitest";
import { contentOf, isPost, startHarness, type Harness } from "./harness.ts";

let harness: Harness | null = null;

afterEach(async () => {
  await harness?.close();
  harness = null;
});

async function start(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

describe("Discord adapter against the local gateway and REST stand-in", () => {
  test("a mention is answered in a thread started from the message; a follow-up there continues the conversation", async () => {
    const { standIn, core } = await start();
    const { support } = standIn.channels;
    const question = standIn.postMessage({
      channelId: support,
      content: `<@${standIn.bot.id}> How do I reset my password?`,
    });
    const threadId = String(question["id"]);

    const started = await standIn.waitForCall(isPost(`/channels/${support}/messages/${threadId}/threads`));
    expect((started.body as { name: string }).name).toBe("How do I reset my password?");
    const first = await standIn.waitForCall(isPost(`/channels/${threadId}/messages`), "the answer in the thread");
    expect(contentOf(first)).toBe("Answer 1 to: How do I reset my password?");

    // No mention needed inside the bot's thread.
    standIn.postMessage({ channelId: threadId, content: "And if I no longer have that email address?" });
    const second = await standIn.waitForCall(
      (c) => isPost(`/channels/${threadId}/messages`)(c) && contentOf(c).startsWith("Answer 2"),
      "the second answer in the thread",
    );
    expect(contentOf(second)).toBe("Answer 2 to: And if I no longer have that email address?");

    // Alice's own conversation in the thread (anyone can write there; each writer has their own).
    const key = `discord:${standIn.guildId}:${threadId}:user.${standIn.users.alice.id}`;
    expect(core.accepted.map((m) => m.conversationKey)).toEqual([key, key]);
    // "Answer 2" above: the core saw the follow-up as the second turn of the same conversation.
    expect(core.conversationIdOf(key)).toBe("conv-1");
    expect(core.accepted.map((m) => m.userId)).toEqual([standIn.users.alice.id, standIn.users.alice.id]);
    // One thread; nothing posted in the channel itself; the bot's own echoed messages ignored.
    expect(standIn.calls.items.filter((c) => c.path.endsWith("/threads"))).toHaveLength(1);
    expect(standIn.botMessagesIn(support)).toHaveLength(0);
    expect(core.submissions).toHaveLength(2);
  });

  test("mentionMode reply answers with a reply to the message in the channel", async () => {
    const { standIn, core } = await start({ mentionMode: "reply" });
    const { support } = standIn.channels;
    const question = standIn.postMessage({ channelId: support, content: `<@${standIn.bot.id}> is the API down?` });

    const answer = await standIn.waitForCall(isPost(`/channels/${support}/messages`));
    expect(contentOf(answer)).toBe("Answer 1 to: is the API down?");
    expect(answer.body).toMatchObject({
      message_reference: { message_id: question["id"], fail_if_not_exists: false },
      allowed_mentions: { parse: [], replied_user: true },
    });
    expect(core.accepted[0]?.conversationKey).toBe(`discord:${standIn.guildId}:${support}:user.${standIn.users.alice.id}`);
    expect(standIn.calls.items.filter((c) => c.path.endsWith("/threads"))).toHaveLength(0);
  });

  test("a DM is answered in the DM, after a typing indicator", async () => {
    const { standIn, core } = await start();
    standIn.postDirectMessage({ content: "Where can I download my invoice?" });
    const dm = standIn.dmChannelOf(standIn.users.alice).id;

    const answer = await standIn.waitForCall(isPost(`/channels/${dm}/messages`));
    expect(contentOf(answer)).toBe("Answer 1 to: Where can I download my invoice?");
    expect(core.accepted[0]).toMatchObject({
      platform: "discord",
      conversationKey: `discord:dm:${dm}`,
      userId: standIn.users.alice.id,
      replyContext: { kind: "channel", channelId: dm },
    });
    const calls = standIn.calls.items;
    const typing = calls.findIndex(isPost(`/channels/${dm}/typing`));
    expect(typing).toBeGreaterThan(-1);
    expect(typing).toBeLessThan(calls.indexOf(answer));
  });

  test("/support is deferred at once, then the deferred response is edited with the answer", async () => {
    const { standIn, core } = await start();
    const { id, token } = standIn.invokeSupport({ question: "Can I get a refund for last month?" });

    const callback = await standIn.waitForCall(isPost(`/interactions/${id}/${token}/callback`));
    expect(callback.body).toMatchObject({ type: 5 }); // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    const edit = await standIn.waitForCall(
      (c) => c.method === "PATCH" && c.path === `/webhooks/${standIn.applicationId}/${token}/messages/@original`,
      "editReply",
    );
    expect(contentOf(edit)).toBe("Answer 1 to: Can I get a refund for last month?");
    expect(standIn.calls.items.indexOf(callback)).toBeLessThan(standIn.calls.items.indexOf(edit));
    // Interaction webhooks are authorized by their token, not the bot token.
    expect(edit.authorization).toBeUndefined();
    expect(core.accepted[0]).toMatchObject({
      conversationKey: `discord:${standIn.guildId}:${standIn.channels.support}:user.${standIn.users.alice.id}`,
      platformMessageId: id,
      replyContext: { kind: "interaction", interactionId: id, interactionToken: token, applicationId: standIn.applicationId },
    });
  });

  test("a long /support answer edits the deferred response with the first part and follows up with the rest", async () => {
    const paragraph = (n: number) => `Paragraph ${n}. ${"All the details you asked for. ".repeat(30).trim()}`;
    const long = [1, 2, 3, 4, 5].map(paragraph).join("\n\n"); // ~4,700 characters
    const { standIn } = await start({ answer: () => long });
    const { token } = standIn.invokeSupport({ question: "Tell me everything" });

    const webhook = `/webhooks/${standIn.applicationId}/${token}`;
    await standIn.waitForCall((c) => c.method === "PATCH" && c.path === `${webhook}/messages/@original`);
    await standIn.waitForCall((c) => isPost(webhook)(c) && contentOf(c).startsWith("Paragraph 5"), "the last follow-up");
    const parts = standIn.calls.items.filter((c) => c.path.startsWith(webhook));
    expect(parts.map((c) => c.method)).toEqual(["PATCH", "POST", "POST"]);
    expect(parts.slice(1).every((c) => c.query["wait"] === "true")).toBe(true);
    for (const part of parts) expect(contentOf(part).length).toBeLessThanOrEqual(2000);
    expect(parts.map(contentOf).join("\n\n")).toBe(long);
  });

  test("messages from other bots (and the bot's own, echoed by the gateway) are ignored", async () => {
    const { standIn, core } = await start();
    const { support } = standIn.channels;
    const fromBot = standIn.postMessage({
      channelId: support,
      author: standIn.users.otherBot,
      content: `<@${standIn.bot.id}> I am a bot asking a question`,
    });
    // A person's mention after it: once that is answered, the bot's message was handled (in order).
    const fromPerson = standIn.postMessage({ channelId: support, content: `<@${standIn.bot.id}> I am a person` });
    await standIn.waitForCall(isPost(`/channels/${String(fromPerson["id"])}/messages`));

    expect(core.submissions.map((m) => m.platformMessageId)).toEqual([fromPerson["id"]]);
    expect(standIn.calls.items.some((c) => c.path.includes(String(fromBot["id"])))).toBe(false);
  });

  test("a mention without a question gets a hint instead of going to the core", async () => {
    const { standIn, core } = await start();
    const { support } = standIn.channels;
    standIn.postMessage({ channelId: support, content: `<@${standIn.bot.id}>` });
    const hint = await standIn.waitForCall(isPost(`/channels/${support}/messages`));
    expect(contentOf(hint)).toContain("/support");
    expect(core.submissions).toHaveLength(0);
  });

  test("/support registration on start PUTs the command with its required question option", async () => {
    const { standIn } = await start();
    const put = await standIn.waitForCall(
      (c) => c.method === "PUT" && c.path === `/applications/${standIn.applicationId}/commands`,
    );
    expect(put.authorization).toBe(`Bot ${standIn.token}`);
    expect(put.body).toEqual([
      expect.objectContaining({
        name: "support",
        options: [expect.objectContaining({ name: "question", type: 3, required: true, max_length: 4000 })],
      }),
    ]);
  });
});

describe("a person's conversation in a shared channel", () => {
  test("a message to it with no reply context (a staff reply, say) is posted in the channel naming, and notifying, only that person", async () => {
    const { standIn, adapter } = await start();
    const { support } = standIn.channels;
    const bob = standIn.users.bob;
    await adapter.deliver({
      platform: "discord",
      conversationKey: `discord:${standIn.guildId}:${support}:user.${bob.id}`,
      conversationId: "conv-bob",
      text: "We refunded the second charge. @everyone",
      sections: [],
      author: { kind: "agent", name: "Dana" },
      idempotencyKey: "agent:test-1",
    });
    const [posted] = standIn.botMessagesIn(support);
    expect(contentOf(posted!)).toMatch(new RegExp(`^<@${bob.id}> `));
    expect((posted!.body as { allowed_mentions: unknown }).allowed_mentions).toEqual({ parse: [], replied_user: true, users: [bob.id] });
  });
});

describe("when the core does not answer", () => {
  test("/support in a conversation a person owns: the deferred response says where the message went", async () => {
    const { standIn } = await start({ answer: () => null });
    const { token } = standIn.invokeSupport({ question: "Any news on my ticket?" });
    const edit = await standIn.waitForCall((c) => c.method === "PATCH" && c.path.endsWith(`${token}/messages/@original`));
    expect(contentOf(edit)).toMatch(/support team/);
  });

  test("storage down: the user is asked to try again, in the DM and in the /support response", async () => {
    const { standIn, core } = await start({ failSubmit: () => true });
    const dm = standIn.dmChannelOf(standIn.users.alice).id;
    const message = standIn.postDirectMessage({ content: "hello?" });
    const sorry = await standIn.waitForCall(isPost(`/channels/${dm}/messages`));
    expect(contentOf(sorry)).toMatch(/try again/);
    expect(sorry.body).toMatchObject({ message_reference: { message_id: message["id"] } });

    const { token } = standIn.invokeSupport({ question: "hello?" });
    const edit = await standIn.waitForCall((c) => c.method === "PATCH" && c.path.endsWith(`${token}/messages/@original`));
    expect(contentOf(edit)).toMatch(/try again/);
    expect(core.accepted).toHaveLength(0);
  });
});
