import { afterEach, expect, test } from "vitest";
import { contentOf, isPost, startHarness, type Harness } from "./harness.ts";

let harness: Harness | null = null;

afterEach(async () => {
  await harness?.close();
  harness = null;
});

test("after a missed heartbeat ACK the client resumes; missed events are answered once, replays of answered ones not again", async () => {
  harness = await startHarness();
  const { standIn, core } = harness;
  const { support } = standIn.channels;

  // Answered before the outage: a mention (thread) and a /support.
  const mention = standIn.postMessage({ channelId: support, content: `<@${standIn.bot.id}> my card was charged twice` });
  const threadId = String(mention["id"]);
  await standIn.waitForCall(isPost(`/channels/${threadId}/messages`), "the answer to the mention");
  const command = standIn.invokeSupport({ question: "How do I export my data?" });
  const original = `/webhooks/${standIn.applicationId}/${command.token}/messages/@original`;
  await standIn.waitForCall((c) => c.method === "PATCH" && c.path === original, "the /support answer");

  // The gateway stops acknowledging heartbeats: discord.js treats the connection as a zombie.
  standIn.dropHeartbeatAcks();
  const closed = await standIn.waitForConnection((e) => e.kind === "close" && e.connection === 1, "the zombie connection to close");
  expect(closed.code).toBe(4200); // discord.js closes with "resuming", keeping the session

  // Sent while the client is away: Discord keeps it and replays it on RESUME.
  standIn.postDirectMessage({ content: "Is there a status page?" });
  const dm = standIn.dmChannelOf(standIn.users.alice).id;

  const resume = await standIn.waitForFrame((f) => f.op === 6, "RESUME");
  expect(resume.connection).toBe(2);
  expect(standIn.connections.items.find((e) => e.connection === 2)?.path).toBe("/resume");
  const missedAnswer = await standIn.waitForCall(isPost(`/channels/${dm}/messages`), "the answer to the DM sent during the outage");
  expect(contentOf(missedAnswer)).toBe("Answer 1 to: Is there a status page?");
  expect(standIn.replayed.some((f) => f.t === "MESSAGE_CREATE")).toBe(true);

  // The gateway replays what was already answered (at-least-once delivery) ...
  standIn.dispatch("MESSAGE_CREATE", mention);
  standIn.dispatch("INTERACTION_CREATE", command.payload);
  // ... then something new; events are handled in order, so once this is answered the replays were seen.
  standIn.postDirectMessage({ content: "Thanks!" });
  await standIn.waitForCall((c) => isPost(`/channels/${dm}/messages`)(c) && contentOf(c).includes("Thanks!"));

  const calls = standIn.calls.items;
  expect(calls.filter((c) => c.path.endsWith("/threads"))).toHaveLength(1);
  expect(standIn.botMessagesIn(threadId)).toHaveLength(1);
  expect(calls.filter((c) => c.path === `/interactions/${command.id}/${command.token}/callback`)).toHaveLength(1);
  expect(calls.filter((c) => c.path === original)).toHaveLength(1);
  expect(standIn.botMessagesIn(dm)).toHaveLength(2);
  // Not handed to the core twice either (the core's dedupe is the second net).
  const submitted = core.submissions.map((m) => m.platformMessageId);
  expect(submitted.filter((id) => id === mention["id"])).toHaveLength(1);
  expect(submitted.filter((id) => id === command.id)).toHaveLength(1);
  // Resumed, not re-identified.
  expect(standIn.frames.items.filter((f) => f.op === 2)).toHaveLength(1);
});
