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

/**
 * Discord errors that sending the same message again will never get past: the place is gone or
 * closed to the bot, or the message itself is unacceptable. Delivery gives such a message up at
 * once (`DeliveryRefused`), so a staff member hears at once that it did not reach the user,
 * rather than after ten minutes of retries. Everything else (5xx, timeouts, a bad token that a
 * redeploy fixes, rate limits discord.js did not absorb) stays retryable.
 *
 * Missing Access / Missing Permissions are here although an admin may grant them later: a reply
 * arriving an hour late, out of its conversation, helps nobody, and the failure is visible.
 * Expired interactions (Unknown Webhook, Invalid Webhook Token, Unknown Interaction) are not:
 * delivery posts in the channel instead (see `isExpiredInteraction`).
 */
export const UNDELIVERABLE_CODES: ReadonlyMap<number, string> = new Map<number, string>([
  // The conversation's channel, thread, server or message is gone.
  [RESTJSONErrorCodes.UnknownChannel, "the channel no longer exists"],
  [RESTJSONErrorCodes.UnknownGuild, "the bot is no longer in the server"],
  [RESTJSONErrorCodes.UnknownMessage, "the message answered no longer exists"],
  // The bot may not post there.
  [RESTJSONErrorCodes.MissingAccess, "the bot cannot see the channel"],
  [RESTJSONErrorCodes.MissingPermissions, "the bot may not post in the channel"],
  [RESTJSONErrorCodes.CannotSendMessagesToThisUser, "the user does not accept direct messages from the bot"],
  [RESTJSONErrorCodes.CannotSendMessagesInNonTextChannel, "the channel takes no messages"],
  [RESTJSONErrorCodes.CannotExecuteActionOnThisChannelType, "the channel takes no messages"],
  [RESTJSONErrorCodes.CannotReplyWithoutPermissionToReadMessageHistory, "the bot may not read the channel's history"],
  [RESTJSONErrorCodes.ThreadLocked, "the thread is locked"],
  [RESTJSONErrorCodes.InvalidActionOnArchivedThread, "the thread is archived"],
  // The message itself is refused.
  [RESTJSONErrorCodes.CannotSendAnEmptyMessage, "the message is empty"],
  [RESTJSONErrorCodes.InvalidFormBodyOrContentType, "Discord rejected the message's form"],
  [RESTJSONErrorCodes.RequestEntityTooLarge, "the message is too large"],
  [RESTJSONErrorCodes.MessageWasBlockedByAutomaticModeration, "the server's AutoMod blocked the message"],
  [RESTJSONErrorCodes.MessageBlockedByHarmfulLinksFilter, "Discord's harmful-links filter blocked the message"],
]);

/** Why Discord will never take this message, or `undefined` when trying again may work. */
export function undeliverableReason(err: unknown): string | undefined {
  const code = discordErrorCode(err);
  return typeof code === "number" ? UNDELIVERABLE_CODES.get(code) : undefined;
}
