import { webApi, type App, type BlockAction, type ButtonAction, type types, type ViewSubmitAction } from "@slack/bolt";
import { z } from "zod";
import { AdapterError, errorMessage } from "../../src/errors.ts";
import type { StaffCardRef } from "../../src/handoffs/handoff-store.ts";
import type { HandoffCard, RefundDecisionKind, StaffAction, StaffActions, StaffActor, StaffNotifier, ThreadNote } from "../../src/handoffs/staff-notifier.ts";
import type { Logger } from "../../src/logger.ts";
import { escapeMrkdwn } from "./mrkdwn.ts";
import { SLACK_LIMITS, truncateMrkdwn } from "./render.ts";
import { HANDOFF_REASON_LABELS } from "../../src/handoffs/reasons.ts";
import type { AfterAck } from "./after-ack.ts";
import { SlackStaffAccess, type StaffCheck } from "./staff-access.ts";
import { findPostedParts, partMetadata, POST_RETRY } from "./posted-parts.ts";

/**
 * The Slack staff channel (SLACK_HANDOFF_CHANNEL): one Block Kit card per handoff with Claim /
 * Resolve / Back to bot buttons, updated in place with `chat.update`; the user's messages and
 * replies sent from elsewhere go in the card's thread; a staff member's reply in that thread goes
 * to the user, on whichever platform they are.
 */

/** `action_id`s of the card's buttons; the button's `value` is the handoff id. */
export const STAFF_ACTION_IDS: Record<StaffAction, string> = {
  claim: "handoff_claim",
  resolve: "handoff_resolve",
  back_to_bot: "handoff_back_to_bot",
};
const ACTION_BY_ID = new Map(Object.entries(STAFF_ACTION_IDS).map(([k, v]) => [v, k as StaffAction]));

/** `action_id`s of a card's refund buttons (while its refund awaits approval); the `value` is the refund id. */
export const REFUND_ACTION_IDS: Record<RefundDecisionKind, string> = {
  approve: "refund_approve",
  reject: "refund_reject",
};
const DECISION_BY_ID = new Map(Object.entries(REFUND_ACTION_IDS).map(([k, v]) => [v, k as RefundDecisionKind]));

/**
 * The modals (`views.open`): Resolve asks for a note (block `note`, input `note_input`), Reject
 * for the reason the user is told (block `reason`, input `reason_input`). `private_metadata`
 * carries the handoff or refund id and the staff channel, JSON.
 */
export const MODAL_CALLBACK_IDS = { resolveNote: "handoff_resolve_note", rejectReason: "refund_reject_reason" } as const;
export const MODAL_INPUTS = {
  note: { block: "note", action: "note_input" },
  reason: { block: "reason", action: "reason_input" },
} as const;
const ModalMetadata = z.object({ id: z.string().min(1).max(100), channel: z.string().min(1).max(40) });

export interface SlackStaffOptions {
  /** The staff channel's id (SLACK_HANDOFF_CHANNEL). Its threads are staff talk, never a customer conversation. */
  channel: string;
  /** What clicks and thread replies do (the handoff service). */
  actions: StaffActions;
  /**
   * SLACK_STAFF_USERGROUP: only its members' clicks and thread replies act (checked with
   * `usergroups.users.list`, scope `usergroups:read`, cached for `memberCacheMs`). Unset: anyone
   * in the staff channel.
   */
  usergroup?: string | undefined;
  /** How long the user group's member list is trusted. Default 60 s. */
  memberCacheMs?: number | undefined;
}

export interface SlackStaffNotifierOptions {
  token: string;
  channel: string;
  /** SLACK_API_URL. Default Slack's. */
  apiUrl?: string | undefined;
  logger: Logger;
  retryConfig?: webApi.RetryOptions;
}

export function createSlackStaffNotifier(options: SlackStaffNotifierOptions): StaffNotifier {
  return new SlackStaffNotifier(options);
}

/** The outbox key a handoff's card is posted under (message metadata, posted-parts.ts): a card is found again by it. */
export function cardKey(handoffId: string): string {
  return `handoff-card:${handoffId}`;
}

