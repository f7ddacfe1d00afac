import { createHash } from "node:crypto";

/**
 * Slack conversation keys. Reversible: `deliver` finds the channel and thread to answer in from the
 * key alone, which is what a reply relayed hours later (or after a restart) has to work with.
 *
 * - `slack:TEAM:CHANNEL:THREAD_TS` — a thread (a `/support` question, a mention, a thread in a DM):
 *   the conversation of the person it was started for.
 * - `slack:TEAM:CHANNEL:THREAD_TS:user.USER` — someone else writing in that thread: anyone in the
 *   channel can, and a conversation is one person's (their memory, their handoff), so they get
 *   their own, answered in the same thread.
 * - `slack:TEAM:CHANNEL` — a direct message outside any thread.
 * - `slack:TEAM:CHANNEL:cmd.TRIGGER` — a `/support` question whose post (and so whose thread) does
 *   not exist yet: the question is stored before it is posted. Posting it moves the conversation
 *   to the thread's key; a conversation still under this key never got its post (it is answered
 *   through the command's `response_url`).
 *
 * Workspace + channel + thread, so the bot's memory follows the thread.
 */
export interface SlackConversation {
  teamId: string;
  channelId: string;
  threadTs?: string;
  /** Set on a `/support` placeholder (no thread yet): the command's id. Never with `threadTs`. */
  commandId?: string;
  /** Set when the thread is another person's conversation: the user this one belongs to. Only with `threadTs`. */
  userId?: string;
}

const TEAM = /^[TE][A-Z0-9]{1,20}$/;
const CHANNEL = /^[CDG][A-Z0-9]{1,20}$/;
const TS = /^\d{1,12}\.\d{1,9}$/;
const COMMAND_PREFIX = "cmd.";
const COMMAND_ID = /^[A-Za-z0-9._-]{1,100}$/;
const USER_PREFIX = "user.";
const USER = /^[UW][A-Z0-9]{1,20}$/;

export function formatConversationKey(conversation: SlackConversation): string {
  const base = `slack:${conversation.teamId}:${conversation.channelId}`;
  if (conversation.commandId !== undefined) return `${base}:${COMMAND_PREFIX}${conversation.commandId}`;
  if (conversation.threadTs === undefined) return base;
  const thread = `${base}:${conversation.threadTs}`;
  return conversation.userId === undefined ? thread : `${thread}:${USER_PREFIX}${conversation.userId}`;
}

/** Parses a key made by `formatConversationKey`; `null` for anything else. */
export function parseConversationKey(key: string): SlackConversation | null {
  const [platform, teamId, channelId, threadTs, user, ...rest] = key.split(":");
  if (platform !== "slack" || rest.length > 0) return null;
  if (!teamId || !TEAM.test(teamId) || !channelId || !CHANNEL.test(channelId)) return null;
  if (threadTs === undefined) return { teamId, channelId };
  if (threadTs.startsWith(COMMAND_PREFIX)) {
    if (user !== undefined) return null;
    const commandId = threadTs.slice(COMMAND_PREFIX.length);
    return COMMAND_ID.test(commandId) ? { teamId, channelId, commandId } : null;
  }
  if (!TS.test(threadTs)) return null;
  if (user === undefined) return { teamId, channelId, threadTs };
  const userId = user.startsWith(USER_PREFIX) ? user.slice(USER_PREFIX.length) : "";
  return USER.test(userId) ? { teamId, channelId, threadTs, userId } : null;
}

/**
 * The placeholder id for a `/support` command: its `trigger_id` (unique per invocation) when it is
 * safe in a key, else a hash of it.
 */
export function commandIdOf(triggerId: string): string {
  return COMMAND_ID.test(triggerId) ? triggerId : createHash("sha256").update(triggerId).digest("hex").slice(0, 40);
}
