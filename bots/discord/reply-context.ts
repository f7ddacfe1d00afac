import { z } from "zod";

const snowflake = z.string().regex(/^\d{1,20}$/);

/**
 * What the Discord adapter stores on an inbound message so that its answer can be delivered
 * later, possibly by another process after a restart. Only ids and the interaction token: no
 * discord.js object survives a restart. Parsed with zod on the way back in, since it comes out of
 * the database.
 */
export const DiscordReplyContextSchema = z.discriminatedUnion("kind", [
  /**
   * `/support`: the answer edits the deferred response through the interaction webhook
   * (application id + token, valid for 15 minutes); later parts are follow-ups. When the token
   * has expired the answer goes to `channelId`, mentioning `userId`.
   */
  z.object({
    kind: z.literal("interaction"),
    applicationId: snowflake,
    interactionId: snowflake,
    interactionToken: z.string().min(1),
    channelId: snowflake,
    userId: snowflake,
  }),
  /**
   * A mention answered in a thread started from the message (`mentionMode: "thread"`). The
   * thread's id is the message's id, so it is created on first delivery if it does not exist.
   */
  z.object({
    kind: z.literal("thread"),
    parentChannelId: snowflake,
    messageId: snowflake,
    threadName: z.string().min(1).max(100),
  }),
  /** A mention answered with a reply to the message, in the same channel or thread. */
  z.object({
    kind: z.literal("message"),
    channelId: snowflake,
    messageId: snowflake,
  }),
  /** A DM, or a message in one of the bot's threads: the answer is posted in the channel. */
  z.object({
    kind: z.literal("channel"),
    channelId: snowflake,
  }),
]);

export type DiscordReplyContext = z.infer<typeof DiscordReplyContextSchema>;
