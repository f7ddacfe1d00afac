import { afterEach, expect, test } from "vitest";
import { AdapterError } from "../../src/errors.ts";
import { silentLogger } from "../../src/logger.ts";
import { createDiscordAdapter } from "../../bots/discord/index.ts";
import { createFakeDiscordSink } from "../helpers/fake-discord-sink.ts";
import { startDiscordStandIn, type DiscordStandIn } from "../stand-ins/discord.ts";
import { contentOf, isPost, startHarness, type Harness } from "./harness.ts";

let harness: Harness | null = null;
let standInOnly: DiscordStandIn | null = null;

afterEach(async () => {
  await harness?.close();
  await standInOnly?.close();
  harness = null;
  standInOnly = null;
});

test("answers produced after a restart are delivered from the stored reply context alone", async () => {
  harness = await startHarness({ autoProcess: false });
  const { standIn, core } = harness;
  const { support } = standIn.channels;
  const mention = standIn.postMessage({ channelId: support, content: `<@${standIn.bot.id}> why was my card declined?` });
  const command = standIn.invokeSupport({ question: "Do you have an SLA?" });
  await core.waitForSubmission((m) => m.platformMessageId === command.id);
  await standIn.waitForCall(isPost(`/interactions/${command.id}/${command.token}/callback`));

  // The process restarts before the answers are ready: a new client, a new gateway session.
  await harness.restart();
  expect(standIn.frames.items.filter((f) => f.op === 2)).toHaveLength(2);
  await core.release();

  const threadId = String(mention["id"]);
  expect(standIn.calls.items.some(isPost(`/channels/${support}/messages/${threadId}/threads`))).toBe(true);
  const inThread = await standIn.waitForCall(isPost(`/channels/${threadId}/messages`));
  expect(contentOf(inThread)).toBe("Answer 1 to: why was my card declined?");
  const edit = await standIn.waitForCall(
    (c) => c.method === "PATCH" && c.path === `/webhooks/${standIn.applicationId}/${command.token}/messages/@original`,
  );
  expect(contentOf(edit)).toBe("Answer 1 to: Do you have an SLA?");
  expect(core.deliveryErrors).toEqual([]);

  // Another restart, then one more message for the same /support (a staff reply, say): Discord
  // says the response was already edited, so it follows up instead of overwriting the answer.
  const adapter = await harness.restart();
  const [, stored] = core.accepted;
  await adapter.deliver({
    platform: "discord",
    conversationKey: stored?.conversationKey ?? "",
    conversationId: "conv-2",
    text: "Following up: yes, 99.9%.",
    sections: [],
    author: { kind: "agent", name: "Dana" },
    ...(stored?.replyContext ? { replyContext: stored.replyContext } : {}),
    idempotencyKey: "relay-1",
  });
  const webhookCalls = standIn.calls.items.filter((c) => c.path.startsWith(`/webhooks/${standIn.applicationId}/${command.token}`));
  // After each restart the adapter first asks whether the response is still "thinking…".
  expect(webhookCalls.map((c) => c.method)).toEqual(["GET", "PATCH", "GET", "POST"]);
  expect(contentOf(webhookCalls[3]!)).toBe("**Dana** (support team):\nFollowing up: yes, 99.9%.");
});

test("when the interaction token has expired the answer goes to the channel, mentioning the asker", async () => {
  harness = await startHarness({ autoProcess: false });
  const { standIn, core } = harness;
  const command = standIn.invokeSupport({ question: "What are your opening hours?" });
  await core.waitForSubmission((m) => m.platformMessageId === command.id);
  await standIn.waitForCall(isPost(`/interactions/${command.id}/${command.token}/callback`));
  standIn.expireInteraction(command.token);
  await core.release();

  const posted = await standIn.waitForCall(isPost(`/channels/${standIn.channels.support}/messages`));
  const alice = standIn.users.alice.id;
  expect(contentOf(posted)).toBe(`<@${alice}> Answer 1 to: What are your opening hours?`);
  expect(posted.body).toMatchObject({ allowed_mentions: { parse: [], users: [alice] } });
  expect(core.deliveryErrors).toEqual([]);
  expect(harness.logs.text).toContain("interaction expired");
  expect(harness.logs.text).not.toContain(command.token);
});

test("when a thread cannot be started the mention is answered with a reply in the channel", async () => {
  harness = await startHarness();
  const { standIn } = harness;
  const { support } = standIn.channels;
  standIn.failRoute({ method: "POST", path: /\/threads$/, status: 403, code: 50013, message: "Missing Permissions" });
  const mention = standIn.postMessage({ channelId: support, content: `<@${standIn.bot.id}> hello?` });

  const reply = await standIn.waitForCall(isPost(`/channels/${support}/messages`));
  expect(contentOf(reply)).toBe("Answer 1 to: hello?");
  expect(reply.body).toMatchObject({ message_reference: { message_id: mention["id"] } });
  expect(harness.logs.text).toContain("could not start a thread");
});

test("a message the core already stored (delivered again after a restart) is not answered again", async () => {
  harness = await startHarness();
  const { standIn, core } = harness;
  const { support } = standIn.channels;
  const mention = standIn.postMessage({ channelId: support, content: `<@${standIn.bot.id}> reset my 2FA please` });
  const threadId = String(mention["id"]);
  await standIn.waitForCall(isPost(`/channels/${threadId}/messages`));

  // A new process has no memory of it; only the core's dedupe by message id stands in the way.
  await harness.restart();
  standIn.dispatch("MESSAGE_CREATE", mention);
  standIn.postDirectMessage({ content: "one more thing" });
  const dm = standIn.dmChannelOf(standIn.users.alice).id;
  await standIn.waitForCall(isPost(`/channels/${dm}/messages`));

  expect(core.submissions.filter((m) => m.platformMessageId === mention["id"])).toHaveLength(2);
  expect(core.accepted.filter((m) => m.platformMessageId === mention["id"])).toHaveLength(1);
  expect(standIn.calls.items.filter((c) => c.path.endsWith("/threads"))).toHaveLength(1);
  expect(standIn.botMessagesIn(threadId)).toHaveLength(1);
});

test("a bad token fails start with an error naming DISCORD_TOKEN, not the token", async () => {
  standInOnly = await startDiscordStandIn();
  const adapter = createDiscordAdapter({
    token: "not-the-right-token",
    apiUrl: standInOnly.apiUrl,
    logger: silentLogger(),
    rest: { retries: 0, timeout: 3_000 },
  });
  const core = createFakeDiscordSink();
  const failure = await adapter.start(core.sink).then(
    () => null,
    (err: unknown) => err,
  );
  expect(failure).toBeInstanceOf(AdapterError);
  expect((failure as Error).message).toContain("DISCORD_TOKEN");
  expect((failure as Error).message).not.toContain("not-the-right-token");
  await adapter.stop();
});
