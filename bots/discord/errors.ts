import { DiscordAPIError, HTTPError, RESTJSONErrorCodes } from "discord.js";

/**
 * The loggable part of an error from discord.js. A `DiscordAPIError` carries the request URL and
 * body, and the URL of every interaction call holds the interaction token (a credential for 15
 * minutes), so errors are never logged whole: only the code, status, method and message.
 */
export interface DiscordErrorSummary {
  error: string;
  code?: number | string;
  status?: number;
  method?: string;
}

export function describeDiscordError(err: unknown): DiscordErrorSummary {
  if (err instanceof DiscordAPIError) {
    return { error: redactUrls(err.message), code: err.code, status: err.status, method: err.method };
  }
  if (err instanceof HTTPError) {
    return { error: redactUrls(err.message), status: err.status, method: err.method };
  }
  if (err instanceof Error) return { error: `${err.name}: ${redactUrls(err.message)}` };
  return { error: redactUrls(String(err)) };
}

/** Removes interaction and webhook tokens from URL paths inside a message. */
export function redactUrls(text: string): string {
  return text
    .replace(/(\/webhooks\/\d+\/)[^/?\s]+/g, "$1[redacted]")
    .replace(/(\/interactions\/\d+\/)[^/?\s]+/g, "$1[redacted]");
}

export function discordErrorCode(err: unknown): number | string | undefined {
  return err instanceof DiscordAPIError ? err.code : undefined;
}

/** The interaction token expired (15 minutes) or is unknown: its webhook can no longer be used. */
export function isExpiredInteraction(err: unknown): boolean {
  if (!(err instanceof DiscordAPIError)) return false;
  return (
    err.code === RESTJSONErrorCodes.UnknownWebhook ||
    err.code === RESTJSONErrorCodes.InvalidWebhookToken ||
    err.code === RESTJSONErrorCodes.UnknownInteraction ||
    err.status === 401
  );
}
