import {
  ChannelType,
  MessageType,
  cleanContent,
  type ChatInputCommandInteraction,
  type Client,
  type Interaction,
  type Message,
} from "discord.js";
import type { MessageSink, SubmitOptions, Submission } from "../../src/ports.ts";
import type { InboundMessage, Outcome } from "../../src/types.ts";
import type { Logger } from "../../src/logger.ts";
import { InputError } from "../../src/errors.ts";
import { formatConversationKey, legacyKeyOf } from "./conversation-key.ts";
import type { DiscordReplyContext } from "./reply-context.ts";
import type { DiscordDelivery } from "./delivery.ts";
import { QUESTION_OPTION, SUPPORT_COMMAND } from "./commands.ts";
import { describeDiscordError } from "./errors.ts";
import { RecentIds } from "./recent-ids.ts";
import type { DiscordStaffHooks } from "./staff.ts";

/**
 * The Discord side of the way in: gateway messages and `/support` interactions become
 * `InboundMessage`s submitted to the core. Knows nothing of the client's lifecycle (see
 * `adapter.ts`): it is handed each event and asks `sink()` whom to submit to.
 */

/** How a mention in a server channel is answered. */
export type MentionMode = "thread" | "reply";

export interface DiscordIntakeOptions {
  /** The gateway client, for the bot's own user (mentions, ignoring its own messages). */
  client: Client;
  logger: Logger;
  mentionMode: MentionMode;
  /** Typing indicators, and the deferred `/support` response settled when there is no answer. */
  delivery: DiscordDelivery;
  /** The staff channel's hooks, asked first; none without a staff channel. */
  staff: DiscordStaffHooks | undefined;
  /** The core while the adapter is started; `null` otherwise (nothing is submitted). */
  sink: () => MessageSink | null;
  /**
   * The user of the conversation stored under a key, if any (wire it to
   * `ConversationLog.findConversationByKey`). Lets a person go on in a conversation made before
   * conversations were per person (`discord:GUILD:CHANNEL`). Without it those are not continued.
   */
  conversationOwner?: ((conversationKey: string) => Promise<string | undefined>) | undefined;
}

export interface DiscordIntake {
  onMessage(message: Message): Promise<void>;
  onInteraction(interaction: Interaction): Promise<void>;
}

/** Discord's limit on thread names. */
const THREAD_NAME_MAX = 100;

const REPLIES = {
  failed: "Sorry, I could not take your question just now. Please try again in a minute.",
  relayed: "Your message was passed to the support team member handling this conversation; they will answer you here.",
  ignored: "I could not find a question to answer there.",
  crashed: "Sorry, something went wrong while answering. Please try again in a minute.",
} as const;

/** Where a gateway message belongs and how it will be answered. */
interface Placement {
  conversationKey: string;
  replyContext: DiscordReplyContext;
  /** Where to show "typing…" while the core works; none when the answer goes to a new thread. */
  typingChannelId: string | null;
  mentioned: boolean;
  /** A new thread from this very message: no conversation can be stored under its place yet. */
  newPlace: boolean;
}

/** Old keys looked up, remembered at most (each answer never changes: no conversation is made under an old key any more). */
const LEGACY_OWNERS_MAX = 10_000;