class SlackStaffNotifier implements StaffNotifier {
  readonly platform = "slack" as const;
  readonly #client: webApi.WebClient;
  /** Posts the cards, without the Web API's blind retries (posted-parts.ts): a retry that looks takes their place. */
  readonly #poster: webApi.WebClient;
  readonly #channel: string;
  readonly #log: Logger;

  constructor(o: SlackStaffNotifierOptions) {
    this.#client = new webApi.WebClient(o.token, {
      retryConfig: o.retryConfig ?? { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 2000 },
      ...(o.apiUrl ? { slackApiUrl: o.apiUrl } : {}),
    });
    this.#poster = new webApi.WebClient(o.token, { retryConfig: POST_RETRY, ...(o.apiUrl ? { slackApiUrl: o.apiUrl } : {}) });
    this.#channel = o.channel;
    this.#log = o.logger.child({ component: "slack-staff", channel: o.channel });
  }

  /**
   * Posts the card once. `chat.postMessage` has no idempotency key, so a post whose answer was lost
   * (then stored nowhere, and posted again at the handoff's next change) would show the card twice:
   * the card carries its handoff in message metadata, and a card not stored yet is first looked for
   * in the channel's recent history (one `conversations.history` call per new handoff; cards are few).
   */
  async announce(card: HandoffCard): Promise<StaffCardRef> {
    const message = renderCard(card);
    const key = cardKey(card.handoff.id);
    const earlier = (await findPostedParts(this.#client, { channel: this.#channel, threadTs: undefined }, key, this.#log)).get(0);
    if (earlier) {
      const ref: StaffCardRef = { platform: "slack", channel: this.#channel, messageId: earlier };
      await this.update(ref, card);
      this.#log.info({ handoffId: card.handoff.id, ts: earlier }, "handoff card found from an earlier attempt; not posted again");
      return ref;
    }
    const posted = await call("chat.postMessage", () =>
      this.#poster.chat.postMessage({ channel: this.#channel, ...message, metadata: partMetadata(key, 0), unfurl_links: false, unfurl_media: false }),
    );
    if (!posted.ts) throw new AdapterError("slack", "chat.postMessage returned no ts for the handoff card");
    this.#log.info({ handoffId: card.handoff.id, ts: posted.ts }, "handoff card posted");
    return { platform: "slack", channel: posted.channel ?? this.#channel, messageId: posted.ts };
  }

  async update(ref: StaffCardRef, card: HandoffCard): Promise<void> {
    await call("chat.update", () => this.#client.chat.update({ channel: ref.channel, ts: ref.messageId, ...renderCard(card) }));
  }

  async post(ref: StaffCardRef, note: ThreadNote): Promise<void> {
    const text = truncateMrkdwn(renderNote(note), SLACK_LIMITS.sectionText);
    await call("chat.postMessage", () =>
      this.#client.chat.postMessage({
        channel: ref.channel,
        thread_ts: ref.messageId,
        text,
        // Overdue handoffs show in the channel too, not only in the thread.
        reply_broadcast: note.kind === "sla",
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
  }

  async notice(text: string): Promise<void> {
    const body = truncateMrkdwn(escapeMrkdwn(text), SLACK_LIMITS.sectionText);
    await call("chat.postMessage", () => this.#client.chat.postMessage({ channel: this.#channel, text: body, unfurl_links: false, unfurl_media: false }));
  }
}

async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = (err as { data?: { error?: unknown } }).data?.error;
    throw new AdapterError("slack", `${method} failed (${typeof code === "string" ? code : errorMessage(err)})`, { cause: err });
  }
}

/** The card: who (the linked customer), where, why, the request, routes, last messages, state, and the buttons. */
export function renderCard(card: HandoffCard): { text: string; blocks: types.KnownBlock[] } {
  const h = card.handoff;
  const reason = HANDOFF_REASON_LABELS[h.reason] ?? h.reason;
  const account = card.conversation.platform === "slack" ? `<@${escapeMrkdwn(card.conversation.userId)}>` : `${card.conversation.platform} user ${escapeMrkdwn(card.conversation.userId)}`;
  const who = card.customerName ? `${escapeMrkdwn(card.customerName)} (${account})` : account;
  const state =
    h.status === "open"
      ? `:hourglass: *Open* — waiting ${card.waitingMinutes} min${card.overdue ? " · :rotating_light: past the SLA" : ""}`
      : h.status === "claimed"
        ? `:raising_hand: *Claimed by ${escapeMrkdwn(h.assignee ?? "someone")}*${h.claimedAt ? ` at ${hhmm(h.claimedAt)}` : ""}`
        : `:white_check_mark: *Resolved* by ${escapeMrkdwn(h.resolvedBy ?? "staff")}${h.resolvedAt ? ` at ${hhmm(h.resolvedAt)}` : ""}${h.resolutionNote ? `: ${escapeMrkdwn(h.resolutionNote)}` : ""}`;
  const routes = card.routes.map((r) => `${r.route} ${Math.round(r.confidence * 100)}%`).join(", ") || "—";
  const last = card.lastMessages
    .map((m) => `*${m.author === "user" ? "User" : m.author === "agent" ? escapeMrkdwn(m.name ?? "Agent") : m.author === "bot" ? "Bot" : "System"}:* ${escapeMrkdwn(m.text)}`)
    .join("\n");
  const limit = (s: string) => truncateMrkdwn(s, SLACK_LIMITS.sectionText);
  const blocks: types.KnownBlock[] = [
    { type: "header", text: { type: "plain_text", text: `Handoff: ${reason}`.slice(0, 150) } },
    { type: "section", text: { type: "mrkdwn", text: state } },
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: truncateMrkdwn(`*Who*\n${who}`, 2000) },
        { type: "mrkdwn", text: `*Where*\n${escapeMrkdwn(card.conversation.platform)}` },
        { type: "mrkdwn", text: truncateMrkdwn(`*Why*\n${escapeMrkdwn(card.why)}`, 2000) },
        { type: "mrkdwn", text: `*Routes*\n${escapeMrkdwn(routes)}` },
      ],
    },
    { type: "section", text: { type: "mrkdwn", text: limit(`*Request*\n>${escapeMrkdwn(card.request || "(no text)")}`) } },
  ];
  const refund = card.refund;
  if (refund) {
    const what = `*Refund ${escapeMrkdwn(refund.id)} of ${escapeMrkdwn(refund.amount)}*`;
    const line =
      refund.status === "awaiting_approval"
        ? `:moneybag: ${what} awaits approval`
        : refund.status === "rejected"
          ? `:x: ${what} rejected by ${escapeMrkdwn(refund.decidedBy ?? "staff")}${refund.decisionReason ? `: ${escapeMrkdwn(refund.decisionReason)}` : ""}`
          : `:money_with_wings: ${what} ${escapeMrkdwn(refund.status.replace("_", " "))}${refund.decidedBy ? ` by ${escapeMrkdwn(refund.decidedBy)}` : ""}`;
    blocks.push({ type: "section", text: { type: "mrkdwn", text: limit(line) } });
  }
  if (last) blocks.push({ type: "section", text: { type: "mrkdwn", text: limit(`*Last messages*\n${last}`) } });
  if (h.status !== "resolved") {
    const button = (action: StaffAction, label: string, style?: "primary" | "danger"): types.Button => ({
      type: "button",
      action_id: STAFF_ACTION_IDS[action],
      text: { type: "plain_text", text: label },
      value: h.id,
      ...(style ? { style } : {}),
    });
    blocks.push({
      type: "actions",
      block_id: "handoff_actions",
      elements: [...(h.status === "open" ? [button("claim", "Claim", "primary")] : []), button("resolve", "Resolve"), button("back_to_bot", "Back to bot")],
    });
  }
  if (refund?.status === "awaiting_approval") {
    blocks.push({
      type: "actions",
      block_id: "refund_actions",
      elements: [
        {
          type: "button",
          action_id: REFUND_ACTION_IDS.approve,
          text: { type: "plain_text", text: `Approve ${refund.amount} refund` },
          value: refund.id,
          style: "primary",
          // Slack asks the clicker to confirm before it sends the click: money moves on it.
          confirm: {
            title: { type: "plain_text", text: "Approve the refund?" },
            text: { type: "plain_text", text: `Refund ${refund.id} of ${refund.amount} is approved and the user is told.` },
            confirm: { type: "plain_text", text: "Approve" },
            deny: { type: "plain_text", text: "Cancel" },
          },
        },
        { type: "button", action_id: REFUND_ACTION_IDS.reject, text: { type: "plain_text", text: "Reject refund" }, value: refund.id, style: "danger" },
      ],
    });
  }
  const footer = [`Reply in this thread to answer the user.`, card.consoleUrl ? `<${card.consoleUrl}|Open in the console>` : "", `Handoff ${h.id}`]
    .filter(Boolean)
    .join(" · ");
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: footer }] });
  const text = `Handoff (${reason}) — ${card.customerName ? `${card.customerName}, ` : ""}${h.status === "open" ? "open" : h.status === "claimed" ? `claimed by ${h.assignee ?? "someone"}` : "resolved"}`;
  return { text: escapeMrkdwn(text), blocks };
}

