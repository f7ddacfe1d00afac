import type { FastifyInstance } from "fastify";
import { startService } from "../../bots/cli/serve.ts";
import type { DiscordAdapter } from "../../bots/discord/index.ts";
import type { SlackAdapter } from "../../bots/slack/index.ts";
import type { PlatformClientOptions } from "../../bots/staff-channels.ts";
import type { App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import { tempDataDir } from "../helpers/databases.ts";
import { startDiscordStandIn, type DiscordStandIn } from "../stand-ins/discord.ts";
import { SlackApiStandIn } from "../stand-ins/slack-api.ts";
import { eventCallback, postSigned, type SlackEventFields } from "../stand-ins/slack-requests.ts";

export const SIGNING_SECRET = "0f6c1c5a2b8e4d7f9a3b5c7d9e1f2a4b";
export const BOT_TOKEN = "xoxb-1111111111-2222222222-handoffTestsOnly";
export const STAFF_CHANNEL = "C0STAFF";
/** Slack staff members: id → display name (what `users.info` answers). */
export const STAFF = { dana: { id: "U0DANA", name: "Dana" }, eve: { id: "U0EVE", name: "Eve" } } as const;

export interface PlatformHarness {
  app: App;
  http: FastifyInstance;
  url: string;
  slackApi: SlackApiStandIn;
  discord: DiscordStandIn;
  slack: SlackAdapter;
  discordAdapter: DiscordAdapter;
  /** POSTs a signed Slack request to the app's /slack/events. */
  slackEvent(fields: SlackEventFields): Promise<Response>;
  /** A staff member clicks a card button (a signed `block_actions` interaction). */
  click(staff: { id: string; name: string }, actionId: string, handoffId: string, cardTs: string, channel?: string): Promise<Response>;
  /** A staff member submits a modal the bot opened (a signed `view_submission`); `values`: input block id → text. */
  submitView(staff: { id: string; name: string }, viewId: string, values: Record<string, string>): Promise<Response>;
  /** The Discord staff channel, when the harness was started with `{ discordStaff: true }`. */
  discordStaffChannel: string | undefined;
  close(): Promise<void>;
}

/** No retries: a failing call shows at once instead of after the clients' backoff. */
export const FAST_CLIENTS: PlatformClientOptions = { slackRetry: { retries: 0 }, discordRest: { retries: 0, timeout: 3_000 } };

/**
 * A whole Switchboard (embedded Postgres, offline engine) with the real Slack adapter (Bolt) and
 * the real Discord adapter (discord.js) against their local stand-ins, and the Slack staff
 * channel notifier: a Discord user can be handed to staff working in Slack. Wired as
 * `switchboard serve` wires it: it is started by serve's own `startService`;
 * only the platform clients' retries differ.
 */
export async function startPlatformHarness(env: Record<string, string> = {}, options: { discordStaff?: boolean } = {}): Promise<PlatformHarness> {
  const slackApi = await SlackApiStandIn.start({ botToken: BOT_TOKEN });
  slackApi.respondWith("users.info", (args) => {
    const member = Object.values(STAFF).find((s) => s.id === args["user"]);
    return member ? { ok: true, user: { id: member.id, name: member.name.toLowerCase(), real_name: `${member.name} Example`, profile: { display_name: member.name } } } : undefined;
  });
  const discord = await startDiscordStandIn();
  const config = loadConfig({
    DATA_DIR: tempDataDir(),
    LOG_LEVEL: "silent",
    PORT: "0",
    HOST: "127.0.0.1",
    CONSOLE_TOKEN: "console-secret",
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slackApi.apiUrl,
    SLACK_HANDOFF_CHANNEL: STAFF_CHANNEL,
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.apiUrl,
    // A Discord staff channel too: cards in both, as a team working in both would have.
    ...(options.discordStaff ? { DISCORD_HANDOFF_CHANNEL: discord.channels.general } : {}),
    ...env,
  });
  // Exactly what `switchboard serve` starts; only the platform clients' retries differ.
  const service = await startService(config, silentLogger(), { clients: FAST_CLIENTS });
  const { app, http, slack, discord: discordAdapter } = service;
  if (!slack || !discordAdapter) throw new Error("harness: the config should have made a Slack and a Discord adapter");
  const url = service.address;

  const eventsUrl = `${url}/slack/events`;
  return {
    app,
    http,
    url,
    slackApi,
    discord,
    slack,
    discordAdapter,
    slackEvent: (fields) =>
      postSigned(eventsUrl, JSON.stringify(eventCallback(fields, { botUserId: slackApi.botUserId })), "application/json", { signingSecret: SIGNING_SECRET }),
    click: (staff, actionId, handoffId, cardTs, channel = STAFF_CHANNEL) => {
      const payload = {
        type: "block_actions",
        team: { id: slackApi.teamId, domain: "switchboard-test" },
        user: { id: staff.id, username: staff.name.toLowerCase(), name: staff.name.toLowerCase(), team_id: slackApi.teamId },
        api_app_id: "A0TEST",
        token: "legacy-verification-token",
        container: { type: "message", message_ts: cardTs, channel_id: channel, is_ephemeral: false },
        trigger_id: slackApi.issueTrigger(),
        channel: { id: channel, name: channel === STAFF_CHANNEL ? "support-staff" : "general" },
        message: { type: "message", ts: cardTs, user: slackApi.botUserId, bot_id: slackApi.botId, text: "Handoff" },
        response_url: slackApi.responseUrl(),
        actions: [
          { action_id: actionId, block_id: "handoff_actions", type: "button", value: handoffId, text: { type: "plain_text", text: actionId }, action_ts: `${Date.now() / 1000}` },
        ],
        state: { values: {} },
      };
      return postSigned(eventsUrl, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), "application/x-www-form-urlencoded", {
        signingSecret: SIGNING_SECRET,
      });
    },
    submitView: (staff, viewId, values) =>
      postSigned(eventsUrl, new URLSearchParams({ payload: JSON.stringify(slackApi.viewSubmission(viewId, staff, values)) }).toString(), "application/x-www-form-urlencoded", {
        signingSecret: SIGNING_SECRET,
      }),
    discordStaffChannel: options.discordStaff ? discord.channels.general : undefined,
    close: async () => {
      await service.stop();
      await discord.close();
      await slackApi.close();
    },
  };
}
