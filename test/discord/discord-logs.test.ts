import { afterEach, expect, test } from "vitest";
import { contentOf, isPost, startHarness, type Harness } from "./harness.ts";

let harness: Harness | null = null;

afterEach(async () => {
  await harness?.close();
  harness = null;
});

test("neither the bot token nor interaction tokens reach the logs, even at trace level and on errors", async () => {
  harness = await startHarness();
  const { standIn, logs } = harness;
  const { support } = standIn.channels;

  const mention = standIn.postMessage({ channelId: support, content: `<@${standIn.bot.id}> where is my invoice?` });
  await standIn.waitForCall(isPost(`/channels/${String(mention["id"])}/messages`));
  const answered = standIn.invokeSupport({ question: "Is there a discount for NGOs?" });
  await standIn.waitForCall((c) => c.method === "PATCH" && c.path.includes(answered.token));
  // An error whose URL holds an interaction token: the webhook of an expired interaction.
  const expired = standIn.invokeSupport({ question: "Can I pay by invoice?" });
  standIn.failRoute({ method: "PATCH", path: new RegExp(expired.token), status: 404, code: 10015, message: "Unknown Webhook" });
  await standIn.waitForCall((c) => isPost(`/channels/${support}/messages`)(c) && contentOf(c).includes("pay by invoice"));
  // A reconnect, with all its debug lines.
  standIn.dropHeartbeatAcks();
  await standIn.waitForFrame((f) => f.op === 6, "RESUME");
  standIn.postDirectMessage({ content: "still there?" });
  await standIn.waitForCall(isPost(`/channels/${standIn.dmChannelOf(standIn.users.alice).id}/messages`));
  await harness.close();
  harness = null;

  const text = logs.text;
  // The capture really holds the client's trace output and the error path.
  expect(text).toContain('"level":10');
  expect(text).toContain("Provided token: [redacted]");
  expect(text).toContain("interaction expired");
  expect(text).toContain("Unknown Webhook");
  expect(text).toContain("Discord gateway session resumed");
  for (const secret of [standIn.token, ...standIn.token.split("."), answered.token, expired.token]) {
    expect(text).not.toContain(secret);
  }
});
