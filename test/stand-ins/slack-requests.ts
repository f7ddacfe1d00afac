import { createHmac, randomBytes } from "node:crypto";

/**
 * Requests shaped like Slack's: signed as Slack signs them (`v0=` HMAC-SHA256 of
 * `v0:<timestamp>:<raw body>`), slash commands form-encoded, events as JSON event callbacks.
 */
export function signSlackRequest(
  signingSecret: string,
  rawBody: string,
  timestampSec: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = createHmac("sha256", signingSecret).update(`v0:${timestampSec}:${rawBody}`).digest("hex");
  return { "x-slack-request-timestamp": String(timestampSec), "x-slack-signature": `v0=${signature}` };
}

export interface SlashCommandFields {
  teamId?: string;
  channelId?: string;
  userId?: string;
  userName?: string;
  text: string;
  command?: string;
  responseUrl?: string;
  triggerId?: string;
  /** The legacy verification token Slack still sends in the form (a secret: never logged). */
  token?: string;
}

/** The form fields of a slash command, as an object (Socket Mode payload) … */
export function slashCommandPayload(f: SlashCommandFields): Record<string, string> {
  return {
    token: f.token ?? "legacy-verification-token",
    team_id: f.teamId ?? "T0TEST",
    team_domain: "switchboard-test",
    channel_id: f.channelId ?? "C0GENERAL",
    channel_name: "general",
    user_id: f.userId ?? "U0ALICE",
    user_name: f.userName ?? "alice",
    command: f.command ?? "/support",
    text: f.text,
    api_app_id: "A0TEST",
    is_enterprise_install: "false",
    response_url: f.responseUrl ?? "https://hooks.slack.invalid/commands/T0TEST/1/abc",
    trigger_id: f.triggerId ?? `${Date.now()}.${randomBytes(4).toString("hex")}`,
  };
}

/** … and form-encoded (HTTP body). */
export function slashCommandBody(f: SlashCommandFields): string {
  return new URLSearchParams(slashCommandPayload(f)).toString();
}

export interface SlackEventFields {
  type: "app_mention" | "message";
  user?: string;
  text: string;
  ts: string;
  channel: string;
  thread_ts?: string;
  channel_type?: "channel" | "group" | "im" | "mpim";
  subtype?: string;
  bot_id?: string;
  parent_user_id?: string;
}

/** An Events API `event_callback` envelope around one event. */
export function eventCallback(
  event: SlackEventFields,
  options: { teamId?: string; botUserId?: string; eventId?: string } = {},
): Record<string, unknown> {
  const teamId = options.teamId ?? "T0TEST";
  return {
    token: "legacy-verification-token",
    team_id: teamId,
    api_app_id: "A0TEST",
    event: {
      ...event,
      user: event.user ?? "U0ALICE",
      event_ts: event.ts,
      ...(event.type === "message" ? { client_msg_id: `cm-${event.ts}` } : {}),
    },
    type: "event_callback",
    event_id: options.eventId ?? `Ev${event.ts.replace(".", "")}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      { enterprise_id: null, team_id: teamId, user_id: options.botUserId ?? "U0BOT", is_bot: true, is_enterprise_install: false },
    ],
    is_ext_shared_channel: false,
  };
}

export interface PostOptions {
  signingSecret: string;
  /** Signs with this timestamp (seconds). Default now. */
  timestampSec?: number;
  /** Replaces the computed signature. */
  signature?: string;
  headers?: Record<string, string>;
}

/** POSTs a signed body the way Slack does; returns the fetch Response. */
export function postSigned(
  url: string,
  body: string,
  contentType: "application/x-www-form-urlencoded" | "application/json",
  options: PostOptions,
): Promise<Response> {
  const signed = signSlackRequest(options.signingSecret, body, options.timestampSec);
  if (options.signature !== undefined) signed["x-slack-signature"] = options.signature;
  return fetch(url, {
    method: "POST",
    headers: { "content-type": contentType, ...signed, ...options.headers },
    body,
  });
}