export function createDiscordIntake(options: DiscordIntakeOptions): DiscordIntake {
  const { client, logger, mentionMode, delivery, staff } = options;
  /** Message and interaction ids already handed to the core by this process (gateway replays). */
  const seen = new RecentIds();
  /** Old key → the user of the conversation stored under it (`null`: none). */
  const legacyOwners = new Map<string, string | null>();

  /**
   * The person's conversation key: their own key, or the old per-place key when the conversation
   * stored there is theirs (made before conversations were per person), so it goes on. Someone
   * else's old conversation is never joined.
   */
  async function conversationKeyFor(key: string, userId: string): Promise<string> {
    const legacy = legacyKeyOf(key);
    const lookup = options.conversationOwner;
    if (legacy === null || !lookup) return key;
    let owner = legacyOwners.get(legacy);
    if (owner === undefined) {
      try {
        owner = (await lookup(legacy)) ?? null;
      } catch (err) {
        logger.warn({ ...describeDiscordError(err), conversationKey: legacy }, "could not look up an older conversation; starting a new one");
        return key;
      }
      if (legacyOwners.size >= LEGACY_OWNERS_MAX) legacyOwners.clear();
      legacyOwners.set(legacy, owner);
    }
    return owner === userId ? legacy : key;
  }

  async function submit(
    inbound: InboundMessage,
    tellUser: (text: string) => Promise<unknown>,
    submitOptions: SubmitOptions = {},
  ): Promise<Extract<Submission, { status: "accepted" }> | null> {
    const log = logger.child({ platformMessageId: inbound.platformMessageId, conversationKey: inbound.conversationKey });
    const sink = options.sink();
    if (!sink) return null;
    let submission: Submission;
    try {
      submission = await sink.submit(inbound, submitOptions);
    } catch (err) {
      // Not stored. The user is asked to send it again (a gateway replay is not to be counted on:
      // discord.js drops replays of messages it has cached).
      const userFacing = err instanceof InputError;
      log.error({ err: userFacing ? { code: err.code } : describeDiscordError(err) }, "could not submit a Discord message");
      await tellUser(userFacing ? err.message : REPLIES.failed).catch((e: unknown) =>
        log.warn({ ...describeDiscordError(e) }, "could not tell the user about the failure"),
      );
      return null;
    }
    if (submission.status === "duplicate") {
      log.debug({ messageId: submission.messageId }, "duplicate Discord message dropped by the core");
      return null;
    }
    log.info({ conversationId: submission.conversationId, messageId: submission.messageId }, "Discord message accepted");
    return submission;
  }

  function watch(done: Promise<Outcome>, onSettled?: (outcome: Outcome | null) => Promise<void>): void {
    done.then(
      async (outcome) => {
        logger.debug({ kind: outcome.kind }, "Discord message processed");
        await onSettled?.(outcome);
      },
      async (err: unknown) => {
        logger.warn({ ...describeDiscordError(err) }, "processing a Discord message failed");
        await onSettled?.(null);
      },
    ).catch((err: unknown) => logger.warn({ ...describeDiscordError(err) }, "settling a Discord message failed"));
  }

  async function onMessage(message: Message): Promise<void> {
    const me = client.user;
    if (!me || message.author.bot || message.author.id === me.id || message.webhookId) return;
    if (message.type !== MessageType.Default && message.type !== MessageType.Reply) return;
    if (staff && (await staff.onMessage(message))) return;
    const text = questionText(message, me.id);
    const placement = place(message, me.id, text, mentionMode);
    if (!placement) return;
    if (text === "") {
      if (placement.mentioned && seen.add(message.id)) {
        const hint = `Ask me your question in the same message, e.g. “@${me.username} how do I reset my password?”, or use \`/support\`.`;
        await message.reply({ content: hint, allowedMentions: { parse: [] } });
      }
      return;
    }
    if (!seen.add(message.id)) {
      logger.debug({ platformMessageId: message.id }, "replayed Discord message ignored");
      return;
    }
    // Before submitting: the answer may be posted before submit() even returns, and a typing
    // indicator that reaches Discord after the answer would hang there for 10 seconds.
    if (placement.typingChannelId) delivery.showTyping(placement.typingChannelId);
    const conversationKey = placement.newPlace ? placement.conversationKey : await conversationKeyFor(placement.conversationKey, message.author.id);
    const thread = placement.replyContext.kind === "thread" ? placement.replyContext : undefined;
    const submission = await submit(
      {
        platform: "discord",
        conversationKey,
        userId: message.author.id,
        userName: message.member?.displayName ?? message.author.displayName,
        text,
        platformMessageId: message.id,
        replyContext: placement.replyContext,
        receivedAt: message.createdAt,
      },
      (reply) => message.reply({ content: reply, allowedMentions: { parse: [], repliedUser: true } }),
      // The thread is named after the question as stored: redacted, like everything else that quotes it.
      thread ? { replyContext: (stored) => ({ ...thread, threadName: threadName(stored, message.author.username) }) } : {},
    );
    if (!submission) return;
    // Only for a debug line: `done` is lazy, and waiting on it where another process answers
    // (server mode) reads the outcome back from the database. The worker logs its own failures.
    if (logger.isLevelEnabled("debug")) watch(submission.done);
  }

  async function onSupportCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    if (!seen.add(interaction.id)) {
      logger.debug({ platformMessageId: interaction.id }, "replayed /support ignored");
      return;
    }
    // Acknowledge first: Discord gives an interaction 3 seconds; the answer may take longer.
    try {
      await interaction.deferReply();
      delivery.markDeferred(interaction.id);
    } catch (err) {
      logger.warn({ ...describeDiscordError(err), interactionId: interaction.id }, "could not defer /support");
      return;
    }
    const channelId = interaction.channelId;
    const guildId = interaction.guildId;
    const replyContext: DiscordReplyContext = {
      kind: "interaction",
      applicationId: interaction.applicationId,
      interactionId: interaction.id,
      interactionToken: interaction.token,
      channelId,
      userId: interaction.user.id,
    };
    // In a server, the asker's own conversation: everyone in a channel can use /support there.
    const conversationKey = guildId
      ? await conversationKeyFor(formatConversationKey({ kind: "guild", guildId, channelId, userId: interaction.user.id }), interaction.user.id)
      : formatConversationKey({ kind: "dm", channelId });
    const submission = await submit(
      {
        platform: "discord",
        conversationKey,
        userId: interaction.user.id,
        userName: interaction.member && "displayName" in interaction.member
          ? interaction.member.displayName
          : interaction.user.displayName,
        text: interaction.options.getString(QUESTION_OPTION, true).trim(),
        platformMessageId: interaction.id,
        replyContext,
        receivedAt: interaction.createdAt,
      },
      (text) => delivery.settleInteraction(replyContext, text),
    );
    if (!submission) return;
    // The answer edits the deferred response; without one, a short note replaces "thinking…".
    watch(submission.done, async (outcome) => {
      if (outcome?.kind === "reply") return;
      const note = outcome === null ? REPLIES.crashed : outcome.kind === "relayed" ? REPLIES.relayed : REPLIES.ignored;
      await delivery.settleInteraction(replyContext, note);
    });
  }

  return {
    onMessage,
    onInteraction(interaction) {
      if (staff && (interaction.isButton() || interaction.isModalSubmit())) return staff.onInteraction(interaction).then(() => undefined);
      if (!interaction.isChatInputCommand() || interaction.commandName !== SUPPORT_COMMAND) {
        return Promise.resolve();
      }
      return onSupportCommand(interaction);
    },
  };
}

