import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPlatformAdapters, startAdapters, type PlatformConnections } from "../../bots/cli/platform-connections.ts";
import { customId } from "../../bots/discord/staff.ts";
import { STAFF_ACTION_IDS } from "../../bots/slack/staff.ts";
import { attachStaffChannels } from "../../bots/staff-channels.ts";
import { describeConfig, loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { snowflake, startDiscordStandIn, type DiscordStandIn, type RestCall } from "../stand-ins/discord.ts";
import { FAST_CLIENTS, STAFF, STAFF_CHANNEL, startPlatformHarness, type PlatformHarness } from "./platform-harness.ts";

/**
 * Staff actions come only from staff: a correctly signed click (Slack signs every request, Discord
 * sends every interaction over the authenticated gateway) proves the platform sent it, not that a
 * support team member did it, or from the staff channel. Each refusal changes nothing and tells
 * only the sender why.
 */

const CUSTOMER = { id: "U0CUSTOMER", name: "Mallory" };
const PUBLIC_CHANNEL = "C0PUBLIC";
const STAFF_GROUP = "S0STAFF";

const contentOf = (call: RestCall) => String((call.body as { content?: unknown } | null)?.content ?? "");

/** An HTTP user asks for a person: one open handoff, its card in the staff channel. */
async function openHandoff(url: string, userId: string): Promise<{ handoffId: string; conversationId: string }> {
  const asked = await postJson(`${url}/api/messages`, { userId, text: "I want to talk to a human" });
  expect(asked.status).toBe(200);
  return { handoffId: asked.body.handoff.id as string, conversationId: asked.body.conversationId as string };
}

async function staffEvents(app: RunningApp["app"], handoffId: string): Promise<string[]> {
  const r = await app.db.pool.query<{ kind: string }>("select kind from handoff_events where handoff_id = $1 order by at, id", [handoffId]);
  return r.rows.map((row) => row.kind);
}

describe("Slack: card buttons act only from the staff channel (real Bolt, signed requests)", () => {
  let h: PlatformHarness;
  beforeAll(async () => {
    h = await startPlatformHarness();
  });
  afterAll(async () => h?.close());

  it("refuses a correctly signed Claim and Resolve from a customer in a public channel, ephemerally, changing nothing", async () => {
    const { slackApi } = h;
    const { handoffId } = await openHandoff(h.url, "web-user-1");
    const card = await slackApi.waitForCall("chat.postMessage", (c) => c.args["channel"] === STAFF_CHANNEL && JSON.stringify(c.args["blocks"]).includes(handoffId), "the card");
    const cardTs = card.response["ts"] as string;
    await h.app.handoffService.idle();

    for (const action of [STAFF_ACTION_IDS.claim, STAFF_ACTION_IDS.resolve]) {
      const res = await h.click(CUSTOMER, action, handoffId, cardTs, PUBLIC_CHANNEL);
      expect(res.status).toBe(200); // acknowledged: Slack must not retry it
    }
    const told = await slackApi.waitForResponse((r) => /staff channel/.test(String(r.body["text"])));
    expect(told.body).toEqual({
      response_type: "ephemeral",
      replace_original: false,
      text: "Handoff buttons work only in the support team's staff channel. Nothing was changed.",
    });
    await slackApi.waitForResponse((r) => r !== told && /staff channel/.test(String(r.body["text"])));

    expect(await h.app.handoffs.get(handoffId)).toMatchObject({ status: "open", assignee: null });
    expect(await staffEvents(h.app, handoffId)).toEqual(["opened"]);
    expect(slackApi.callsTo("chat.update")).toEqual([]);
    expect(slackApi.callsTo("users.info", (c) => c.args["user"] === CUSTOMER.id)).toEqual([]);

    // The same button from the staff channel works.
    await h.click(STAFF.dana, STAFF_ACTION_IDS.claim, handoffId, cardTs);
    await slackApi.waitForCall("chat.update", (c) => c.args["ts"] === cardTs && JSON.stringify(c.args["blocks"]).includes("Claimed by Dana"), "the card claimed");
    expect(await h.app.handoffs.get(handoffId)).toMatchObject({ status: "claimed", assignee: "Dana" });
  });
});

describe("Slack: with SLACK_STAFF_USERGROUP, only the group's members act (usergroups.users.list, cached)", () => {
  let h: PlatformHarness;
  beforeAll(async () => {
    h = await startPlatformHarness({ SLACK_STAFF_USERGROUP: STAFF_GROUP });
  });
  afterAll(async () => h?.close());

  it("fails closed while the group cannot be read, refuses non-members' clicks and thread replies, lets members act", async () => {
    const { slackApi } = h;
    const { handoffId, conversationId } = await openHandoff(h.url, "web-user-2");
    const card = await slackApi.waitForCall("chat.postMessage", (c) => c.args["channel"] === STAFF_CHANNEL && JSON.stringify(c.args["blocks"]).includes(handoffId), "the card");
    const cardTs = card.response["ts"] as string;
    await h.app.handoffService.idle();

    // Slack cannot say who is in the group (the scope is missing): nobody acts.
    slackApi.respondWith("usergroups.users.list", () => ({ ok: false, error: "missing_scope" }));
    await h.click(STAFF.dana, STAFF_ACTION_IDS.claim, handoffId, cardTs);
    const unavailable = await slackApi.waitForResponse((r) => /Could not check/.test(String(r.body["text"])));
    expect(unavailable.body["response_type"]).toBe("ephemeral");
    expect(await h.app.handoffs.get(handoffId)).toMatchObject({ status: "open" });

    slackApi.respondWith("usergroups.users.list", (args) => (args["usergroup"] === STAFF_GROUP ? { ok: true, users: [STAFF.dana.id] } : { ok: false, error: "no_such_subteam" }));

    // Eve is in the staff channel but not in the group.
    await h.click(STAFF.eve, STAFF_ACTION_IDS.claim, handoffId, cardTs);
    const notMember = await slackApi.waitForResponse((r) => /user group can act/.test(String(r.body["text"])));
    expect(notMember.body).toMatchObject({ response_type: "ephemeral", replace_original: false });
    expect(await h.app.handoffs.get(handoffId)).toMatchObject({ status: "open", assignee: null });

    // Dana is: her click acts.
    await h.click(STAFF.dana, STAFF_ACTION_IDS.claim, handoffId, cardTs);
    await slackApi.waitForCall("chat.update", (c) => c.args["ts"] === cardTs && JSON.stringify(c.args["blocks"]).includes("Claimed by Dana"), "the card claimed");

    // Eve writes in the card's thread: told privately, and nothing reaches the user.
    const eveWrites = { type: "message" as const, channel: STAFF_CHANNEL, channel_type: "channel" as const, user: STAFF.eve.id, ts: "1800000100.000100", thread_ts: cardTs, parent_user_id: slackApi.botUserId, text: "Eve here, ignore the last invoice." };
    expect((await h.slackEvent(eveWrites)).status).toBe(200);
    const ephemeral = await slackApi.waitForCall("chat.postEphemeral", (c) => c.args["user"] === STAFF.eve.id, "the note to Eve");
    expect(ephemeral.args).toMatchObject({ channel: STAFF_CHANNEL, thread_ts: cardTs });
    expect(String(ephemeral.args["text"])).toMatch(/not sent to the user/);

    // Dana's reply in the same thread reaches the user.
    await h.slackEvent({ ...eveWrites, user: STAFF.dana.id, ts: "1800000101.000100", text: "Dana here, looking at it." });
    const agentMessages = () =>
      h.app.db.pool.query("select author_id, text from messages where conversation_id = $1 and author_kind = 'agent' order by created_at", [conversationId]).then((r) => r.rows);
    await expect.poll(agentMessages).toEqual([{ author_id: "Dana", text: "Dana here, looking at it." }]);

    // One successful lookup served every later check (the failed one was not kept).
    expect(slackApi.callsTo("usergroups.users.list").filter((c) => c.response["ok"] === true)).toHaveLength(1);
    expect(await staffEvents(h.app, handoffId)).not.toContain("resolved");
  });
});

describe("Discord: card buttons and staff-thread replies act only from the staff channel, and with DISCORD_STAFF_ROLE only for that role (real discord.js)", () => {
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
      DISCORD_HANDOFF_CHANNEL: staffChannel,
      DISCORD_STAFF_ROLE: discord.roles.staff,
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

  it("refuses a customer's click from a public channel and a non-staff member's click and thread reply; a staff member acts", async () => {
    const { alice, bob } = discord.users;
    discord.memberRoles.set(bob.id, [discord.roles.staff]);
    const { handoffId, conversationId } = await openHandoff(s.url, "web-user-3");
    await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${staffChannel}/messages` && contentOf(c).includes(handoffId), "the handoff card");
    const cardId = (await discord.waitForCall((c) => c.method === "POST" && c.path.startsWith(`/channels/${staffChannel}/messages/`) && c.path.endsWith("/threads"), "the card's thread")).path.split("/")[4]!;
    await s.app.handoffService.idle();

    const refusal = async (click: { id: string; token: string }) => {
      const callback = await discord.waitForCall((c) => c.path === `/interactions/${click.id}/${click.token}/callback`, "the answer to the click");
      const body = callback.body as { type: number; data: { content: string; flags: number } };
      expect(body.type).toBe(4); // a message, not the silent update an acted-on click gets
      expect(body.data.flags & 64).toBe(64); // ephemeral: only the clicker sees it
      return body.data.content;
    };

    // Alice, a customer, clicks a copy of the Claim button on a message in the public support channel.
    const elsewhere = snowflake();
    const fromPublic = discord.clickButton({ channelId: discord.channels.support, messageId: elsewhere, customId: customId("claim", handoffId), author: alice });
    expect(await refusal(fromPublic)).toBe("Handoff buttons work only in the support team's staff channel. Nothing was changed.");
    const resolveFromPublic = discord.clickButton({ channelId: discord.channels.support, messageId: elsewhere, customId: customId("resolve", handoffId), author: alice });
    expect(await refusal(resolveFromPublic)).toMatch(/staff channel/);

    // In the staff channel, without the staff role.
    const noRole = discord.clickButton({ channelId: staffChannel, messageId: cardId, customId: customId("claim", handoffId), author: alice });
    expect(await refusal(noRole)).toBe("Only members with the support team's staff role can act on handoffs. Nothing was changed.");
    expect(await s.app.handoffs.get(handoffId)).toMatchObject({ status: "open", assignee: null });
    expect(discord.calls.items.filter((c) => c.method === "PATCH" && c.path === `/channels/${staffChannel}/messages/${cardId}`)).toEqual([]);

    // Alice writes in the card's thread: not sent to the user, and she is told so there.
    const aliceWrites = discord.postMessage({ channelId: cardId, content: "Your refund is approved.", author: alice });
    const note = await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${cardId}/messages` && /not sent to the user/.test(contentOf(c)), "the note in the thread");
    expect((note.body as { message_reference?: { message_id: string } }).message_reference?.message_id).toBe(aliceWrites["id"]);

    // Bob has the role: his click and his reply act.
    discord.clickButton({ channelId: staffChannel, messageId: cardId, customId: customId("claim", handoffId), author: bob });
    await discord.waitForCall((c) => c.method === "PATCH" && c.path === `/channels/${staffChannel}/messages/${cardId}` && /Claimed by Bob/.test(contentOf(c)), "the card claimed");
    discord.postMessage({ channelId: cardId, content: "Bob here, checking your invoice.", author: bob });
    const agentMessages = () =>
      s.app.db.pool.query("select author_id, text from messages where conversation_id = $1 and author_kind = 'agent' order by created_at", [conversationId]).then((r) => r.rows);
    await expect.poll(agentMessages).toEqual([{ author_id: "Bob", text: "Bob here, checking your invoice." }]);
    await s.app.handoffService.idle();
    await expect.poll(() => staffEvents(s.app, handoffId)).toEqual(["opened", "claimed", "agent_reply"]);
  });
});

