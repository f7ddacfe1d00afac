import {
  AllowedMentionsTypes,
  ButtonStyle,
  ComponentType,
  LabelBuilder,
  MessageFlags,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  REST,
  Routes,
  ThreadAutoArchiveDuration,
  escapeMarkdown,
  type ButtonInteraction,
  type Interaction,
  type Message,
  type ModalSubmitInteraction,
  type RESTOptions,
  type RESTPostAPIChannelMessageJSONBody,
  type RESTPostAPIChannelMessageResult,
} from "discord.js";
import { AdapterError } from "../../src/errors.ts";
import type { StaffCardRef } from "../../src/handoffs/handoff-store.ts";
import type { HandoffCard, RefundDecisionKind, StaffAction, StaffActions, StaffActor, StaffNotifier, ThreadNote } from "../../src/handoffs/staff-notifier.ts";
import type { Logger } from "../../src/logger.ts";
import { describeDiscordError } from "./errors.ts";
import { HANDOFF_REASON_LABELS } from "../../src/handoffs/reasons.ts";

/**
 * The Discord staff channel (DISCORD_HANDOFF_CHANNEL): one message per handoff with Claim /
 * Resolve / Back to bot buttons, edited in place, and a thread started from it where the user's
 * messages are relayed and staff reply to the user (on whichever platform the user is).
 */

/** Button custom ids: `handoff:<action>:<handoff id>`; a card's refund buttons: `refund:<approve|reject>:<refund id>`. */
export const STAFF_CUSTOM_ID_PREFIX = "handoff:";
export const REFUND_CUSTOM_ID_PREFIX = "refund:";
const ACTIONS: readonly StaffAction[] = ["claim", "resolve", "back_to_bot"];
const DECISIONS: readonly RefundDecisionKind[] = ["approve", "reject"];
/**
 * Modals: Resolve asks for a note (`handoff:resolve_note:<handoff id>`, text input `note`),
 * Reject for the reason the user is told (`refund:reject_reason:<refund id>`, text input `reason`).
 */
export const MODAL_IDS = { resolveNote: "resolve_note", rejectReason: "reject_reason" } as const;
export const MODAL_INPUTS = { note: "note", reason: "reason" } as const;
const CONTENT_MAX = 2000;

export interface DiscordStaffOptions {
  /** The staff channel's id (DISCORD_HANDOFF_CHANNEL). */
  channel: string;
  actions: StaffActions;
  /**
   * DISCORD_STAFF_ROLE: only members with this role may click the card buttons or answer users
   * from a card's thread (read from the interaction's or message's member). Unset: anyone who can
   * write in the staff channel.
   */
  role?: string | undefined;
}

export interface DiscordStaffNotifierOptions {
  token: string;
  channel: string;
  /** DISCORD_API_URL (REST base without /v10). Default Discord's. */
  apiUrl?: string | undefined;
  logger: Logger;
  rest?: Partial<RESTOptions> | undefined;
}

export function createDiscordStaffNotifier(options: DiscordStaffNotifierOptions): StaffNotifier {
  return new DiscordStaffNotifier(options);
}

class DiscordStaffNotifier implements StaffNotifier {
  readonly platform = "discord" as const;
  readonly #rest: REST;
  readonly #channel: string;
  readonly #log: Logger;

  constructor(o: DiscordStaffNotifierOptions) {
    this.#rest = new REST({ ...o.rest, ...(o.apiUrl ? { api: o.apiUrl } : {}) }).setToken(o.token);
    this.#channel = o.channel;
    this.#log = o.logger.child({ component: "discord-staff", channel: o.channel });
  }