/** The modal Resolve opens: an optional note, kept on the handoff's resolve event. */
export function resolveModal(handoffId: string, channel: string): types.ModalView {
  return oneInputModal({
    callbackId: MODAL_CALLBACK_IDS.resolveNote,
    metadata: { id: handoffId, channel },
    title: "Resolve the handoff",
    submit: "Resolve",
    input: { ...MODAL_INPUTS.note, label: "Resolution note", hint: "What was done, for the team and the bot's memory. Not sent to the user.", optional: true, maxLength: 2000 },
  });
}

/** The modal Reject opens: the reason, which the user is told. */
export function rejectModal(refundId: string, channel: string): types.ModalView {
  return oneInputModal({
    callbackId: MODAL_CALLBACK_IDS.rejectReason,
    metadata: { id: refundId, channel },
    title: "Reject the refund",
    submit: "Reject",
    input: { ...MODAL_INPUTS.reason, label: "Reason", hint: "The user is told this reason.", optional: false, maxLength: 500 },
  });
}

/** A modal of one multi-line text input; `metadata` comes back with the submission. */
function oneInputModal(m: {
  callbackId: string;
  metadata: { id: string; channel: string };
  title: string;
  submit: string;
  input: { block: string; action: string; label: string; hint: string; optional: boolean; maxLength: number };
}): types.ModalView {
  const { input } = m;
  return {
    type: "modal",
    callback_id: m.callbackId,
    private_metadata: JSON.stringify(m.metadata),
    title: { type: "plain_text", text: m.title },
    submit: { type: "plain_text", text: m.submit },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [
      {
        type: "input",
        block_id: input.block,
        ...(input.optional ? { optional: true } : {}),
        label: { type: "plain_text", text: input.label },
        hint: { type: "plain_text", text: input.hint },
        element: { type: "plain_text_input", action_id: input.action, multiline: true, ...(input.optional ? {} : { min_length: 1 }), max_length: input.maxLength },
      },
    ],
  };
}

