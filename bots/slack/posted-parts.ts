import type { webApi } from "@slack/bolt";
import { errorMessage } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";

/**
 * Not posting a part twice. `chat.postMessage` has no idempotency key: when Slack accepted a post
 * but its answer never came back (a timeout, the process killed in between), the outbox cannot
 * know and delivers again. So every post the outbox makes carries message metadata naming its
 * outbox key and part, and a later attempt of the same message first reads the thread (or, at the
 * top level, the channel's recent history) for parts an earlier attempt already put there.
 *
 * Only later attempts look (one `conversations.replies` or `.history` call, Tier 3), never a
 * first one. Posts go out with the Web API's own retries off (`POST_RETRY`): those retries resend
 * without looking; the outbox's retry, which looks, takes their place.
 */
export const PART_EVENT_TYPE = "switchboard_part";

/** Web API retries for posts the outbox makes: none (see above). Rate limits are still waited out. */
export const POST_RETRY: webApi.RetryOptions = { retries: 0 };

/** How far back a later attempt looks: the newest messages of the thread or channel. */
const LOOK_BACK = 200;

export interface PartMetadata {
  event_type: typeof PART_EVENT_TYPE;
  event_payload: { key: string; part: number };
}

export function partMetadata(key: string, part: number): PartMetadata {
  return { event_type: PART_EVENT_TYPE, event_payload: { key, part } };
}

/**
 * The parts of outbox message `key` already in Slack, by index, with their `ts`. Empty when none
 * are, or when Slack cannot be read (a missing history scope): posting again then risks a
 * duplicate, never a loss.
 */
export async function findPostedParts(
  client: webApi.WebClient,
  where: { channel: string; threadTs: string | undefined },
  key: string,
  log: Logger,
): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  try {
    const page =
      where.threadTs === undefined
        ? (((await client.conversations.history({ channel: where.channel, include_all_metadata: true, limit: LOOK_BACK })).messages ?? []) as SlackMessage[])
        : await newestReplies(client, where.channel, where.threadTs);
    for (const message of page) {
      const metadata = message.metadata;
      if (metadata?.event_type !== PART_EVENT_TYPE || !message.ts) continue;
      const payload = metadata.event_payload as { key?: unknown; part?: unknown } | undefined;
      if (payload?.key === key && typeof payload.part === "number") found.set(payload.part, message.ts);
    }
  } catch (err) {
    log.warn({ err: errorMessage(err), key }, "slack: could not read what an earlier attempt posted; posting again");
  }
  return found;
}

interface SlackMessage {
  ts?: string | undefined;
  metadata?: { event_type?: string | undefined; event_payload?: unknown } | undefined;
}

/** A thread's replies, its newest `LOOK_BACK` (Slack pages a thread from its start). */
async function newestReplies(client: webApi.WebClient, channel: string, threadTs: string): Promise<SlackMessage[]> {
  let messages: SlackMessage[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const r = await client.conversations.replies({
      channel,
      ts: threadTs,
      include_all_metadata: true,
      limit: LOOK_BACK,
      ...(cursor ? { cursor } : {}),
    });
    messages = [...messages, ...((r.messages ?? []) as SlackMessage[])].slice(-LOOK_BACK);
    cursor = r.response_metadata?.next_cursor || undefined;
    if (!cursor) break;
  }
  return messages;
}
