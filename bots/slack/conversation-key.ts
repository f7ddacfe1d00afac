/**
 * Slack conversation keys. Reversible: `deliver` finds the channel and thread to answer in from the
 * key alone, which is what a reply relayed hours later (or after a restart) has to work with.
 *
 * - `slack:TEAM:CHANNEL:THREAD_TS` — a thread (a `/support` question, a mention, a thread in a DM).
 * - `slack:TEAM:CHANNEL` — a direct message outside any thread.
 *
 * Workspace + channel + thread, so the bot's memory follows the thread.
 */
export interface SlackConversation {
  teamId: string;
  channelId: string;
  threadTs?: string;
}

const TEAM = /^[TE][A-Z0-9]{1,20}$/;
const CHANNEL = /^[CDG][A-Z0-9]{1,20}$/;
const TS = /^\d{1,12}\.\d{1,9}$/;

export function formatConversationKey(conversation: SlackConversation): string {
  const base = `slack:${conversation.teamId}:${conversation.channelId}`;
  return conversation.threadTs === undefined ? base : `${base}:${conversation.threadTs}`;
}

/** Parses a key made by `formatConversationKey`; `null` for anything else. */
export function parseConversationKey(key: string): SlackConversation | null {
  const [platform, teamId, channelId, threadTs, ...rest] = key.split(":");
  if (platform !== "slack" || rest.length > 0) return null;
  if (!teamId || !TEAM.test(teamId) || !channelId || !CHANNEL.test(channelId)) return null;
  if (threadTs === undefined) return { teamId, channelId };
  if (!TS.test(threadTs)) return null;
  return { teamId, channelId, threadTs };
}
