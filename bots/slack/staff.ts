import { webApi, type App, type BlockAction, type ButtonAction, type types } from "@slack/bolt";
import { z } from "zod";
import { AdapterError, errorMessage } from "../../src/errors.ts";
import type { StaffCardRef } from "../../src/handoffs/handoff-store.ts";
import type { HandoffCard, StaffAction, StaffActions, StaffNotifier, ThreadNote } from "../../src/handoffs/staff-notifier.ts";
import type { Logger } from "../../src/logger.ts";
import { escapeMrkdwn } from "./mrkdwn.ts";
import { SLACK_LIMITS, truncateMrkdwn } from "./render.ts";
import { HANDOFF_REASON_LABELS } from "../../src/handoffs/reasons.ts";
import type { AfterAck } from "./after-ack.ts";
import { SlackStaffAccess, type StaffCheck } from "./staff-access.ts";

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

class SlackStaffNotifier implements StaffNotifier {
  readonly platform = "slack" as const;
  readonly #client: webApi.WebClient;
  readonly #channel: string;
  readonly #log: Logger;

  constructor(o: SlackStaffNotifierOptions) {
    this.#client = new webApi.WebClient(o.token, {
      retryConfig: o.retryConfig ?? { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 2000 },
      ...(o.apiUrl ? { slackApiUrl: o.apiUrl } : {}),
    });
    this.#channel = o.channel;
    this.#log = o.logger.child({ component: "slack-staff", channel: o.channel });
  }

  async announce(card: HandoffCard): Promise<StaffCardRef> {
    const message = renderCard(card);
    const posted = await call("chat.postMessage", () =>
      this.#client.chat.postMessage({ channel: this.#channel, ...message, unfurl_links: false, unfurl_media: false }),
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

/** The card: who, where, why, summary, routes, last messages, state, and the buttons. */
export function renderCard(card: HandoffCard): { text: string; blocks: types.KnownBlock[] } {
  const h = card.handoff;
  const reason = HANDOFF_REASON_LABELS[h.reason] ?? h.reason;
  const who = card.conversation.platform === "slack" ? `<@${escapeMrkdwn(card.conversation.userId)}>` : `${card.conversation.platform} user ${escapeMrkdwn(card.conversation.userId)}`;
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
        { type: "mrkdwn", text: `*Who*\n${who}` },
        { type: "mrkdwn", text: `*Where*\n${escapeMrkdwn(card.conversation.platform)}` },
        { type: "mrkdwn", text: limit(`*Why*\n${escapeMrkdwn(h.detail || reason)}`).slice(0, 2000) },
        { type: "mrkdwn", text: `*Routes*\n${escapeMrkdwn(routes)}` },
      ],
    },
    { type: "section", text: { type: "mrkdwn", text: limit(`*Summary*\n>${escapeMrkdwn(card.summary || "(no text)").replace(/\n/g, "\n>")}`) } },
  ];
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
  const footer = [`Reply in this thread to answer the user.`, card.consoleUrl ? `<${card.consoleUrl}|Open in the console>` : "", `Handoff ${h.id}`]
    .filter(Boolean)
    .join(" · ");
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: footer }] });
  const text = `Handoff (${reason}) — ${h.status === "open" ? "open" : h.status === "claimed" ? `claimed by ${h.assignee ?? "someone"}` : "resolved"}`;
  return { text: escapeMrkdwn(text), blocks };
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
        const agent = await agentName(client, user, undefined);
        const handled = await options.actions.threadReply({
          platform: "slack",
          channel: m.channel,
          threadId: threadTs,
          agent,
          text,
          platformMessageId: `${m.channel}:${m.ts}`,
        });
        log.debug({ handled, threadTs }, "staff thread message");
      } catch (err) {
        log.error({ err: errorMessage(err) }, "staff thread reply failed");
      }
    });
  });

  app.action<BlockAction<ButtonAction>>({ type: "block_actions", action_id: /^handoff_/ }, async ({ ack, action, body, client, context, respond }) => {
    await ack();
    const kind = ACTION_BY_ID.get(action.action_id);
    if (!kind || !action.value) return;
    const handoffId = action.value;
    afterAck(context, async () => {
      // Signed by Slack says nothing of who clicked or where: a button can be shown (and clicked) anywhere.
      const check = await access.check(client, "button", body.channel?.id ?? body.container?.channel_id, body.user.id);
      if (!check.ok) {
        refused(check, { kind: "button", action: kind, handoffId, user: body.user.id, from: body.channel?.id ?? body.container?.channel_id });
        await respond({ response_type: "ephemeral", replace_original: false, text: check.message }).catch((err: unknown) =>
          log.warn({ err: errorMessage(err) }, "could not tell the clicker why the action was refused"),
        );
        return;
      }
      const agent = await agentName(client, body.user.id, body.user.name ?? body.user.username);
      const result = await options.actions.act({ platform: "slack", action: kind, handoffId, agent });
      log.info({ action: kind, handoffId, ok: result.ok }, "staff card action");
      if (!result.ok) {
        await respond({ response_type: "ephemeral", replace_original: false, text: result.message }).catch((err: unknown) =>
          log.warn({ err: errorMessage(err) }, "could not tell the staff member why the action failed"),
        );
      }
    });
  });
}