function renderNote(note: ThreadNote): string {
  switch (note.kind) {
    case "user_message":
      return `*User:* ${escapeMrkdwn(note.text)}`;
    case "agent_reply":
      return `*${escapeMrkdwn(note.agent)}* (via ${escapeMrkdwn(note.via)}): ${escapeMrkdwn(note.text)}`;
    case "status":
      return `_${escapeMrkdwn(note.text)}_`;
    case "sla":
      return `:alarm_clock: ${escapeMrkdwn(note.text)}`;
    case "error":
      return `:warning: ${escapeMrkdwn(note.text)}`;
  }
}

function hhmm(d: Date): string {
  return `${d.toISOString().slice(11, 16)} UTC`;
}

const StaffMessage = z.object({
  type: z.literal("message"),
  subtype: z.string().optional(),
  channel: z.string(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().optional(),
  ts: z.string(),
  thread_ts: z.string().optional(),
  parent_user_id: z.string().optional(),
});

/**
 * Registers the staff side on the Slack adapter's Bolt app: card button clicks, and a global
 * middleware that takes every event from the staff channel away from the customer listeners (a
 * reply in a card's thread is a staff reply, not a new conversation with the bot).
 *
 * Both only read the request before Slack gets its ack; the name lookup (`users.info`) and the
 * action itself run after it (`afterAck`), so a slow delivery of a staff reply to the user's
 * platform never holds Slack's request past its 3 s (Slack would send the event again). A
 * redelivered reply is sent once all the same: the outbox keys it by the Slack message.
 */
export function registerStaffHandlers(app: App, options: SlackStaffOptions, logger: Logger, afterAck: AfterAck): void {
  const log = logger.child({ component: "slack-staff", channel: options.channel });
  const names = new Map<string, string>();
  const access = new SlackStaffAccess({ channel: options.channel, usergroup: options.usergroup, memberCacheMs: options.memberCacheMs });
  const refused = (check: Exclude<StaffCheck, { ok: true }>, what: Record<string, unknown>) =>
    log.warn({ ...what, reason: check.reason, ...(check.error ? { err: check.error } : {}) }, "staff action refused: not from staff");

  /** A readable name for a Slack user (display name, real name), the same for clicks and replies. */
  const agentName = async (client: webApi.WebClient, userId: string, hint: string | undefined): Promise<string> => {
    const known = names.get(userId);
    if (known) return known;
    let name = hint;
    try {
      const info = await client.users.info({ user: userId });
      const u = info.user;
      name = u?.profile?.display_name || u?.real_name || u?.name || hint;
    } catch (err) {
      log.debug({ err: errorMessage(err), userId }, "users.info failed; using the name Slack sent");
    }
    const result = (name || userId).slice(0, 80);
    if (names.size > 1000) names.clear();
    names.set(userId, result);
    return result;
  };

  app.use(async ({ body, client, context, next }) => {
    const event = (body as { event?: { channel?: unknown; type?: unknown } }).event;
    if (!event || event.channel !== options.channel) {
      await next();
      return;
    }
    // Everything said in the staff channel stays with the staff: no listener answers it.
    const parsed = StaffMessage.safeParse(event);
    if (!parsed.success) return;
    const m = parsed.data;
    if (m.subtype !== undefined && m.subtype !== "thread_broadcast") return;
    if (m.bot_id !== undefined || !m.user || !m.thread_ts || m.thread_ts === m.ts || !m.text?.trim()) return;
    const [user, threadTs, text] = [m.user, m.thread_ts, m.text];
    afterAck(context, async () => {
      const check = await access.check(client, "reply", m.channel, user);
      if (!check.ok) {
        refused(check, { kind: "thread_reply", user, threadTs });
        // Told only under the bot's own posts (cards, notices): other threads are staff talk, never sent anyway.
        if (m.parent_user_id === undefined || m.parent_user_id !== context.botUserId) return;
        await client.chat
          .postEphemeral({ channel: m.channel, user, thread_ts: threadTs, text: check.message })
          .catch((err: unknown) => log.warn({ err: errorMessage(err) }, "could not tell the sender why the reply was not sent"));
        return;
      }
      try {
        const actor: StaffActor = { platform: "slack", userId: user, name: await agentName(client, user, undefined) };
        const result = await options.actions.threadReply({ actor, channel: m.channel, threadId: threadTs, text, platformMessageId: `${m.channel}:${m.ts}` });
        log.debug({ result: result.kind, threadTs }, "staff thread message");
        if (result.kind === "refused") {
          await client.chat
            .postEphemeral({ channel: m.channel, user, thread_ts: threadTs, text: result.message })
            .catch((err: unknown) => log.warn({ err: errorMessage(err) }, "could not tell the sender why the reply was not sent"));
        }
      } catch (err) {
        log.error({ err: errorMessage(err) }, "staff thread reply failed");
      }
    });
  });

  /** Tells one person something in the staff channel, visible only to them. */
  const whisper = (client: webApi.WebClient, channel: string, user: string, text: string, why: string) =>
    client.chat.postEphemeral({ channel, user, text }).then(
      () => undefined,
      (err: unknown) => log.warn({ err: errorMessage(err) }, why),
    );

  /** Opens a modal on the click's trigger (valid for 3 s, once), or tells the clicker why not. */
  const openModal = async (client: webApi.WebClient, triggerId: string, view: types.ModalView, channel: string, user: string) => {
    try {
      await client.views.open({ trigger_id: triggerId, view });
    } catch (err) {
      log.warn({ err: errorMessage(err), callbackId: view.callback_id }, "could not open the modal");
      await whisper(client, channel, user, "Could not open the form just now (Slack allows a few seconds after a click). Nothing was changed; please click again.", "could not tell the clicker");
    }
  };

  app.action<BlockAction<ButtonAction>>({ type: "block_actions", action_id: /^(handoff|refund)_/ }, async ({ ack, action, body, client, context, respond }) => {
    await ack();
    const kind = ACTION_BY_ID.get(action.action_id);
    const decision = DECISION_BY_ID.get(action.action_id);
    if ((!kind && !decision) || !action.value) return;
    const id = action.value;
    const user = body.user.id;
    const from = body.channel?.id ?? body.container?.channel_id;
    const tell = (text: string, why: string) =>
      respond({ response_type: "ephemeral", replace_original: false, text }).catch((err: unknown) => log.warn({ err: errorMessage(err) }, why));
    afterAck(context, async () => {
      // Signed by Slack says nothing of who clicked or where: a button can be shown (and clicked) anywhere.
      const check = await access.check(client, "button", from, user);
      if (!check.ok) {
        refused(check, { kind: "button", action: kind ?? decision, id, user, from });
        await tell(check.message, "could not tell the clicker why the action was refused");
        return;
      }
      const hint = body.user.name ?? body.user.username;
      const actor = async (): Promise<StaffActor> => ({ platform: "slack", userId: user, name: await agentName(client, user, hint) });
      // Resolve and Reject ask for words first; who may act is asked before the modal opens, not after typing.
      if (kind === "resolve" || decision === "reject") {
        const allowed = await options.actions.check({ platform: "slack", userId: user, name: hint ?? user });
        if (!allowed.ok) {
          await tell(allowed.message, "could not tell the clicker why the action was refused");
          return;
        }
        await openModal(client, body.trigger_id, kind === "resolve" ? resolveModal(id, options.channel) : rejectModal(id, options.channel), options.channel, user);
        return;
      }
      const result = kind ? await options.actions.act({ actor: await actor(), action: kind, handoffId: id }) : await options.actions.decideRefund({ actor: await actor(), refundId: id, decision: "approve" });
      log.info({ action: kind ?? decision, id, ok: result.ok }, "staff card action");
      if (!result.ok) await tell(result.message, "could not tell the staff member why the action failed");
    });
  });

  const onSubmit = (callbackId: string, work: (actor: StaffActor, id: string, values: ViewSubmitAction["view"]["state"]["values"]) => Promise<{ ok: true } | { ok: false; message: string }>) =>
    app.view<ViewSubmitAction>(callbackId, async ({ ack, body, view, client, context }) => {
      // Closes the modal at once; the card shows the outcome, a failure is told to the sender only.
      await ack();
      const meta = ModalMetadata.safeParse(safeJson(view.private_metadata));
      if (!meta.success) return;
      const { id, channel } = meta.data;
      const user = body.user.id;
      afterAck(context, async () => {
        // Our modal, from our card: the channel is the one we put in its metadata; the user group still decides.
        const check = await access.check(client, "button", channel, user);
        if (!check.ok) {
          refused(check, { kind: "modal", callbackId, id, user });
          await whisper(client, options.channel, user, check.message, "could not tell the sender why the action was refused");
          return;
        }
        const actor: StaffActor = { platform: "slack", userId: user, name: await agentName(client, user, body.user.name) };
        const result = await work(actor, id, view.state.values);
        log.info({ callbackId, id, ok: result.ok }, "staff modal submitted");
        if (!result.ok) await whisper(client, options.channel, user, result.message, "could not tell the staff member why the action failed");
      });
    });

  const valueOf = (values: ViewSubmitAction["view"]["state"]["values"], input: { block: string; action: string }) => values[input.block]?.[input.action]?.value ?? "";
  onSubmit(MODAL_CALLBACK_IDS.resolveNote, (actor, handoffId, values) => options.actions.act({ actor, action: "resolve", handoffId, note: valueOf(values, MODAL_INPUTS.note) }));
  onSubmit(MODAL_CALLBACK_IDS.rejectReason, (actor, refundId, values) =>
    options.actions.decideRefund({ actor, refundId, decision: "reject", reason: valueOf(values, MODAL_INPUTS.reason) }),
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
