import type { ChannelAdapter, MessageSink } from "../../src/ports.ts";
import { createDiscordAdapter, type DiscordAdapter } from "../discord/index.ts";
import { createSlackAdapter, isSlackConfigured, type SlackAdapter } from "../slack/index.ts";
import type { Config } from "../../src/config.ts";
import type { ConversationLog } from "../../src/conversations/conversation-log.ts";
import type { Database } from "../../src/db/database.ts";
import { SessionLock } from "../../src/db/session-lock.ts";
import { errorMessage } from "../../src/errors.ts";
import type { StaffActions } from "../../src/handoffs/staff-notifier.ts";
import type { Logger } from "../../src/logger.ts";
import type { PlatformClientOptions } from "../staff-channels.ts";

/** What the adapters need of the core (an `App` is one): thread replies after a restart, staff-channel actions. */
export interface AdapterCore {
  log: Pick<ConversationLog, "findConversationByKey">;
  /** Staff-channel clicks, modals and thread replies, as the agent the platform user is linked to. */
  staffDesk: StaffActions;
}

/** The configured platforms' adapters, each also by name for the platform-specific parts (Slack's HTTP route). */
export interface PlatformAdapters {
  adapters: ChannelAdapter[];
  slack: SlackAdapter | undefined;
  discord: DiscordAdapter | undefined;
}

/**
 * The adapters of the configured platforms. `receive` (a gateway): they take events — Slack's
 * HTTP route (`slack.httpPlugin`) and Socket Mode, the Discord gateway — and staff-channel clicks.
 * `send` (a worker): they only `deliver` over the Web/REST APIs and are never started.
 * `clients` tunes the platform clients (tests: no retries); by default each adapter's own policy.
 */
export function createPlatformAdapters(
  core: AdapterCore,
  config: Config,
  logger: Logger,
  mode: "receive" | "send",
  clients: PlatformClientOptions = {},
): PlatformAdapters {
  const receive = mode === "receive";
  let slack: SlackAdapter | undefined;
  let discord: DiscordAdapter | undefined;
  if (isSlackConfigured(config)) {
    slack = createSlackAdapter({
      config,
      logger: logger.child({ component: "slack" }),
      ...(clients.slackRetry ? { retryConfig: clients.slackRetry } : {}),
      ...(receive
        ? {
            // Listeners only store the message (the answer comes later through deliver), so
            // waiting for them before answering Slack costs ~1 ms and means nothing acknowledged is unstored.
            processBeforeResponse: true,
            isKnownConversation: async (key: string) => (await core.log.findConversationByKey("slack", key)) !== undefined,
            conversationOwner: async (key: string) => (await core.log.findConversationByKey("slack", key))?.userId,
            ...(config.slackHandoffChannel
              ? { staff: { channel: config.slackHandoffChannel, actions: core.staffDesk, usergroup: config.slackStaffUsergroup } }
              : {}),
          }
        : {}),
    });
  }
  if (config.discordToken) {
    discord = createDiscordAdapter({
      token: config.discordToken,
      applicationId: config.discordApplicationId,
      apiUrl: config.discordApiUrl,
      logger: logger.child({ component: "discord" }),
      rest: clients.discordRest,
      ...(receive
        ? {
            conversationOwner: async (key: string) => (await core.log.findConversationByKey("discord", key))?.userId,
            ...(config.discordHandoffChannel
              ? { staff: { channel: config.discordHandoffChannel, actions: core.staffDesk, role: config.discordStaffRole } }
              : {}),
          }
        : { registerCommandsOnStart: false }),
    });
  }
  const adapters: ChannelAdapter[] = [slack, discord].filter((a): a is SlackAdapter | DiscordAdapter => a !== undefined);
  return { adapters, slack, discord };
}

/** The running adapters of a gateway; `stop` closes them and gives up their locks. */
export interface PlatformConnections {
  stop(): Promise<void>;
}

/**
 * Starts a gateway's adapters. A connection the platform allows only once per bot (the Discord
 * gateway, Slack Socket Mode) is opened only while this process holds its Postgres advisory lock:
 * a second gateway serves HTTP at once and waits for the lock, taking over when the holder's
 * database session ends (it stopped or died). Slack over HTTP needs no lock: any number of
 * gateways can take its events behind a load balancer.
 */
export async function startAdapters(
  app: { db: Database; intake: MessageSink },
  adapters: ChannelAdapter[],
  logger: Logger,
  retryMs?: number,
): Promise<PlatformConnections> {
  const log = logger.child({ component: "gateway" });
  const locks: SessionLock[] = [];
  const running = new Set<ChannelAdapter>();
  let stopping = false;

  const hold = async (adapter: ChannelAdapter, lock: SessionLock): Promise<void> => {
    const got = await lock.acquire(() => {
      // The lock went with its connection: another gateway may connect now, so this one must not stay connected.
      running.delete(adapter);
      void adapter.stop().catch(() => {});
      if (!stopping) void hold(adapter, lock).catch((err: unknown) => log.error({ platform: adapter.platform, err: errorMessage(err) }, "could not take the connection back"));
    });
    if (!got || stopping) return;
    await adapter.start(app.intake);
    running.add(adapter);
    log.info({ platform: adapter.platform }, "holding the platform connection");
  };

  for (const adapter of adapters) {
    if (!needsOneConnection(adapter)) {
      await adapter.start(app.intake);
      running.add(adapter);
      continue;
    }
    const lock = new SessionLock({ db: app.db, name: `gateway:${adapter.platform}`, logger: log, ...(retryMs ? { retryMs } : {}) });
    locks.push(lock);
    if (await lock.tryAcquire()) {
      await adapter.start(app.intake);
      running.add(adapter);
      continue;
    }
    log.info({ platform: adapter.platform }, `another gateway holds the ${adapter.platform} connection; this one waits to take over`);
    void hold(adapter, lock).catch((err: unknown) => log.error({ platform: adapter.platform, err: errorMessage(err) }, "could not take over the connection"));
  }

  return {
    async stop() {
      stopping = true;
      for (const adapter of running) await adapter.stop().catch(() => {});
      running.clear();
      for (const lock of locks) await lock.release();
    },
  };
}

/** Discord's gateway and Slack's Socket Mode allow one connection; Slack over HTTP does not care. */
function needsOneConnection(adapter: ChannelAdapter): boolean {
  if (adapter.platform === "discord") return true;
  const transports = (adapter as { transports?: readonly string[] }).transports;
  return adapter.platform === "slack" && (transports?.includes("socket") ?? false);
}
