import {
  ChannelType,
  Client,
  Events,
  GatewayIntentBits,
  MessageType,
  Partials,
  cleanContent,
  type ChatInputCommandInteraction,
  type Interaction,
  type Message,
  type RESTOptions,
} from "discord.js";
import type { ChannelAdapter, DeliveryProgress, MessageSink, Submission } from "../../src/ports.ts";
import type { InboundMessage, Outcome, OutboundReply } from "../../src/types.ts";
import type { Logger } from "../../src/logger.ts";
import { AdapterError, InputError } from "../../src/errors.ts";
import { formatConversationKey } from "./conversation-key.ts";
import type { DiscordReplyContext } from "./reply-context.ts";
import { DiscordDelivery } from "./delivery.ts";
import { QUESTION_OPTION, SUPPORT_COMMAND, registerCommands } from "./commands.ts";
import { describeDiscordError, redactUrls } from "./errors.ts";
import { RecentIds } from "./recent-ids.ts";
import { createStaffHooks, type DiscordStaffOptions } from "./staff.ts";

/** How a mention in a server channel is answered. */
export type MentionMode = "thread" | "reply";

export interface DiscordAdapterOptions {
  /** The bot token (DISCORD_TOKEN). Never logged. */
  token: string;
  /** The application id (DISCORD_APPLICATION_ID). When set, `/support` is registered on start. */
  applicationId?: string | undefined;
  /** REST base (DISCORD_API_URL) without `/v10`, e.g. `http://127.0.0.1:8080/api`. Default Discord's. */
  apiUrl?: string | undefined;
  logger: Logger;
  /**
   * `thread` (default): a mention in a channel is answered in a thread started from the message,
   * and the conversation goes on there without mentions. `reply`: answered with a reply in the
   * channel; the channel is the conversation.
   */
  mentionMode?: MentionMode | undefined;
  /** Register `/support` on start. Default: true when `applicationId` is set. */
  registerCommandsOnStart?: boolean | undefined;
  /** Register `/support` in this guild only (shows at once). Default: globally. */
  commandGuildId?: string | undefined;
  /** Extra @discordjs/rest options, e.g. `{ retries: 0, timeout: 3000 }` in tests. */
  rest?: Partial<RESTOptions> | undefined;
  /**
   * The staff channel for handoffs (DISCORD_HANDOFF_CHANNEL): card buttons and replies in card
   * threads go to `staff.actions`; nothing said there is treated as a customer message.
   */
  staff?: DiscordStaffOptions | undefined;
}

export interface DiscordAdapter extends ChannelAdapter {
  readonly platform: "discord";
  /** The discord.js client, for diagnostics (ping, guild count). */
  readonly client: Client;
}

/** Discord's limit on thread names. */
const THREAD_NAME_MAX = 100;

const REPLIES = {
  failed: "Sorry, I could not take your question just now. Please try again in a minute.",
  relayed: "Your message was passed to the support team member handling this conversation; they will answer you here.",
  ignored: "I could not find a question to answer there.",
  crashed: "Sorry, something went wrong while answering. Please try again in a minute.",
} as const;

interface Intake {
  conversationKey: string;
  replyContext: DiscordReplyContext;
  /** Where to show "typing…" while the core works; none when the answer goes to a new thread. */
  typingChannelId: string | null;
  mentioned: boolean;
}

/**
 * The Discord channel adapter: `/support`, mentions (answered in a thread, or a reply), messages
 * in the bot's threads, and DMs, through the real discord.js gateway client. Replies go out over
 * REST from stored ids only (see `DiscordDelivery`), so they survive a restart.
 */
