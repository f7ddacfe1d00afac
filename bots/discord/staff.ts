import {
  AllowedMentionsTypes,
  ButtonStyle,
  ComponentType,
  MessageFlags,
  REST,
  Routes,
  ThreadAutoArchiveDuration,
  escapeMarkdown,
  type ButtonInteraction,
  type Interaction,
  type Message,
  type RESTOptions,
  type RESTPostAPIChannelMessageJSONBody,
  type RESTPostAPIChannelMessageResult,
} from "discord.js";
import { AdapterError } from "../../src/errors.ts";
import type { StaffCardRef } from "../../src/handoffs/handoff-store.ts";
import type { HandoffCard, StaffAction, StaffActions, StaffNotifier, ThreadNote } from "../../src/handoffs/staff-notifier.ts";
import type { Logger } from "../../src/logger.ts";
import { describeDiscordError } from "./errors.ts";
import { HANDOFF_REASON_LABELS } from "../../src/handoffs/reasons.ts";

/**
 * The Discord staff channel (DISCORD_HANDOFF_CHANNEL): one message per handoff with Claim /
 * Resolve / Back to bot buttons, edited in place, and a thread started from it where the user's
 * messages are relayed and staff reply to the user (on whichever platform the user is).
 */

/** Button custom ids: `handoff:<action>:<handoff id>`. */
export const STAFF_CUSTOM_ID_PREFIX = "handoff:";
const ACTIONS: readonly StaffAction[] = ["claim", "resolve", "back_to_bot"];
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

/** The card as message content plus a row of buttons (none once resolved). */
export function renderCard(card: HandoffCard): RESTPostAPIChannelMessageJSONBody {
  const h = card.handoff;
  const reason = HANDOFF_REASON_LABELS[h.reason] ?? h.reason;
  const esc = (s: string) => escapeMarkdown(s);
  const who = card.conversation.platform === "discord" ? `<@${card.conversation.userId}>` : `${card.conversation.platform} user ${esc(card.conversation.userId)}`;
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
  const lines = [
    `## Handoff: ${esc(reason)}`,
    state,
    `**Who** ${who} · **Where** ${esc(card.conversation.platform)} · **Routes** ${esc(routes)}`,
    `**Why** ${esc(h.detail || reason)}`,
    `**Summary** ${esc(card.summary || "(no text)")}`,
    last ? `**Last messages**\n${last}` : "",
    `-# Reply in this message's thread to answer the user. Handoff ${h.id}`,
  ];
  const buttons =
    h.status === "resolved"
      ? []
      : [
          ...(h.status === "open" ? [{ type: ComponentType.Button as const, style: ButtonStyle.Primary as const, label: "Claim", custom_id: customId("claim", h.id) }] : []),
          { type: ComponentType.Button as const, style: ButtonStyle.Success as const, label: "Resolve", custom_id: customId("resolve", h.id) },
          { type: ComponentType.Button as const, style: ButtonStyle.Secondary as const, label: "Back to bot", custom_id: customId("back_to_bot", h.id) },
        ];
  return {
    content: clip(lines.filter(Boolean).join("\n")),
    allowed_mentions: { parse: [] },
    components: buttons.length ? [{ type: ComponentType.ActionRow, components: buttons }] : [],
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

  return {
    async onMessage(message) {
      if (!inStaffChannel(message)) return false;
      if (!message.channel.isThread() || !message.content.trim()) return true;
      const reason = refusal(message.member);
      if (reason) {
        log.warn({ kind: "thread_reply", reason, user: message.author.id, threadId: message.channel.id }, "staff action refused: not from staff");
        // Told only in the bot's own threads (the cards'): other threads are staff talk, never sent anyway.
        if (message.channel.ownerId !== message.client.user.id) return true;
        await message
          .reply({ content: NOTES.reply, allowedMentions: { parse: [], repliedUser: false } })
          .catch((err: unknown) => log.warn({ ...describeDiscordError(err) }, "could not tell the sender why the reply was not sent"));
        return true;
      }
      const agent = message.member?.displayName ?? message.author.displayName;
      try {
        await options.actions.threadReply({
          platform: "discord",
          channel: options.channel,
          threadId: message.channel.id,
          agent,
          text: message.content,
          platformMessageId: message.id,
        });
      } catch (err) {
        log.error({ ...describeDiscordError(err) }, "staff thread reply failed");
      }
      return true;
    },

    async onInteraction(interaction) {
      if (!interaction.isButton() || !interaction.customId.startsWith(STAFF_CUSTOM_ID_PREFIX)) return false;
      await onButton(interaction);
      return true;
    },
  };

  async function onButton(interaction: ButtonInteraction): Promise<void> {
    const [, action, handoffId] = interaction.customId.split(":");
    if (!action || !handoffId || !ACTIONS.includes(action as StaffAction)) return;
    // A button works only on the card, in the staff channel, and (with a role set) for staff: anyone
    // can click a button wherever one is shown, and a custom id is easily copied onto another message.
    const reason = interaction.channelId !== options.channel ? "not_staff_channel" : refusal(interaction.member);
    if (reason) {
      log.warn({ kind: "button", reason, action, handoffId, user: interaction.user.id, from: interaction.channelId }, "staff action refused: not from staff");
      const content = reason === "not_staff_channel" ? NOTES.notStaffChannel : NOTES.notStaffRole;
      await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }).catch((err: unknown) =>
        log.warn({ ...describeDiscordError(err) }, "could not tell the clicker why the action was refused"),
      );
      return;
    }
    // Acknowledge at once (Discord allows 3 s); the card is edited when the handoff changes.
    await interaction.deferUpdate();
    const agent = interaction.member && "displayName" in interaction.member ? interaction.member.displayName : interaction.user.displayName;
    const result = await options.actions.act({ platform: "discord", action: action as StaffAction, handoffId, agent });
    log.info({ action, handoffId, ok: result.ok }, "staff card action");
    if (!result.ok) {
      await interaction.followUp({ content: result.message, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }).catch((err: unknown) =>
        log.warn({ ...describeDiscordError(err) }, "could not tell the staff member why the action failed"),
      );
    }
  }
}

/** What a refused sender is told (a button: only them; a thread reply: the staff thread). */
const NOTES = {
  notStaffChannel: "Handoff buttons work only in the support team's staff channel. Nothing was changed.",
  notStaffRole: "Only members with the support team's staff role can act on handoffs. Nothing was changed.",
  reply: "Only members with the support team's staff role can answer users from here. This message was not sent to the user.",
} as const;

type StaffMember = ButtonInteraction["member"] | Message["member"];

/** Whether a member (a cached `GuildMember`, or the raw member of an uncached guild) has the role. */
function hasRole(member: StaffMember, roleId: string): boolean {
  if (!member) return false;
  const roles = member.roles;
  return Array.isArray(roles) ? roles.includes(roleId) : roles.cache.has(roleId);
}
