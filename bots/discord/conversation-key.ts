/**
 * Discord conversation keys. Reversible: the adapter finds the channel to answer in from the key
 * alone, which is what a staff reply relayed hours later (or after a restart) has to work with.
 *
 * - `discord:GUILD_ID:CHANNEL_ID:user.USER_ID` — one person's conversation in a guild channel or
 *   thread. A channel (and a thread) is shared by everyone in it, a conversation is not: each
 *   person's `/support`, mentions and thread messages are their own conversation, with their own
 *   memory and their own handoff, even in the same place. A thread the bot starts from a message
 *   has the message's id (Discord's rule), so the key of a mention answered in a thread is known
 *   before the thread exists.
 * - `discord:GUILD_ID:CHANNEL_ID` — the same without the user: made before conversations were
 *   per person. Stored conversations under such keys are still answered and delivered to (see
 *   `legacyKeyOf`); no new one is made.
 * - `discord:dm:CHANNEL_ID` — a direct-message channel (one person and the bot).
 */
export type DiscordConversation =
  | { kind: "guild"; guildId: string; channelId: string; userId?: string }
  | { kind: "dm"; channelId: string };

const SNOWFLAKE = /^\d{1,20}$/;
const USER_PREFIX = "user.";

export function formatConversationKey(conversation: DiscordConversation): string {
  if (conversation.kind === "dm") return `discord:dm:${conversation.channelId}`;
  const base = `discord:${conversation.guildId}:${conversation.channelId}`;
  return conversation.userId === undefined ? base : `${base}:${USER_PREFIX}${conversation.userId}`;
}

/** Parses a key made by `formatConversationKey` (old keys without a user included); `null` for anything else. */
export function parseConversationKey(key: string): DiscordConversation | null {
  const [platform, scope, channelId, user, ...rest] = key.split(":");
  if (platform !== "discord" || rest.length > 0 || !channelId || !SNOWFLAKE.test(channelId)) {
    return null;
  }
  if (scope === "dm") return user === undefined ? { kind: "dm", channelId } : null;
  if (!scope || !SNOWFLAKE.test(scope)) return null;
  if (user === undefined) return { kind: "guild", guildId: scope, channelId };
  const userId = user.startsWith(USER_PREFIX) ? user.slice(USER_PREFIX.length) : "";
  return SNOWFLAKE.test(userId) ? { kind: "guild", guildId: scope, channelId, userId } : null;
}

/**
 * The key the same place had before conversations were per person (`discord:GUILD:CHANNEL`), for
 * a per-person guild key; `null` for any other. A conversation stored under it by this same person
 * is theirs and goes on there.
 */
export function legacyKeyOf(key: string): string | null {
  const parsed = parseConversationKey(key);
  if (parsed?.kind !== "guild" || parsed.userId === undefined) return null;
  return formatConversationKey({ kind: "guild", guildId: parsed.guildId, channelId: parsed.channelId });
}
