import type { App } from "../src/app.ts";
import type { Config } from "../src/config.ts";
import type { Logger } from "../src/logger.ts";
import { createDiscordStaffNotifier } from "./discord/staff.ts";
import { createSlackStaffNotifier } from "./slack/staff.ts";

/**
 * Gives the handoff loop its staff channels: a card per handoff in SLACK_HANDOFF_CHANNEL and/or
 * DISCORD_HANDOFF_CHANNEL. Call it in every process that answers messages (handoffs open there)
 * or changes handoffs (the console and API). Clicks and thread replies come in through the Slack
 * and Discord adapters' `staff` option.
 */
export function attachStaffChannels(app: App, config: Config, logger: Logger): void {
  if (config.slackHandoffChannel && config.slackBotToken) {
    const options = { token: config.slackBotToken, channel: config.slackHandoffChannel, apiUrl: config.slackApiUrl, logger };
    app.handoffService.addNotifier(createSlackStaffNotifier(options));
  }
  if (config.discordHandoffChannel && config.discordToken) {
    const options = { token: config.discordToken, channel: config.discordHandoffChannel, apiUrl: config.discordApiUrl, logger };
    app.handoffService.addNotifier(createDiscordStaffNotifier(options));
  }
}