export function createDiscordAdapter(options: DiscordAdapterOptions): DiscordAdapter {
  const logger =
    options.logger.bindings()["component"] === undefined
      ? options.logger.child({ component: "discord" })
      : options.logger;
  const mentionMode = options.mentionMode ?? "thread";
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
      GatewayIntentBits.DirectMessages,
    ],
    // DM channels are not in the cache until a message arrives in them.
    partials: [Partials.Channel],
    rest: { ...options.rest, ...(options.apiUrl ? { api: options.apiUrl } : {}) },
    allowedMentions: { parse: [], repliedUser: true },
  });
  // Set now, not at login, so deliver() works before (or without) the gateway connection.
  client.rest.setToken(options.token);

  const delivery = new DiscordDelivery({
    rest: client.rest,
    logger,
    channelExists: (id) => client.channels.cache.has(id),
  });
  /** Message and interaction ids already handed to the core by this process (gateway replays). */
  const seen = new RecentIds();
  const staff = options.staff ? createStaffHooks(options.staff, logger) : undefined;
  // discord.js's own debug line shows the first two parts of the token; show none of it.
  const redact = (text: string) =>
    redactUrls(text.split(options.token).join("[redacted]")).replace(/Provided token: \S+/, "Provided token: [redacted]");
  let sink: MessageSink | null = null;
  let stopping = false;

  async function submit(
    inbound: InboundMessage,
    tellUser: (text: string) => Promise<unknown>,
  ): Promise<Extract<Submission, { status: "accepted" }> | null> {
    const log = logger.child({ platformMessageId: inbound.platformMessageId, conversationKey: inbound.conversationKey });
    if (!sink) return null;
    let submission: Submission;
    try {
      submission = await sink.submit(inbound);
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

  function isMentioned(message: Message, botId: string): boolean {
    if (message.mentions.users.has(botId)) return true;
    // Typing "@Bot" often picks the bot's managed role instead of the bot user.
    return message.mentions.roles.some((role) => role.tags?.botId === botId);
  }

  function questionText(message: Message, botId: string): string {
    const botRoles = message.mentions.roles.filter((role) => role.tags?.botId === botId);
    let text = message.content.replace(new RegExp(`<@!?${botId}>`, "g"), " ");
    for (const roleId of botRoles.keys()) text = text.split(`<@&${roleId}>`).join(" ");
    return cleanContent(text, message.channel).replace(/[ \t]{2,}/g, " ").trim();
  }

  function classify(message: Message, botId: string, text: string): Intake | null {
    const channel = message.channel;
    if (channel.type === ChannelType.DM) {
      return {
        conversationKey: formatConversationKey({ kind: "dm", channelId: channel.id }),
        replyContext: { kind: "channel", channelId: channel.id },
        typingChannelId: channel.id,
        mentioned: false,
      };
    }
    const guildId = message.guildId;
    if (!guildId) return null;
    const mentioned = isMentioned(message, botId);
    // Threads the bot started are its conversations: no mention needed there. Stateless: the
    // thread's owner is the bot, known from THREAD_CREATE or GUILD_CREATE after a restart.
    if (channel.isThread() && channel.ownerId === botId) {
      return {
        conversationKey: formatConversationKey({ kind: "guild", guildId, channelId: channel.id }),
        replyContext: { kind: "channel", channelId: channel.id },
        typingChannelId: channel.id,
        mentioned,
      };
    }
    if (!mentioned) return null;
    const canThread = channel.type === ChannelType.GuildText || channel.type === ChannelType.GuildAnnouncement;
    if (mentionMode === "thread" && canThread) {
      // The thread will have the message's id, so the key is known before the thread exists.
      return {
        conversationKey: formatConversationKey({ kind: "guild", guildId, channelId: message.id }),
        replyContext: {
          kind: "thread",
          parentChannelId: channel.id,
          messageId: message.id,
          threadName: threadName(text, message.author.username),
        },
        typingChannelId: null,
        mentioned,
      };
    }
    return {
      conversationKey: formatConversationKey({ kind: "guild", guildId, channelId: channel.id }),
      replyContext: { kind: "message", channelId: channel.id, messageId: message.id },
      typingChannelId: channel.id,
      mentioned,
    };
  }

  async function onMessage(message: Message): Promise<void> {
    const me = client.user;
    if (!me || message.author.bot || message.author.id === me.id || message.webhookId) return;
    if (message.type !== MessageType.Default && message.type !== MessageType.Reply) return;
    if (staff && (await staff.onMessage(message))) return;
    const text = questionText(message, me.id);
    const intake = classify(message, me.id, text);
    if (!intake) return;
    if (text === "") {
      if (intake.mentioned && seen.add(message.id)) {
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
    if (intake.typingChannelId) delivery.showTyping(intake.typingChannelId);
    const submission = await submit(
      {
        platform: "discord",
        conversationKey: intake.conversationKey,
        userId: message.author.id,
        userName: message.member?.displayName ?? message.author.displayName,
        text,
        platformMessageId: message.id,
        replyContext: intake.replyContext,
        receivedAt: message.createdAt,
      },
      (reply) => message.reply({ content: reply, allowedMentions: { parse: [], repliedUser: true } }),
    );
    if (!submission) return;
    watch(submission.done);
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
    const submission = await submit(
      {
        platform: "discord",
        conversationKey: formatConversationKey(
          guildId ? { kind: "guild", guildId, channelId } : { kind: "dm", channelId },
        ),
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
    watch(submission.done, async (outcome) => {
      if (outcome?.kind === "reply") return;
      const note = outcome === null ? REPLIES.crashed : outcome.kind === "relayed" ? REPLIES.relayed : REPLIES.ignored;
      await delivery.settleInteraction(replyContext, note);
    });
  }

  function onInteraction(interaction: Interaction): Promise<void> {
    if (staff && interaction.isButton()) return staff.onInteraction(interaction).then(() => undefined);
    if (!interaction.isChatInputCommand() || interaction.commandName !== SUPPORT_COMMAND) {
      return Promise.resolve();
    }
    return onSupportCommand(interaction);
  }

  const listeners = {
    message: (message: Message) => {
      onMessage(message).catch((err: unknown) =>
        logger.error({ ...describeDiscordError(err), platformMessageId: message.id }, "handling a Discord message failed"),
      );
    },
    interaction: (interaction: Interaction) => {
      onInteraction(interaction).catch((err: unknown) =>
        logger.error({ ...describeDiscordError(err), platformMessageId: interaction.id }, "handling an interaction failed"),
      );
    },
    debug: (message: string) => {
      if (logger.isLevelEnabled("trace")) logger.trace(redact(message));
    },
    warn: (message: string) => logger.warn(redact(message)),
    error: (err: Error) => logger.error({ ...describeDiscordError(err) }, "discord.js client error"),
    shardError: (err: Error, shardId: number) =>
      logger.warn({ ...describeDiscordError(err), shardId }, "gateway connection error"),
    shardReconnecting: (shardId: number) => {
      if (!stopping) logger.info({ shardId }, "reconnecting to the Discord gateway");
    },
    shardResume: (shardId: number, replayedEvents: number) =>
      logger.info({ shardId, replayedEvents }, "Discord gateway session resumed"),
    shardDisconnect: (event: { code: number }, shardId: number) =>
      logger.error({ shardId, code: event.code }, "disconnected from the Discord gateway for good"),
  };

  return {
    platform: "discord",
    client,

    async start(target: MessageSink): Promise<void> {
      if (sink) throw new AdapterError("discord", "The Discord adapter is already started");
      sink = target;
      client.on(Events.MessageCreate, listeners.message);
      client.on(Events.InteractionCreate, listeners.interaction);
      client.on(Events.Debug, listeners.debug);
      client.on(Events.Warn, listeners.warn);
      client.on(Events.Error, listeners.error);
      client.on(Events.ShardError, listeners.shardError);
      client.on(Events.ShardReconnecting, listeners.shardReconnecting);
      client.on(Events.ShardResume, listeners.shardResume);
      client.on(Events.ShardDisconnect, listeners.shardDisconnect);

      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      try {
        await client.login(options.token);
      } catch (err) {
        const summary = describeDiscordError(err);
        await client.destroy().catch(() => undefined);
        sink = null;
        throw new AdapterError("discord", loginFailureMessage(summary.error), { cause: summary });
      }
      await ready;
      logger.info(
        { botUserId: client.user?.id, guilds: client.guilds.cache.size, mentionMode },
        "connected to Discord",
      );

      const register = options.registerCommandsOnStart ?? options.applicationId !== undefined;
      if (register && options.applicationId) {
        try {
          const result = await registerCommands({
            token: options.token,
            applicationId: options.applicationId,
            guildId: options.commandGuildId,
            apiUrl: options.apiUrl,
            rest: options.rest,
          });
          logger.info({ scope: result.scope, commands: result.commands.map((c) => c.name) }, "Discord commands registered");
        } catch (err) {
          // The bot still answers mentions and DMs; say what is wrong and keep going.
          logger.error({ err: describeDiscordError(err) }, err instanceof Error ? err.message : "command registration failed");
        }
      }
    },

    async stop(): Promise<void> {
      stopping = true;
      client.off(Events.MessageCreate, listeners.message);
      client.off(Events.InteractionCreate, listeners.interaction);
      sink = null;
      await client.destroy();
    },

    deliver(reply: OutboundReply, progress?: DeliveryProgress): Promise<void> {
      return delivery.deliver(reply, progress);
    },
  };
}

/** A thread name from the question: its first line, cut to Discord's 100 characters. */
export function threadName(question: string, username: string): string {
  const firstLine = question.split("\n")[0]?.trim() ?? "";
  const name = firstLine === "" ? `Support for ${username}` : firstLine;
  return name.length <= THREAD_NAME_MAX ? name : `${name.slice(0, THREAD_NAME_MAX - 1).trimEnd()}…`;
}

function loginFailureMessage(error: string): string {
  if (/disallowed intents/i.test(error)) {
    return "Discord refused the Message Content intent: enable it in the Developer Portal (your application → Bot → Privileged Gateway Intents → Message Content Intent).";
  }
  if (/token/i.test(error)) return "Discord rejected DISCORD_TOKEN: copy the bot token again from the Developer Portal (Bot → Reset Token).";
  return `Could not connect to Discord: ${error}`;
}
