import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { customId, refundCustomId } from "../../bots/discord/staff.ts";
import { MODAL_INPUTS, REFUND_ACTION_IDS, STAFF_ACTION_IDS } from "../../bots/slack/staff.ts";
import type { SlackApiCall } from "../stand-ins/slack-api.ts";
import type { RestCall } from "../stand-ins/discord.ts";
import { postJson } from "../helpers/app.ts";
import { STAFF, STAFF_CHANNEL, startPlatformHarness, type PlatformHarness } from "./platform-harness.ts";

/**
 * The staff cards in Slack and Discord as a support team uses them once it has agents: each
 * platform user is linked to an agent and acts as them, under the API's rules; Resolve asks for a
 * note and Reject for a reason in a modal; a refund waiting for approval is approved or rejected
 * on the card; the card names the customer and what they asked, never a card number or a tool
 * code. Real Bolt and discord.js against the stand-ins, wired as `switchboard serve` wires them.
 */

const CARD_NUMBER = "4111 1111 1111 1111";
const KIM = { id: "U0KIM", name: "Kim" };

const blocksOf = (call: SlackApiCall) => JSON.stringify(call.args["blocks"] ?? "");
const contentOf = (call: RestCall) => String((call.body as { content?: unknown } | null)?.content ?? "");
const componentsOf = (call: RestCall) =>
  ((call.body as { components?: Array<{ components?: Array<{ label?: string; custom_id?: string }> }> }).components ?? []).flatMap((row) => row.components ?? []);

