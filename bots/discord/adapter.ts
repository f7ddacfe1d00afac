import { Client, Events, GatewayIntentBits, Partials, type Interaction, type Message, type RESTOptions } from "discord.js";
import type { ChannelAdapter, DeliveryProgress, MessageSink } from "../../src/ports.ts";
import type { OutboundReply } from "../../src/types.ts";
import type { Logger } from "../../src/logger.ts";
import { AdapterError } from "../../src/errors.ts";
import { DiscordDelivery } from "./delivery.ts";
import { registerCommands } from "./commands.ts";
import { describeDiscordError, redactUrls } from "./errors.ts";
import { createDiscordIntake, type MentionMode } from "./intake.ts";
import { createStaffHooks, type DiscordStaffOptions } from "./staff.ts";

export { threadName, type MentionMode } from "./intake.ts";

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
  /**
   * The user of the conversation stored under a key, if any (wire it to
   * `ConversationLog.findConversationByKey`): a person goes on in their conversation made before
   * conversations were per person. Optional.
   */
  conversationOwner?: ((conversationKey: string) => Promise<string | undefined>) | undefined;
}

export interface DiscordAdapter extends ChannelAdapter {
  readonly platform: "discord";
  /** The discord.js client, for diagnostics (ping, guild count). */
  readonly client: Client;
}

/**
 * The Discord channel adapter: `/support`, mentions (answered in a thread, or a reply), messages
 * in the bot's threads, and DMs, through the real discord.js gateway client. This file is its
 * lifecycle (the client, login, start/stop, gateway resumes); what an event becomes is in
 * `intake.ts`. Replies go out over REST from stored ids only (see `DiscordDelivery`), so they
 * survive a restart.
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
  let sink: MessageSink | null = null;
  let stopping = false;
  const intake = createDiscordIntake({
    client,
    logger,
    mentionMode,
    delivery,
    staff: options.staff ? createStaffHooks(options.staff, logger) : undefined,
    sink: () => sink,
    conversationOwner: options.conversationOwner,
  });
  // discord.js's own debug line shows the first two parts of the token; show none of it.
  const redact = (text: string) =>
    redactUrls(text.split(options.token).join("[redacted]")).replace(/Provided token: \S+/, "Provided token: [redacted]");

  const listeners = {
    message: (message: Message) => {
      intake.onMessage(message).catch((err: unknown) =>
        logger.error({ ...describeDiscordError(err), platformMessageId: message.id }, "handling a Discord message failed"),
      );
    },
    interaction: (interaction: Interaction) => {
      intake.onInteraction(interaction).catch((err: unknown) =>
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

function loginFailureMessage(error: string): string {
  if (/disallowed intents/i.test(error)) {
    return "Discord refused the Message Content intent: enable it in the Developer Portal (your application → Bot → Privileged Gateway Intents → Message Content Intent).";
  }
  if (/token/i.test(error)) return "Discord rejected DISCORD_TOKEN: copy the bot token again from the Developer Portal (Bot → Reset Token).";
  return `Could not connect to Discord: ${error}`;
}