/** A thread name from the question: its first line, cut to Discord's 100 characters. */
export function threadName(question: string, username: string): string {
  const firstLine = question.split("\n")[0]?.trim() ?? "";
  const name = firstLine === "" ? `Support for ${username}` : firstLine;
  return name.length <= THREAD_NAME_MAX ? name : `${name.slice(0, THREAD_NAME_MAX - 1).trimEnd()}…`;
}

function isMentioned(message: Message, botId: string): boolean {
  if (message.mentions.users.has(botId)) return true;
  // Typing "@Bot" often picks the bot's managed role instead of the bot user.
  return message.mentions.roles.some((role) => role.tags?.botId === botId);
}

/** The message without the bot's mentions (user or managed role), other mentions as names. */
function questionText(message: Message, botId: string): string {
  const botRoles = message.mentions.roles.filter((role) => role.tags?.botId === botId);
  let text = message.content.replace(new RegExp(`<@!?${botId}>`, "g"), " ");
  for (const roleId of botRoles.keys()) text = text.split(`<@&${roleId}>`).join(" ");
  return cleanContent(text, message.channel).replace(/[ \t]{2,}/g, " ").trim();
}

/** Which conversation a message belongs to; `null` when it is not for the bot. */
function place(message: Message, botId: string, text: string, mentionMode: MentionMode): Placement | null {
  const channel = message.channel;
  if (channel.type === ChannelType.DM) {
    return {
      conversationKey: formatConversationKey({ kind: "dm", channelId: channel.id }),
      replyContext: { kind: "channel", channelId: channel.id },
      typingChannelId: channel.id,
      mentioned: false,
      newPlace: false,
    };
  }
  const guildId = message.guildId;
  if (!guildId) return null;
  const mentioned = isMentioned(message, botId);
  const userId = message.author.id;
  // Threads the bot started are its conversations: no mention needed there. Stateless: the
  // thread's owner is the bot, known from THREAD_CREATE or GUILD_CREATE after a restart. Anyone
  // can write in a thread: each writer is in their own conversation there.
  if (channel.isThread() && channel.ownerId === botId) {
    // In a thread started from someone else's message, the answer replies to the writer's message,
    // so it is clear whom it is for. (The starter is known while it is cached; else a plain post.)
    const parent = channel.parent;
    const starter = parent && "messages" in parent ? parent.messages.cache.get(channel.id)?.author.id : undefined;
    return {
      conversationKey: formatConversationKey({ kind: "guild", guildId, channelId: channel.id, userId }),
      replyContext:
        starter !== undefined && starter !== userId
          ? { kind: "message", channelId: channel.id, messageId: message.id }
          : { kind: "channel", channelId: channel.id },
      typingChannelId: channel.id,
      mentioned,
      newPlace: false,
    };
  }
  if (!mentioned) return null;
  const canThread = channel.type === ChannelType.GuildText || channel.type === ChannelType.GuildAnnouncement;
  if (mentionMode === "thread" && canThread) {
    // The thread will have the message's id, so the key is known before the thread exists.
    return {
      conversationKey: formatConversationKey({ kind: "guild", guildId, channelId: message.id, userId }),
      replyContext: {
        kind: "thread",
        parentChannelId: channel.id,
        messageId: message.id,
        threadName: threadName(text, message.author.username),
      },
      typingChannelId: null,
      mentioned,
      newPlace: true,
    };
  }
  return {
    conversationKey: formatConversationKey({ kind: "guild", guildId, channelId: channel.id, userId }),
    replyContext: { kind: "message", channelId: channel.id, messageId: message.id },
    typingChannelId: channel.id,
    mentioned,
    newPlace: false,
  };
}
