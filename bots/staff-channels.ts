import type { Config } from "../src/config.ts";
import type { StaffNotifier } from "../src/handoffs/staff-notifier.ts";
import type { Logger } from "../src/logger.ts";
import { createDiscordStaffNotifier, type DiscordStaffNotifierOptions } from "./discord/staff.ts";
import { createSlackStaffNotifier, type SlackStaffNotifierOptions } from "./slack/staff.ts";

/**
 * How the platform clients retry and time out, for every Slack and Discord client a process
 * builds (adapters and staff notifiers alike). Unset: each client's own default. Tests pass
 * `{ slackRetry: { retries: 0 }, discordRest: { retries: 0, timeout: 3000 } }` so a failure shows at once.
 */
export interface PlatformClientOptions {
  /** Slack Web API retry policy. Default: the adapter's (3 retries over about 4 s). */
  slackRetry?: NonNullable<SlackStaffNotifierOptions["retryConfig"]> | undefined;
  /** Extra @discordjs/rest options. Default: @discordjs/rest's (3 retries, 15 s timeout). */
  discordRest?: DiscordStaffNotifierOptions["rest"];
}

/** Where staff channels are registered (the handoff service). */
export interface StaffChannelHost {
  handoffService: { addNotifier(notifier: StaffNotifier): void };
}

/**
 * Gives the handoff loop its staff channels: a card per handoff in SLACK_HANDOFF_CHANNEL and/or
 * DISCORD_HANDOFF_CHANNEL. Call it in every process that answers messages (handoffs open there)
 * or changes handoffs (the console and API). Clicks and thread replies come in through the Slack
 * and Discord adapters' `staff` option.
 */
export function attachStaffChannels(host: StaffChannelHost, config: Config, logger: Logger, clients: PlatformClientOptions = {}): void {
  if (config.slackHandoffChannel && config.slackBotToken) {
    host.handoffService.addNotifier(
      createSlackStaffNotifier({
        token: config.slackBotToken,
        channel: config.slackHandoffChannel,
        apiUrl: config.slackApiUrl,
        logger,
        ...(clients.slackRetry ? { retryConfig: clients.slackRetry } : {}),
      }),
    );
  }
  if (config.discordHandoffChannel && config.discordToken) {
    host.handoffService.addNotifier(
      createDiscordStaffNotifier({
        token: config.discordToken,
        channel: config.discordHandoffChannel,
        apiUrl: config.discordApiUrl,
        logger,
        rest: clients.discordRest,
      }),
    );
  }
}