  async announce(card: HandoffCard): Promise<StaffCardRef> {
    const posted = (await this.#call("post the handoff card", () =>
      this.#rest.post(Routes.channelMessages(this.#channel), { body: renderCard(card) }),
    )) as RESTPostAPIChannelMessageResult;
    // The staff thread hangs from the card; it has the card's id.
    await this.#call("start the card's thread", () =>
      this.#rest.post(Routes.threads(this.#channel, posted.id), {
        body: { name: threadName(card), auto_archive_duration: ThreadAutoArchiveDuration.ThreeDays },
      }),
    );
    this.#log.info({ handoffId: card.handoff.id, messageId: posted.id }, "handoff card posted");
    return { platform: "discord", channel: this.#channel, messageId: posted.id };
  }

  async update(ref: StaffCardRef, card: HandoffCard): Promise<void> {
    await this.#call("edit the handoff card", () => this.#rest.patch(Routes.channelMessage(ref.channel, ref.messageId), { body: renderCard(card) }));
  }

  async post(ref: StaffCardRef, note: ThreadNote): Promise<void> {
    const body: RESTPostAPIChannelMessageJSONBody = {
      content: clip(renderNote(note)),
      // Only the SLA reminder may notify the channel (its text is ours, not a user's).
      allowed_mentions: { parse: note.kind === "sla" ? [AllowedMentionsTypes.Everyone] : [] },
      flags: MessageFlags.SuppressEmbeds,
    };
    await this.#call("post in the card's thread", () => this.#rest.post(Routes.channelMessages(ref.messageId), { body }));
  }

  async notice(text: string): Promise<void> {
    const body: RESTPostAPIChannelMessageJSONBody = { content: clip(text), allowed_mentions: { parse: [] }, flags: MessageFlags.SuppressEmbeds };
    await this.#call("post a notice in the staff channel", () => this.#rest.post(Routes.channelMessages(this.#channel), { body }));
  }

  async #call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new AdapterError("discord", `Could not ${action}: ${describeDiscordError(err).error}`, { cause: err });
    }
  }
}

/** The card as message content plus a row of buttons (none once resolved), and Approve / Reject while its refund waits. */
export function renderCard(card: HandoffCard): RESTPostAPIChannelMessageJSONBody {
  const h = card.handoff;
  const reason = HANDOFF_REASON_LABELS[h.reason] ?? h.reason;
  const esc = (s: string) => escapeMarkdown(s);
  const account = card.conversation.platform === "discord" ? `<@${card.conversation.userId}>` : `${card.conversation.platform} user ${esc(card.conversation.userId)}`;
  const who = card.customerName ? `${esc(card.customerName)} (${account})` : account;
  const state =
    h.status === "open"
      ? `⏳ **Open**, waiting ${card.waitingMinutes} min${card.overdue ? " · 🚨 past the SLA" : ""}`
      : h.status === "claimed"
        ? `🙋 **Claimed by ${esc(h.assignee ?? "someone")}**`
        : `✅ **Resolved** by ${esc(h.resolvedBy ?? "staff")}${h.resolutionNote ? `: ${esc(h.resolutionNote)}` : ""}`;
  const routes = card.routes.map((r) => `${r.route} ${Math.round(r.confidence * 100)}%`).join(", ") || "none";
  const last = card.lastMessages
    .map((m) => `> **${m.author === "user" ? "User" : m.author === "agent" ? esc(m.name ?? "Agent") : m.author === "bot" ? "Bot" : "System"}:** ${esc(m.text)}`)
    .join("\n");
  const refund = card.refund;
  const refundLine = !refund
    ? ""
    : refund.status === "awaiting_approval"
      ? `💰 **Refund ${esc(refund.id)} of ${esc(refund.amount)}** awaits approval`
      : refund.status === "rejected"
        ? `❌ **Refund ${esc(refund.id)} of ${esc(refund.amount)}** rejected by ${esc(refund.decidedBy ?? "staff")}${refund.decisionReason ? `: ${esc(refund.decisionReason)}` : ""}`
        : `💸 **Refund ${esc(refund.id)} of ${esc(refund.amount)}** ${esc(refund.status.replace("_", " "))}${refund.decidedBy ? ` by ${esc(refund.decidedBy)}` : ""}`;
  const lines = [
    `## Handoff: ${esc(reason)}`,
    state,
    `**Who** ${who} · **Where** ${esc(card.conversation.platform)} · **Routes** ${esc(routes)}`,
    `**Why** ${esc(card.why)}`,
    `**Request** ${esc(card.request || "(no text)")}`,
    refundLine,
    last ? `**Last messages**\n${last}` : "",
    `-# Reply in this message's thread to answer the user. Handoff ${h.id}`,
  ];
  const button = (style: ButtonStyle.Primary | ButtonStyle.Success | ButtonStyle.Secondary | ButtonStyle.Danger, label: string, custom_id: string) =>
    ({ type: ComponentType.Button as const, style, label, custom_id });
  const buttons =
    h.status === "resolved"
      ? []
      : [
          ...(h.status === "open" ? [button(ButtonStyle.Primary, "Claim", customId("claim", h.id))] : []),
          button(ButtonStyle.Success, "Resolve", customId("resolve", h.id)),
          button(ButtonStyle.Secondary, "Back to bot", customId("back_to_bot", h.id)),
        ];
  const refundButtons =
    refund?.status === "awaiting_approval"
      ? [button(ButtonStyle.Success, `Approve ${refund.amount} refund`, refundCustomId("approve", refund.id)), button(ButtonStyle.Danger, "Reject refund", refundCustomId("reject", refund.id))]
      : [];
  return {
    content: clip(lines.filter(Boolean).join("\n")),
    allowed_mentions: { parse: [] },
    components: [buttons, refundButtons].filter((row) => row.length > 0).map((row) => ({ type: ComponentType.ActionRow, components: row })),
  };
}

