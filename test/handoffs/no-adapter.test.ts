import { afterAll, afterEach, describe, expect, it } from "vitest";
import { skipWithoutServer } from "../helpers/requirements.ts";
import { createPlatformAdapters, startAdapters, type PlatformConnections } from "../../bots/cli/platform-connections.ts";
import { formatConversationKey } from "../../bots/discord/index.ts";
import type { App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import { startTestApp, type RunningApp } from "../helpers/app.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { snowflake, startDiscordStandIn, type DiscordStandIn, type RestCall } from "../stand-ins/discord.ts";
import { FAST_CLIENTS } from "./platform-harness.ts";

const contentOf = (call: RestCall) => String((call.body as { content?: unknown } | null)?.content ?? "");

let discord: DiscordStandIn | undefined;
const running: RunningApp[] = [];
const connections: PlatformConnections[] = [];

afterEach(async () => {
  for (const c of connections.splice(0)) await c.stop();
  for (const s of running.splice(0).reverse()) await s.close();
  await discord?.close();
  discord = undefined;
});

/**
 * An app without Discord configured: it stores and answers Discord messages but cannot send them.
 * No periodic sweep: what gets delivered is delivered because an adapter was attached.
 */
async function appWithoutDiscord(env: Record<string, string> = {}): Promise<RunningApp> {
  const s = await startTestApp(env, { outboxSweepMs: 0 });
  running.push(s);
  expect(s.app.outbox.platforms()).not.toContain("discord");
  return s;
}

/** The Discord adapter `serve` or `worker` builds when DISCORD_TOKEN is set, against the stand-in. */
function discordAdapterFor(app: App, standIn: DiscordStandIn, mode: "receive" | "send") {
  const config = loadConfig({ DATA_DIR: app.config.dataDir, LOG_LEVEL: "silent", DISCORD_TOKEN: standIn.token, DISCORD_API_URL: standIn.apiUrl });
  const { adapters, discord: adapter } = createPlatformAdapters(app, config, silentLogger(), mode, FAST_CLIENTS);
  expect(adapters).toEqual([adapter]);
  return adapter!;
}

/**
 * Alice asks for a person on Discord, in a process that has no Discord adapter: the question is
 * stored and answered, a handoff opens, and Dana replies through the handoff API.
 */
async function handoffWithoutDiscord(app: App, standIn: DiscordStandIn) {
  const channelId = standIn.channels.support;
  const submission = await app.intake.submit({
    platform: "discord",
    conversationKey: formatConversationKey({ kind: "guild", guildId: standIn.guildId, channelId }),
    userId: standIn.users.alice.id,
    userName: "alice",
    text: "I want to talk to a human",
    platformMessageId: snowflake(),
    replyContext: { kind: "channel", channelId },
    receivedAt: new Date(),
  });
  if (submission.status !== "accepted") throw new Error(`submission ${submission.status}`);
  const outcome = await submission.done;
  if (outcome.kind !== "reply" || !outcome.handoff) throw new Error(`expected a handoff, got ${JSON.stringify(outcome)}`);
  const reply = await app.handoffService.reply(outcome.handoff.id, "Dana", "Hi Alice, Dana here. I can help.");
  return { conversationId: submission.conversationId, reply };
}

const outbound = async (app: App, conversationId: string) =>
  (
    await app.db.pool.query<{ id: string; author_kind: string; status: string }>(
      "select id, author_kind, status from messages where direction = 'out' and conversation_id = $1 order by seq",
      [conversationId],
    )
  ).rows;

/** `switchboard_outbox_undelivered{platform="discord",status=…}` as `/metrics` shows it now; 0 when absent. */
async function undelivered(url: string, status: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`switchboard_outbox_undelivered{platform="discord",status="${status}"}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("a Discord conversation in a process without a Discord adapter", () => {
  it("keeps the bot's and the staff reply undelivered (never `sent`), visible in /metrics, and delivers both in order once an adapter is attached", async () => {
    discord = await startDiscordStandIn();
    const s = await appWithoutDiscord();
    const { conversationId, reply } = await handoffWithoutDiscord(s.app, discord);

    // Nothing reached Discord, and nothing claims it did.
    expect(reply.delivery).not.toBe("sent");
    expect(reply.delivery).toBe("no_adapter");
    const before = await outbound(s.app, conversationId);
    expect(before.map((r) => [r.author_kind, r.status])).toEqual([
      ["bot", "no_adapter"],
      ["agent", "no_adapter"],
    ]);
    expect(before.find((r) => r.author_kind === "agent")?.id).toBe(reply.messageId);
    expect(await undelivered(s.url, "no_adapter")).toBeGreaterThanOrEqual(2);
    expect(discord.calls.items.filter((c) => c.method === "POST")).toEqual([]);

    // Discord is configured: the adapter `serve` builds is attached and started, as serve does.
    const adapter = discordAdapterFor(s.app, discord, "receive");
    s.app.outbox.attach(adapter);
    connections.push(await startAdapters(s.app, [adapter], silentLogger()));

    const support = discord.channels.support;
    await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${support}/messages` && /Dana here/.test(contentOf(c)), "Dana's reply on Discord");
    await expect.poll(async () => (await outbound(s.app, conversationId)).map((r) => r.status)).toEqual(["sent", "sent"]);
    const posted = discord.botMessagesIn(support).map(contentOf);
    expect(posted).toHaveLength(2);
    expect(posted[0]).toMatch(/reply right here/);
    expect(posted[1]).toBe("**Dana** (support team):\nHi Alice, Dana here. I can help.");
    expect(await undelivered(s.url, "no_adapter")).toBe(0);
  });
});

const SERVER = process.env["TEST_DATABASE_URL"];

// Two processes cannot share one embedded database folder in a single test process, so this runs on a server.
describe.skipIf(skipWithoutServer("test/handoffs/no-adapter.test.ts (two processes on a server)"))("rows left undelivered by a process without a Discord adapter, on a Postgres server", () => {
  let fresh: Awaited<ReturnType<typeof freshServerDatabase>> | undefined;
  afterAll(async () => fresh?.drop());

  it("are delivered, in order, by another process that has the adapter (a worker's, deliver-only)", async () => {
    fresh = await freshServerDatabase(SERVER!);
    discord = await startDiscordStandIn();
    // In-process queue: this process answers the Discord message itself (a shared queue would leave it to a Discord-capable worker).
    const env = { DATABASE_URL: fresh.url, JOB_QUEUE: "memory" };
    const first = await appWithoutDiscord(env);
    const { conversationId, reply } = await handoffWithoutDiscord(first.app, discord);
    expect(reply.delivery).toBe("no_adapter");
    expect((await outbound(first.app, conversationId)).map((r) => r.status)).toEqual(["no_adapter", "no_adapter"]);

    const second = await startTestApp(env, { outboxSweepMs: 0 });
    running.push(second);
    second.app.outbox.attach(discordAdapterFor(second.app, discord, "send"));

    await expect.poll(async () => (await outbound(first.app, conversationId)).map((r) => r.status)).toEqual(["sent", "sent"]);
    const posted = discord.botMessagesIn(discord.channels.support).map(contentOf);
    expect(posted).toHaveLength(2);
    expect(posted[0]).toMatch(/reply right here/);
    expect(posted[1]).toBe("**Dana** (support team):\nHi Alice, Dana here. I can help.");
    // Deliver-only: the second process never opened a gateway connection.
    expect(discord.connections.items).toEqual([]);
  });
});
