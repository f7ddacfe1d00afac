import type pg from "pg";
import { isUuid } from "../conversations/pg-conversation-log.ts";

/**
 * A cheap fingerprint of what the console shows, read from the database so that it sees what
 * every process wrote (embedded Postgres has no NOTIFY across connections, and on a server this
 * keeps one code path): the console's live stream compares it with the last one it sent.
 *
 * The queue's changes with any handoff opened or changing state (every transition writes a
 * `handoff_events` row); a handoff's also with each message of its conversation and each note.
 */
export class InboxChanges {
  constructor(private readonly pool: pg.Pool) {}

  async queueVersion(): Promise<string> {
    const r = await this.pool.query<{ v: string }>(
      `select concat_ws('.', (select count(*) from handoffs), (select floor(extract(epoch from max(at)) * 1e6)::bigint from handoff_events)) as v`,
    );
    return r.rows[0]?.v ?? "";
  }

  /** The queue's version and the handoff's own (its conversation's messages, its notes and state). */
  async handoffVersion(handoffId: string): Promise<string> {
    if (!isUuid(handoffId)) return "";
    const r = await this.pool.query<{ v: string }>(
      `select concat_ws('.',
         (select count(*) from handoffs),
         (select floor(extract(epoch from max(at)) * 1e6)::bigint from handoff_events),
         (select max(m.seq) from messages m join handoffs h on h.conversation_id = m.conversation_id where h.id = $1),
         (select count(*) from messages m join handoffs h on h.conversation_id = m.conversation_id where h.id = $1 and m.status = 'sent'),
         (select count(*) from handoff_notes where handoff_id = $1)) as v`,
      [handoffId],
    );
    return r.rows[0]?.v ?? "";
  }
}