describe("the staff settings (SLACK_STAFF_USERGROUP, DISCORD_STAFF_ROLE)", () => {
  const load = (env: Record<string, string>) => () => loadConfig({ LOG_LEVEL: "silent", ...env });

  it("stop the start with a message naming the variable when malformed or without their staff channel", () => {
    expect(load({ SLACK_HANDOFF_CHANNEL: "C0STAFF", SLACK_STAFF_USERGROUP: "support-team" })).toThrow(/SLACK_STAFF_USERGROUP: must be a Slack user group id/);
    expect(load({ SLACK_STAFF_USERGROUP: "S0STAFF" })).toThrow(/SLACK_STAFF_USERGROUP is set but SLACK_HANDOFF_CHANNEL is not/);
    expect(load({ DISCORD_HANDOFF_CHANNEL: "1234567890123456789", DISCORD_STAFF_ROLE: "@Support" })).toThrow(/DISCORD_STAFF_ROLE: must be a Discord role id/);
    expect(load({ DISCORD_STAFF_ROLE: "1234567890123456789" })).toThrow(/DISCORD_STAFF_ROLE is set but DISCORD_HANDOFF_CHANNEL is not/);
  });

  it("are read, and the start-up summary says who may act", () => {
    const config = loadConfig({ LOG_LEVEL: "silent", SLACK_HANDOFF_CHANNEL: "C0STAFF", SLACK_STAFF_USERGROUP: "S0STAFF", DISCORD_HANDOFF_CHANNEL: "1234567890123456789" });
    expect(config).toMatchObject({ slackStaffUsergroup: "S0STAFF", discordStaffRole: undefined });
    const summary = describeConfig(config);
    expect(summary).toContain("Staff actions (Slack): only from C0STAFF, by members of S0STAFF");
    expect(summary).toContain("Staff actions (Discord): only from 1234567890123456789, by anyone in it — set DISCORD_STAFF_ROLE to require a role");
  });
});
