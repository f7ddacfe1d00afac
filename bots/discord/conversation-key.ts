/**
 * Discord conversation keys. Reversible: the adapter finds the channel to answer in from the key
 * alone, which is what a staff reply relayed hours later (or after a restart) has to work with.
 *
 * - `discord:GUILD_ID:CHANNEL_ID` — a guild channel or thread. A thread the bot starts from a
 *   message has the message's id (Discord's rule), so the key of a mention answered in a thread
 *   is known before the thread exists.
 * - `discord:dm:CHANNEL_ID` — a direct-message channel.
 */
export type DiscordConversation =
  | { kind: "guild"; guildId: string; channelId: string }
  | { kind: "dm"; channelId: string };

const SNOWFLAKE = /^\d{1,20}$/;

export function formatConversationKey(conversation: DiscordConversation): string {
  return conversation.kind === "dm"
    ? `discord:dm:${conversation.channelId}`
    : `discord:${conversation.guildId}:${conversation.channelId}`;
}

/** Parses a key made by `formatConversationKey`; `null` for anything else. */
export function parseConversationKey(key: string): DiscordConversation | null {
  const [platform, scope, channelId, ...rest] = key.split(":");
  if (platform !== "discord" || rest.length > 0 || !channelId || !SNOWFLAKE.test(channelId)) {
    return null;
  }
  if (scope === "dm") return { kind: "dm", channelId };
  if (scope && SNOWFLAKE.test(scope)) return { kind: "guild", guildId: scope, channelId };
  return null;
}
