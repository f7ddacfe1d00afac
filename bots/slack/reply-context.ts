import { z } from "zod";

/**
 * What the Slack adapter stores on an inbound message so that its answer can be delivered later,
 * possibly by another process after a restart: where to post, and whom to mention. Parsed with
 * zod on the way back in, since it comes out of the database.
 */
export const SlackReplyContextSchema = z.object({
  /** The channel to post in (else the conversation key's). */
  channel: z.string().optional(),
  /** The thread to post in (else the conversation key's). */
  threadTs: z.string().optional(),
  /** The `/support` asker, mentioned at the top of the answer (not in the thread yet). */
  askerId: z.string().optional(),
  /**
   * The `/support` command's `response_url`: answers go there, privately, while the question has
   * no thread (it could not be posted). Slack takes 5 posts within 30 minutes.
   */
  responseUrl: z.string().url().optional(),
});
export type SlackReplyContext = z.infer<typeof SlackReplyContextSchema>;

/** The stored reply context, or an empty one when it does not parse (the conversation key still says where). */
export function readReplyContext(stored: Record<string, unknown> | undefined): SlackReplyContext {
  const parsed = SlackReplyContextSchema.safeParse(stored ?? {});
  return parsed.success ? parsed.data : {};
}