function renderNote(note: ThreadNote): string {
  switch (note.kind) {
    case "user_message":
      return `**User:** ${escapeMarkdown(note.text)}`;
    case "agent_reply":
      return `**${escapeMarkdown(note.agent)}** (via ${escapeMarkdown(note.via)}): ${escapeMarkdown(note.text)}`;
    case "status":
      return `*${escapeMarkdown(note.text)}*`;
    case "sla":
      return `⏰ @here ${escapeMarkdown(note.text)}`;
    case "error":
      return `⚠️ ${escapeMarkdown(note.text)}`;
  }
}

function threadName(card: HandoffCard): string {
  const name = `Handoff: ${HANDOFF_REASON_LABELS[card.handoff.reason] ?? card.handoff.reason} (${card.conversation.platform})`;
  return name.slice(0, 100);
}

export function customId(action: StaffAction, handoffId: string): string {
  return `${STAFF_CUSTOM_ID_PREFIX}${action}:${handoffId}`;
}

export function refundCustomId(decision: RefundDecisionKind, refundId: string): string {
  return `${REFUND_CUSTOM_ID_PREFIX}${decision}:${refundId}`;
}

/** The modal Resolve opens: an optional note, kept on the handoff's resolve event. */
export function resolveModal(handoffId: string): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(`${STAFF_CUSTOM_ID_PREFIX}${MODAL_IDS.resolveNote}:${handoffId}`)
    .setTitle("Resolve the handoff")
    .addLabelComponents(
      new LabelBuilder()
        .setLabel("Resolution note")
        .setDescription("What was done, for the team and the bot's memory. Not sent to the user.")
        .setTextInputComponent(new TextInputBuilder().setCustomId(MODAL_INPUTS.note).setStyle(TextInputStyle.Paragraph).setRequired(false).setMaxLength(2000)),
    );
}

/** The modal Reject opens: the reason, which the user is told. */
export function rejectModal(refundId: string): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(`${REFUND_CUSTOM_ID_PREFIX}${MODAL_IDS.rejectReason}:${refundId}`)
    .setTitle("Reject the refund")
    .addLabelComponents(
      new LabelBuilder()
        .setLabel("Reason")
        .setDescription("The user is told this reason.")
        .setTextInputComponent(new TextInputBuilder().setCustomId(MODAL_INPUTS.reason).setStyle(TextInputStyle.Paragraph).setRequired(true).setMinLength(1).setMaxLength(500)),
    );
}

function clip(text: string): string {
  return text.length <= CONTENT_MAX ? text : `${text.slice(0, CONTENT_MAX - 1)}…`;
}

/**
 * What the Discord adapter asks before its own handling: a card button, or a message in the staff
 * channel (a reply in a card's thread goes to the user; anything else there is staff talk, never
 * a customer conversation). Each returns true when it took the event.
 */
export interface DiscordStaffHooks {
  onMessage(message: Message): Promise<boolean>;
  onInteraction(interaction: Interaction): Promise<boolean>;
}

