import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPlatformAdapters, startAdapters, type PlatformConnections } from "../../bots/cli/platform-connections.ts";
import { customId } from "../../bots/discord/staff.ts";
import { attachStaffChannels } from "../../bots/staff-channels.ts";
import { silentLogger } from "../../src/logger.ts";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { startDiscordStandIn, type DiscordStandIn, type RestCall } from "../stand-ins/discord.ts";
import { FAST_CLIENTS } from "./platform-harness.ts";

interface Component {
  type: number;
  label?: string;
  custom_id?: string;
  components?: Component[];
}

const contentOf = (call: RestCall) => String((call.body as { content?: unknown } | null)?.content ?? "");
const buttonsOf = (call: RestCall) =>
  ((call.body as { components?: Component[] }).components ?? []).flatMap((row) => row.components ?? []).map((b) => b.label);

describe("the Discord staff channel: card with buttons, edited in place, replies from its thread (real discord.js)", () => {
  let s: RunningApp;
  let discord: DiscordStandIn;
  let connections: PlatformConnections | undefined;
  let staffChannel: string;

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    staffChannel = discord.channels.general;
    s = await startTestApp({ DISCORD_TOKEN: discord.token, DISCORD_API_URL: discord.apiUrl, DISCORD_HANDOFF_CHANNEL: staffChannel });
    // What `switchboard serve` does with that configuration.
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

  it("Claim, a reply in the card's thread reaching the user, the user's answer relayed, Resolve", async () => {
    const { bob, alice } = discord.users;
    const asked = await postJson(`${s.url}/api/messages`, { userId: "web-user", text: "I want to talk to a human" });
    const handoffId = asked.body.handoff.id as string;
    const conversationId = asked.body.conversationId as string;

    // One card in the staff channel, with a thread started from it.
    const card = await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${staffChannel}/messages` && contentOf(c).includes(handoffId), "the handoff card");
    const cardId = (await discord.waitForCall((c) => c.method === "POST" && c.path.startsWith(`/channels/${staffChannel}/messages/`) && c.path.endsWith("/threads"), "the card's thread")).path.split("/")[4]!;
    expect(contentOf(card)).toMatch(/^## Handoff: Asked for a person\n⏳ \*\*Open\*\*/);
    expect(contentOf(card)).toContain("**Who** http user web-user");
    expect(buttonsOf(card)).toEqual(["Claim", "Resolve", "Back to bot"]);

    // Bob clicks Claim: acknowledged, and the card is edited in place.
    const click = discord.clickButton({ channelId: staffChannel, messageId: cardId, customId: customId("claim", handoffId), author: bob });
    const ack = await discord.waitForCall((c) => c.path === `/interactions/${click.id}/${click.token}/callback`, "the button's acknowledgement");
    expect((ack.body as { type: number }).type).toBe(6);
    const edited = await discord.waitForCall((c) => c.method === "PATCH" && c.path === `/channels/${staffChannel}/messages/${cardId}` && /Claimed by Bob/.test(contentOf(c)), "the card edited");
    expect(buttonsOf(edited)).toEqual(["Resolve", "Back to bot"]);
    expect((await s.app.handoffs.get(handoffId))?.assignee).toBe("Bob");

    // Alice clicking Claim too is told, only to her, who has it.
    const second = discord.clickButton({ channelId: staffChannel, messageId: cardId, customId: customId("claim", handoffId), author: alice });
    const told = await discord.waitForCall((c) => c.method === "POST" && c.path === `/webhooks/${discord.applicationId}/${second.token}`, "the ephemeral follow-up");
    expect(contentOf(told)).toBe("This handoff is already claimed by Bob.");
    expect((told.body as { flags: number }).flags & 64).toBe(64);

    // Bob replies in the card's thread: the user's (HTTP) conversation gets it, from Bob.
    discord.postMessage({ channelId: cardId, content: "Hi, Bob here. Looking at it now.", author: bob });
    const agentMessages = () =>
      s.app.db.pool
        .query("select author_id, status, text from messages where conversation_id = $1 and author_kind = 'agent'", [conversationId])
        .then((r) => r.rows);
    await expect.poll(agentMessages).toEqual([{ author_id: "Bob", status: "sent", text: "Hi, Bob here. Looking at it now." }]);

    // The user's answer goes into the card's thread; the bot stays silent.
    const followUp = await postJson(`${s.url}/api/messages`, { userId: "web-user", conversationId, text: "Great, thanks Bob." });
    expect(followUp.body).toMatchObject({ relayed: true, reply: null });
    const relayed = await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${cardId}/messages` && contentOf(c).startsWith("**User:**"), "the user's message in the thread");
    expect(contentOf(relayed)).toBe("**User:** Great, thanks Bob.");

    // Bob clicks Resolve: a modal asks for a note; nothing changes until he submits it.
    const resolveClick = discord.clickButton({ channelId: staffChannel, messageId: cardId, customId: customId("resolve", handoffId), author: bob });
    const modalAck = await discord.waitForCall((c) => c.path === `/interactions/${resolveClick.id}/${resolveClick.token}/callback`, "the modal opened");
    expect((modalAck.body as { type: number }).type).toBe(9);
    expect(discord.modalShown(resolveClick.token)).toMatchObject({ title: "Resolve the handoff", inputs: [{ customId: "note", required: false, maxLength: 2000 }] });
    expect((await s.app.handoffs.get(handoffId))?.status).toBe("claimed");

    // He submits it with a note: the card shows it and loses its buttons; the bot owns the conversation.
    const submit = discord.submitModal({ token: resolveClick.token, values: { note: "Refunded the duplicate by hand." } });
    const submitAck = await discord.waitForCall((c) => c.path === `/interactions/${submit.id}/${submit.token}/callback`, "the modal submit acknowledged");
    expect((submitAck.body as { type: number }).type).toBe(6);
    const resolved = await discord.waitForCall(
      (c) => c.method === "PATCH" && c.path === `/channels/${staffChannel}/messages/${cardId}` && /Resolved\*\* by Bob: Refunded the duplicate by hand\./.test(contentOf(c)),
      "the card resolved with the note",
    );
    expect(buttonsOf(resolved)).toEqual([]);
    const resolveEvents = (await s.app.handoffs.events(handoffId)).filter((e) => e.kind === "resolved").map((e) => [e.actor, e.text]);
    expect(resolveEvents).toEqual([["Bob", "Refunded the duplicate by hand."]]);
    expect((await s.app.log.getConversation(conversationId))?.status).toBe("bot");
    // Staff talk in the staff channel never became a customer conversation.
    expect(await s.app.log.searchConversations({ platform: "discord" })).toEqual([]);
  });
});
