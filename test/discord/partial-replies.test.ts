import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPlatformAdapters, startAdapters, type PlatformConnections } from "../../bots/cli/platform-connections.ts";
import { silentLogger } from "../../src/logger.ts";
import { startTestApp, type RunningApp } from "../helpers/app.ts";
import { twoPartSupervisor } from "../helpers/graph-fixtures.ts";
import { FAST_CLIENTS } from "../handoffs/platform-harness.ts";
import { startDiscordStandIn, type DiscordStandIn, type RestCall } from "../stand-ins/discord.ts";

/**
 * Partial answers first (issue 16), on Discord through the whole service and the real discord.js
 * client: the part that is ready goes out first, and the same message is edited when the slow
 * part finishes — the deferred `/support` response, and a message in a DM.
 */

const contentOf = (call: RestCall) => String((call.body as { content?: unknown } | null)?.content ?? "");
const { supervisor, techGate } = twoPartSupervisor();

describe("Discord: partial answers first", () => {
  let s: RunningApp;
  let discord: DiscordStandIn;
  let connections: PlatformConnections | undefined;

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    s = await startTestApp(
      { DISCORD_TOKEN: discord.token, DISCORD_API_URL: discord.apiUrl, DISCORD_APPLICATION_ID: discord.applicationId, PARTIAL_REPLY_MS: "50" },
      { supervisor },
    );
    const logger = silentLogger();
    const { adapters } = createPlatformAdapters(s.app, s.app.config, logger, "receive", FAST_CLIENTS);
    for (const adapter of adapters) s.app.outbox.attach(adapter);
    connections = await startAdapters(s.app, adapters, logger);
  });

  afterAll(async () => {
    techGate.open();
    await connections?.stop();
    await discord?.close();
    await s?.close();
  });

  it("/support: the deferred response shows the ready part, then is edited into the whole answer", async () => {
    techGate.close();
    const asked = discord.invokeSupport({ question: "two things: my invoice, and the app crashes" });
    const original = `/webhooks/${discord.applicationId}/${asked.token}/messages/@original`;
    const first = await discord.waitForCall((c) => c.method === "PATCH" && c.path === original, "the partial answer", 15_000);
    expect(contentOf(first)).toContain("Your last invoice was paid on 3 March.");
    expect(contentOf(first)).toMatch(/Still working on: Tech_support/);
    expect(contentOf(first)).not.toContain("Clear the app cache");

    techGate.open();
    const whole = await discord.waitForCall((c) => c.method === "PATCH" && c.path === original && contentOf(c).includes("Clear the app cache"), "the whole answer", 15_000);
    expect(contentOf(whole)).toContain("Your last invoice was paid on 3 March.");
    expect(contentOf(whole)).not.toMatch(/Still working on/);
    // Edited in place: no follow-up message, nothing posted in the channel.
    expect(discord.calls.items.filter((c) => c.method === "POST" && c.path === `/webhooks/${discord.applicationId}/${asked.token}`)).toHaveLength(0);
    expect(discord.createdIn(discord.channels.support)).toHaveLength(0);
  });

  it("a DM: one message, posted with the ready part and edited when the rest is in", async () => {
    techGate.close();
    const asked = discord.postDirectMessage({ content: "two things: invoice, and a crash on start" });
    const dm = String((asked as { channel_id: string }).channel_id);
    const posted = await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${dm}/messages` && c.status === 200, "the partial answer", 15_000);
    expect(contentOf(posted)).toMatch(/Still working on: Tech_support/);

    techGate.open();
    const [message] = discord.createdIn(dm) as Array<{ id: string }>;
    const edit = await discord.waitForCall((c) => c.method === "PATCH" && c.path === `/channels/${dm}/messages/${message!.id}`, "the edit with the whole answer", 15_000);
    expect(contentOf(edit)).toContain("Clear the app cache, then sign in again.");
    expect(contentOf(edit)).toContain("Your last invoice was paid on 3 March.");
    // What the DM shows now: one message from the bot, the whole answer.
    const shown = discord.createdIn(dm) as Array<{ content: string }>;
    expect(shown).toHaveLength(1);
    expect(shown[0]!.content).toContain("Clear the app cache");
    expect(shown[0]!.content).not.toMatch(/Still working on/);
  });
});