export function createStaffHooks(options: DiscordStaffOptions, logger: Logger): DiscordStaffHooks {
  const log = logger.child({ component: "discord-staff", channel: options.channel });
  const inStaffChannel = (message: Message) =>
    message.channelId === options.channel || (message.channel.isThread() && message.channel.parentId === options.channel);

  /** Why this member may not act; `null` when they may. Without a role set, the staff channel is enough. */
  const refusal = (member: StaffMember): string | null =>
    options.role === undefined || hasRole(member, options.role) ? null : "not_staff_role";

  const actorOf = (interaction: ButtonInteraction | ModalSubmitInteraction): StaffActor => ({
    platform: "discord",
    userId: interaction.user.id,
    name: interaction.member && "displayName" in interaction.member ? interaction.member.displayName : interaction.user.displayName,
  });

  const tell = (interaction: ButtonInteraction | ModalSubmitInteraction, content: string, why: string) => {
    const send = interaction.deferred || interaction.replied ? interaction.followUp.bind(interaction) : interaction.reply.bind(interaction);
    return send({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }).then(
      () => undefined,
      (err: unknown) => log.warn({ ...describeDiscordError(err) }, why),
    );
  };

  /**
   * A button or modal counts only from the staff channel and (with a role set) from staff: anyone
   * can click a button wherever one is shown, and a custom id is easily copied onto another message.
   */
  const gate = async (interaction: ButtonInteraction | ModalSubmitInteraction, what: Record<string, unknown>): Promise<boolean> => {
    const reason = interaction.channelId !== options.channel ? "not_staff_channel" : refusal(interaction.member);
    if (!reason) return true;
    log.warn({ ...what, reason, user: interaction.user.id, from: interaction.channelId }, "staff action refused: not from staff");
    await tell(interaction, reason === "not_staff_channel" ? NOTES.notStaffChannel : NOTES.notStaffRole, "could not tell the clicker why the action was refused");
    return false;
  };

  return {
    async onMessage(message) {
      if (!inStaffChannel(message)) return false;
      if (!message.channel.isThread() || !message.content.trim()) return true;
      const reason = refusal(message.member);
      // Told only in the bot's own threads (the cards'): other threads are staff talk, never sent anyway.
      const tellSender = async (content: string) => {
        if (message.channel.isThread() && message.channel.ownerId !== message.client.user.id) return;
        await message
          .reply({ content, allowedMentions: { parse: [], repliedUser: false } })
          .catch((err: unknown) => log.warn({ ...describeDiscordError(err) }, "could not tell the sender why the reply was not sent"));
      };
      if (reason) {
        log.warn({ kind: "thread_reply", reason, user: message.author.id, threadId: message.channel.id }, "staff action refused: not from staff");
        await tellSender(NOTES.reply);
        return true;
      }
      try {
        const result = await options.actions.threadReply({
          actor: { platform: "discord", userId: message.author.id, name: message.member?.displayName ?? message.author.displayName },
          channel: options.channel,
          threadId: message.channel.id,
          text: message.content,
          platformMessageId: message.id,
        });
        if (result.kind === "refused") await tellSender(result.message);
      } catch (err) {
        log.error({ ...describeDiscordError(err) }, "staff thread reply failed");
      }
      return true;
    },

    async onInteraction(interaction) {
      if (interaction.isButton()) {
        if (interaction.customId.startsWith(STAFF_CUSTOM_ID_PREFIX)) await onHandoffButton(interaction);
        else if (interaction.customId.startsWith(REFUND_CUSTOM_ID_PREFIX)) await onRefundButton(interaction);
        else return false;
        return true;
      }
      if (interaction.isModalSubmit()) {
        if (!interaction.customId.startsWith(STAFF_CUSTOM_ID_PREFIX) && !interaction.customId.startsWith(REFUND_CUSTOM_ID_PREFIX)) return false;
        await onModal(interaction);
        return true;
      }
      return false;
    },
  };

  async function onHandoffButton(interaction: ButtonInteraction): Promise<void> {
    const [, action, handoffId] = interaction.customId.split(":");
    if (!action || !handoffId || !ACTIONS.includes(action as StaffAction)) return;
    if (!(await gate(interaction, { kind: "button", action, handoffId }))) return;
    const actor = actorOf(interaction);
    if (action === "resolve") {
      // The modal must be the interaction's first answer (within Discord's 3 s), so who may act is asked first.
      const allowed = await options.actions.check(actor);
      if (!allowed.ok) return tell(interaction, allowed.message, "could not tell the clicker why the action was refused");
      await interaction.showModal(resolveModal(handoffId)).catch((err: unknown) => log.warn({ ...describeDiscordError(err), handoffId }, "could not open the resolve modal"));
      return;
    }
    // Acknowledge at once (Discord allows 3 s); the card is edited when the handoff changes.
    await interaction.deferUpdate();
    const result = await options.actions.act({ actor, action: action as StaffAction, handoffId });
    log.info({ action, handoffId, ok: result.ok }, "staff card action");
    if (!result.ok) await tell(interaction, result.message, "could not tell the staff member why the action failed");
  }

  async function onRefundButton(interaction: ButtonInteraction): Promise<void> {
    const [, decision, refundId] = interaction.customId.split(":");
    if (!decision || !refundId || !DECISIONS.includes(decision as RefundDecisionKind)) return;
    if (!(await gate(interaction, { kind: "refund_button", decision, refundId }))) return;
    const actor = actorOf(interaction);
    if (decision === "reject") {
      const allowed = await options.actions.check(actor);
      if (!allowed.ok) return tell(interaction, allowed.message, "could not tell the clicker why the action was refused");
      await interaction.showModal(rejectModal(refundId)).catch((err: unknown) => log.warn({ ...describeDiscordError(err), refundId }, "could not open the reject modal"));
      return;
    }
    await interaction.deferUpdate();
    const result = await options.actions.decideRefund({ actor, refundId, decision: "approve" });
    log.info({ decision, refundId, ok: result.ok }, "refund decision from the staff card");
    if (!result.ok) await tell(interaction, result.message, "could not tell the staff member why the decision failed");
  }

  async function onModal(interaction: ModalSubmitInteraction): Promise<void> {
    const [prefix, modal, id] = interaction.customId.split(":");
    if (!id) return;
    if (!(await gate(interaction, { kind: "modal", modal, id }))) return;
    const actor = actorOf(interaction);
    const value = (input: string) => (interaction.fields.fields.has(input) ? interaction.fields.getTextInputValue(input) : "");
    let result;
    if (`${prefix}:` === STAFF_CUSTOM_ID_PREFIX && modal === MODAL_IDS.resolveNote) {
      await acknowledge(interaction);
      result = await options.actions.act({ actor, action: "resolve", handoffId: id, note: value(MODAL_INPUTS.note) });
    } else if (`${prefix}:` === REFUND_CUSTOM_ID_PREFIX && modal === MODAL_IDS.rejectReason) {
      await acknowledge(interaction);
      result = await options.actions.decideRefund({ actor, refundId: id, decision: "reject", reason: value(MODAL_INPUTS.reason) });
    } else {
      return;
    }
    log.info({ modal, id, ok: result.ok }, "staff modal submitted");
    if (!result.ok) await tell(interaction, result.message, "could not tell the staff member why the action failed");
  }
}

/** A modal submitted from a card updates that card (the edit comes when the handoff changes); from elsewhere, a quiet ephemeral ack. */
async function acknowledge(interaction: ModalSubmitInteraction): Promise<void> {
  if (interaction.isFromMessage()) await interaction.deferUpdate();
  else await interaction.deferReply({ flags: MessageFlags.Ephemeral });
}

/** What a refused sender is told (a button: only them; a thread reply: the staff thread). */
const NOTES = {
  notStaffChannel: "Handoff buttons work only in the support team's staff channel. Nothing was changed.",
  notStaffRole: "Only members with the support team's staff role can act on handoffs. Nothing was changed.",
  reply: "Only members with the support team's staff role can answer users from here. This message was not sent to the user.",
} as const;

type StaffMember = ButtonInteraction["member"] | ModalSubmitInteraction["member"] | Message["member"];

/** Whether a member (a cached `GuildMember`, or the raw member of an uncached guild) has the role. */
function hasRole(member: StaffMember, roleId: string): boolean {
  if (!member) return false;
  const roles = member.roles;
  return Array.isArray(roles) ? roles.includes(roleId) : roles.cache.has(roleId);
}