describe("staff cards: linked agents, notes and reasons in modals, refund approvals (real Bolt and discord.js)", () => {
  let h: PlatformHarness;
  let discordStaff: string;

  /** Where the handoff's cards are, once they are posted. */
  const cards = async (handoffId: string) => {
    await h.app.handoffService.idle();
    const handoff = await h.app.handoffs.get(handoffId);
    const slack = handoff?.cards.find((c) => c.platform === "slack")?.messageId;
    const discord = handoff?.cards.find((c) => c.platform === "discord")?.messageId;
    if (!slack || !discord) throw new Error(`handoff ${handoffId} has no card on both platforms: ${JSON.stringify(handoff?.cards)}`);
    return { slackTs: slack, discordId: discord };
  };
  const events = async (handoffId: string) => (await h.app.handoffs.events(handoffId)).map((e) => [e.kind, e.actor, e.text]);
  const viewsOpened = () => h.slackApi.callsTo("views.open", (c) => c.response["ok"] === true);

  beforeAll(async () => {
    h = await startPlatformHarness({}, { discordStaff: true });
    discordStaff = h.discordStaffChannel!;
    // The team: display names on the platforms differ from the agents' names, so the test sees which one acted.
    await h.app.agents.add("Dana Reyes", "agent", { slackUser: STAFF.dana.id });
    await h.app.agents.add("Eve Stone", "agent", { slackUser: STAFF.eve.id });
    await h.app.agents.add("Bob Marsh", "agent", { discordUser: h.discord.users.bob.id });
  });
  afterAll(async () => h?.close());

  it("Slack: the linked agent claims and resolves with a note from the modal; a colleague (not a lead) cannot resolve it; the card shows the customer and the request, no card number", async () => {
    const { slackApi } = h;
    const asked = await postJson(`${h.url}/api/messages`, { userId: "u2", text: `I want to talk to a human\nMy card ${CARD_NUMBER} was charged for the wrong plan` });
    expect(asked.status).toBe(200);
    const handoffId = asked.body.handoff.id as string;
    const { slackTs } = await cards(handoffId);

    // The card: the linked customer's name, the first line of the request, the reason in words.
    const card = slackApi.callsTo("chat.postMessage", (c) => c.response["ts"] === slackTs)[0]!;
    const shown = `${String(card.args["text"])} ${blocksOf(card)}`;
    expect(shown).toContain("Priya Shah");
    expect(shown).toContain("*Request*\\n>I want to talk to a human");
    expect(shown).toContain("Asked for a person");
    expect(shown).not.toMatch(/4111|\b[A-Z]{3,}_[A-Z_]+:/);
    const discordCard = h.discord.calls.items.find((c) => c.method === "POST" && c.path === `/channels/${discordStaff}/messages` && contentOf(c).includes(handoffId))!;
    expect(contentOf(discordCard)).toContain("**Who** Priya Shah (http user u2)");
    expect(contentOf(discordCard)).toContain("**Request** I want to talk to a human");
    expect(contentOf(discordCard)).not.toMatch(/4111|\b[A-Z]{3,}_[A-Z_]+:/);

    // Dana (Slack display name "Dana") claims: it is Dana Reyes's, the agent she is linked to.
    await h.click(STAFF.dana, STAFF_ACTION_IDS.claim, handoffId, slackTs);
    await slackApi.waitForCall("chat.update", (c) => c.args["ts"] === slackTs && blocksOf(c).includes("Claimed by Dana Reyes"), "the card claimed by Dana Reyes");
    expect(await h.app.handoffs.get(handoffId)).toMatchObject({ status: "claimed", assignee: "Dana Reyes" });

    // Eve, an agent but not the owner, clicks Resolve: the modal opens, and submitting it is refused, only to her.
    const before = viewsOpened().length;
    await h.click(STAFF.eve, STAFF_ACTION_IDS.resolve, handoffId, slackTs);
    await slackApi.waitForCall("views.open", (c) => c.response["ok"] === true && viewsOpened().length > before, "Eve's resolve modal");
    const eveView = viewsOpened()[before]!.response["view"] as { id: string; callback_id: string };
    expect((await h.submitView(STAFF.eve, eveView.id, { [MODAL_INPUTS.note.block]: "closing this" })).status).toBe(200);
    const toEve = await slackApi.waitForCall("chat.postEphemeral", (c) => c.args["user"] === STAFF.eve.id, "Eve told why");
    expect(String(toEve.args["text"])).toMatch(/Dana Reyes/);
    expect(toEve.args["channel"]).toBe(STAFF_CHANNEL);
    expect(await h.app.handoffs.get(handoffId)).toMatchObject({ status: "claimed", assignee: "Dana Reyes" });

    // Dana clicks Resolve: a modal with a note field; she submits a note: stored on the resolve event, shown on the card.
    await h.click(STAFF.dana, STAFF_ACTION_IDS.resolve, handoffId, slackTs);
    await slackApi.waitForCall("views.open", (c) => c.response["ok"] === true && viewsOpened().length > before + 1, "Dana's resolve modal");
    const opened = viewsOpened()[before + 1]!;
    const view = opened.args["view"] as { title: { text: string }; blocks: Array<{ type: string; optional?: boolean }>; private_metadata: string };
    expect(view.title.text).toBe("Resolve the handoff");
    expect(view.blocks).toMatchObject([{ type: "input", optional: true }]);
    expect(JSON.parse(view.private_metadata)).toEqual({ id: handoffId, channel: STAFF_CHANNEL });
    const danaView = opened.response["view"] as { id: string };
    expect((await h.submitView(STAFF.dana, danaView.id, { [MODAL_INPUTS.note.block]: "Moved Priya to the right plan." })).status).toBe(200);
    const resolved = await slackApi.waitForCall("chat.update", (c) => c.args["ts"] === slackTs && /Resolved\* by Dana Reyes/.test(blocksOf(c)), "the card resolved");
    expect(blocksOf(resolved)).toContain("Moved Priya to the right plan.");
    expect(blocksOf(resolved)).not.toContain(STAFF_ACTION_IDS.resolve);
    expect(await h.app.handoffs.get(handoffId)).toMatchObject({ status: "resolved", resolvedBy: "Dana Reyes", resolutionNote: "Moved Priya to the right plan." });
    expect((await events(handoffId)).filter(([kind]) => kind === "resolved")).toEqual([["resolved", "Dana Reyes", "Moved Priya to the right plan."]]);
  });

  it("Discord: the linked agent claims and resolves with a note from the modal (showModal, modal submit)", async () => {
    const { discord } = h;
    const asked = await postJson(`${h.url}/api/messages`, { userId: "web-discord-1", text: "I want to talk to a human" });
    const handoffId = asked.body.handoff.id as string;
    const { discordId } = await cards(handoffId);

    const claim = discord.clickButton({ channelId: discordStaff, messageId: discordId, customId: customId("claim", handoffId), author: discord.users.bob });
    await discord.waitForCall((c) => c.path === `/interactions/${claim.id}/${claim.token}/callback`, "the claim acknowledged");
    await discord.waitForCall((c) => c.method === "PATCH" && c.path === `/channels/${discordStaff}/messages/${discordId}` && /Claimed by Bob Marsh/.test(contentOf(c)), "the card claimed by Bob Marsh");

    const resolve = discord.clickButton({ channelId: discordStaff, messageId: discordId, customId: customId("resolve", handoffId), author: discord.users.bob });
    const modal = await discord.waitForCall((c) => c.path === `/interactions/${resolve.id}/${resolve.token}/callback`, "the resolve modal");
    expect((modal.body as { type: number }).type).toBe(9);
    discord.submitModal({ token: resolve.token, values: { note: "Explained the invoice." } });
    await discord.waitForCall(
      (c) => c.method === "PATCH" && c.path === `/channels/${discordStaff}/messages/${discordId}` && /Resolved\*\* by Bob Marsh: Explained the invoice\./.test(contentOf(c)),
      "the card resolved with the note",
    );
    expect((await events(handoffId)).filter(([kind]) => kind !== "opened")).toEqual([
      ["claimed", "Bob Marsh", ""],
      ["resolved", "Bob Marsh", "Explained the invoice."],
    ]);
  });

  it("a staff member linked to no agent is refused on both platforms, told only them how to get linked, and nothing changes", async () => {
    const { slackApi, discord } = h;
    const asked = await postJson(`${h.url}/api/messages`, { userId: "web-unlinked", text: "I want to talk to a human" });
    const handoffId = asked.body.handoff.id as string;
    const { slackTs, discordId } = await cards(handoffId);

    // Slack: Kim is in the staff channel but linked to no agent. Claim, and Resolve (no modal opens).
    const modalsBefore = slackApi.callsTo("views.open").length;
    await h.click(KIM, STAFF_ACTION_IDS.claim, handoffId, slackTs);
    await h.click(KIM, STAFF_ACTION_IDS.resolve, handoffId, slackTs);
    const told = await slackApi.waitForResponse((r) => /not linked/.test(String(r.body["text"])));
    expect(told.body).toMatchObject({ response_type: "ephemeral", replace_original: false });
    expect(String(told.body["text"])).toContain("switchboard agents link <your agent name> --slack-user U0KIM");
    await slackApi.waitForResponse((r) => r !== told && /not linked/.test(String(r.body["text"])));
    expect(slackApi.callsTo("views.open").length).toBe(modalsBefore);
    // Her reply in the card's thread is not sent to the user either; she is told in the thread, only her.
    await h.slackEvent({ type: "message", channel: STAFF_CHANNEL, channel_type: "channel", user: KIM.id, ts: "1800000100.000100", thread_ts: slackTs, parent_user_id: slackApi.botUserId, text: "Hi, Kim here" });
    const inThread = await slackApi.waitForCall("chat.postEphemeral", (c) => c.args["user"] === KIM.id, "Kim told in the thread");
    expect(inThread.args["thread_ts"]).toBe(slackTs);
    expect(String(inThread.args["text"])).toContain("your message was not sent to the user");

    // Discord: Alice (a member of the server, linked to no agent) clicks Claim, and Resolve (no modal).
    const claim = discord.clickButton({ channelId: discordStaff, messageId: discordId, customId: customId("claim", handoffId), author: discord.users.alice });
    const followUp = await discord.waitForCall((c) => c.method === "POST" && c.path === `/webhooks/${discord.applicationId}/${claim.token}`, "Alice told (claim)");
    expect(contentOf(followUp)).toContain(`--discord-user ${discord.users.alice.id}`);
    expect((followUp.body as { flags: number }).flags & 64).toBe(64);
    const resolve = discord.clickButton({ channelId: discordStaff, messageId: discordId, customId: customId("resolve", handoffId), author: discord.users.alice });
    const answer = await discord.waitForCall((c) => c.path === `/interactions/${resolve.id}/${resolve.token}/callback`, "Alice told (resolve)");
    expect(answer.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(String((answer.body as { data: { content: string } }).data.content)).toContain("not linked to a Switchboard agent");
    discord.postMessage({ channelId: discordId, content: "Alice here, on it", author: discord.users.alice });
    await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${discordId}/messages` && /your message was not sent to the user/.test(contentOf(c)), "Alice told in the thread");

    expect(await h.app.handoffs.get(handoffId)).toMatchObject({ status: "open", assignee: null });
    expect((await events(handoffId)).map(([kind]) => kind)).toEqual(["opened"]);
    const sent = await h.app.db.pool.query("select 1 from messages where conversation_id = $1 and author_kind = 'agent'", [asked.body.conversationId]);
    expect(sent.rows).toEqual([]);
  });

  it("approve from the Slack card: the refund moves in the billing tables, the Discord user is told once, the history says who; twice says already decided", async () => {
    const { slackApi, discord } = h;
    const { alice } = discord.users;
    await h.app.db.pool.query("insert into identities (platform, platform_user_id, customer_id) values ('discord', $1, 'cus_priya')", [alice.id]);
    const asked = discord.postMessage({ channelId: discord.channels.support, content: `<@${discord.bot.id}> I was charged twice for my subscription` });
    const threadId = asked["id"] as string;
    await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages` && c.status === 200, "the bot's answer in the thread", 15_000);
    await h.app.handoffService.idle();
    const handoff = (await h.app.handoffService.list({ status: "open" })).find((x) => x.reason === "needs_approval" && x.platform === "discord");
    expect(handoff).toBeDefined();
    const handoffId = handoff!.id;
    const { slackTs, discordId } = await cards(handoffId);
    const [refund] = await h.app.refunds.list({ handoffId });
    expect(refund).toMatchObject({ status: "awaiting_approval", amountCents: 25000 });
    const refundId = refund!.id;

    // Both cards offer the decision; neither shows a tool code.
    const slackCard = slackApi.callsTo("chat.postMessage", (c) => c.response["ts"] === slackTs)[0]!;
    expect(blocksOf(slackCard)).toContain(REFUND_ACTION_IDS.approve);
    expect(blocksOf(slackCard)).toContain(`Refund ${refundId} of $250.00* awaits approval`);
    expect(`${String(slackCard.args["text"])}${blocksOf(slackCard)}`).not.toMatch(/NEEDS_APPROVAL|\b[A-Z]{3,}_[A-Z_]+:/);
    const discordCard = discord.calls.items.find((c) => c.method === "POST" && c.path === `/channels/${discordStaff}/messages` && contentOf(c).includes(handoffId))!;
    expect(componentsOf(discordCard).map((b) => b.custom_id)).toContain(refundCustomId("approve", refundId));
    expect(contentOf(discordCard)).toContain("Priya Shah");
    expect(discordId).toBeTruthy();

    await h.click(STAFF.dana, REFUND_ACTION_IDS.approve, refundId, slackTs);
    const told = await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages` && /refund of \$250\.00 is approved/.test(contentOf(c)) && c.status === 200, "the decision told on Discord");
    expect(contentOf(told)).toContain(refundId);
    const row = (await h.app.db.pool.query("select status, decided_by from refunds where id = $1", [refundId])).rows[0];
    expect(row).toEqual({ status: "approved", decided_by: "Dana Reyes" });
    expect(await events(handoffId)).toContainEqual(["refund_approved", "Dana Reyes", `${refundId} of $250.00`]);
    const updated = await slackApi.waitForCall("chat.update", (c) => c.args["ts"] === slackTs && blocksOf(c).includes("approved by Dana Reyes"), "the Slack card shows the decision");
    expect(blocksOf(updated)).not.toContain(REFUND_ACTION_IDS.approve);

    // Approving again (a second click on a stale card) changes nothing, sends nothing, and says so.
    await h.click(STAFF.eve, REFUND_ACTION_IDS.approve, refundId, slackTs);
    const again = await slackApi.waitForResponse((r) => /already|not awaiting approval/.test(String(r.body["text"])));
    expect(String(again.body["text"])).toContain("approved by Dana Reyes");
    await h.app.handoffService.idle();
    const decisions = discord.calls.items.filter((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages` && /is approved/.test(contentOf(c)));
    expect(decisions).toHaveLength(1);
    const agentRows = await h.app.db.pool.query("select text from messages where conversation_id = $1 and author_kind = 'agent'", [handoff!.conversationId]);
    expect(agentRows.rows).toHaveLength(1);
  });

  it("reject from the Discord card: the reason from the modal reaches the billing tables and the user, once", async () => {
    const { discord } = h;
    // A second customer with a duplicate charge above the approval limit, on the HTTP API.
    await h.app.db.pool.query(`
      insert into customers (id, name, email, plan, seats, currency) values ('cus_noor', 'Noor Haddad', 'noor@example.com', 'Business', 5, 'USD');
      insert into identities (platform, platform_user_id, customer_id) values ('http', 'u-noor', 'cus_noor');
      insert into invoices (id, customer_id, number, period_start, period_end, amount_cents, status, issued_at, due_at) values
        ('in_n1', 'cus_noor', 'INV-3001', (now() - interval '1 month')::date, now()::date, 30000, 'paid', now() - interval '1 month', now() - interval '1 month' + interval '14 days');
      insert into payments (id, customer_id, invoice_id, amount_cents, method, status, created_at) values
        ('pay_n1', 'cus_noor', 'in_n1', 30000, 'Visa •••• 4242', 'succeeded', now() - interval '1 month'),
        ('pay_n2', 'cus_noor', 'in_n1', 30000, 'Visa •••• 4242', 'succeeded', now() - interval '1 month' + interval '2 minutes');`);
    const asked = await postJson(`${h.url}/api/messages`, { userId: "u-noor", text: "I was charged twice for my subscription" });
    expect(asked.body.handoff).toMatchObject({ reason: "needs_approval" });
    const handoffId = asked.body.handoff.id as string;
    const conversationId = asked.body.conversationId as string;
    const { discordId } = await cards(handoffId);
    const [refund] = await h.app.refunds.list({ handoffId });
    const refundId = refund!.id;

    const reject = discord.clickButton({ channelId: discordStaff, messageId: discordId, customId: refundCustomId("reject", refundId), author: discord.users.bob });
    await discord.waitForCall((c) => c.path === `/interactions/${reject.id}/${reject.token}/callback` && (c.body as { type: number }).type === 9, "the reject modal");
    expect(discord.modalShown(reject.token)).toMatchObject({ title: "Reject the refund", inputs: [{ customId: "reason", required: true, maxLength: 500 }] });
    // A reason is required: the form cannot be sent empty.
    expect(() => discord.submitModal({ token: reject.token, values: { reason: "" } })).toThrow(/required/);
    discord.submitModal({ token: reject.token, values: { reason: "the second charge was already refunded by the bank" } });

    const edited = await discord.waitForCall(
      (c) => c.method === "PATCH" && c.path === `/channels/${discordStaff}/messages/${discordId}` && /rejected by Bob Marsh/.test(contentOf(c)),
      "the Discord card shows the rejection",
    );
    expect(componentsOf(edited).map((b) => b.custom_id)).not.toContain(refundCustomId("reject", refundId));
    const row = (await h.app.db.pool.query("select status, decided_by, decision_reason from refunds where id = $1", [refundId])).rows[0];
    expect(row).toEqual({ status: "rejected", decided_by: "Bob Marsh", decision_reason: "the second charge was already refunded by the bank" });
    expect(await events(handoffId)).toContainEqual(["refund_rejected", "Bob Marsh", `${refundId} of $300.00: the second charge was already refunded by the bank`]);
    const told = await h.app.db.pool.query("select author_id, status, text from messages where conversation_id = $1 and author_kind = 'agent'", [conversationId]);
    expect(told.rows).toEqual([
      { author_id: "Bob Marsh", status: "sent", text: `Your refund request of $300.00 was not approved: the second charge was already refunded by the bank. (Refund ${refundId})` },
    ]);

    // Approving it afterwards from Discord: already decided, told only to the clicker.
    const late = discord.clickButton({ channelId: discordStaff, messageId: discordId, customId: refundCustomId("approve", refundId), author: discord.users.bob });
    const lateTold = await discord.waitForCall((c) => c.method === "POST" && c.path === `/webhooks/${discord.applicationId}/${late.token}`, "told it is decided");
    expect(contentOf(lateTold)).toContain("rejected by Bob Marsh");
    expect((await h.app.db.pool.query("select 1 from messages where conversation_id = $1 and author_kind = 'agent'", [conversationId])).rows).toHaveLength(1);
  });

  it("Slack: a card whose post was accepted but whose answer was lost is found again at the next change, not posted twice", async () => {
    const { slackApi } = h;
    const isCard = (args: Record<string, unknown>) => args["channel"] === STAFF_CHANNEL && args["thread_ts"] === undefined && args["metadata"] !== undefined;
    slackApi.loseAnswers("chat.postMessage", isCard, 1);
    const asked = await postJson(`${h.url}/api/messages`, { userId: "web-lost-card", text: "I want to talk to a human" });
    const handoffId = asked.body.handoff.id as string;
    await h.app.handoffService.idle();
    // The post went through, its answer did not: nothing stored, the failure recorded.
    expect((await h.app.handoffs.get(handoffId))?.cards.filter((c) => c.platform === "slack")).toEqual([]);
    expect((await events(handoffId)).map(([kind]) => kind)).toContain("notify_failed");
    const cardsOf = () => slackApi.postedIn(STAFF_CHANNEL).filter((m) => m["thread_ts"] === undefined && JSON.stringify(m["metadata"] ?? "").includes(handoffId));
    expect(cardsOf()).toHaveLength(1);

    // Bob claims it on Discord: the Slack card is refreshed, which finds the card already there and updates it.
    const { discord } = h;
    await h.app.handoffService.idle();
    const discordId = (await h.app.handoffs.get(handoffId))!.cards.find((c) => c.platform === "discord")!.messageId;
    discord.clickButton({ channelId: discordStaff, messageId: discordId, customId: customId("claim", handoffId), author: discord.users.bob });
    const firstTs = cardsOf()[0]!["ts"] as string;
    await slackApi.waitForCall("chat.update", (c) => c.args["ts"] === firstTs && blocksOf(c).includes("Claimed by Bob Marsh"), "the one Slack card updated");
    await h.app.handoffService.idle();
    expect(cardsOf()).toHaveLength(1);
    expect((await h.app.handoffs.get(handoffId))?.cards.find((c) => c.platform === "slack")).toMatchObject({ channel: STAFF_CHANNEL, messageId: firstTs });
  });
});
