import type pg from "pg";

export type AttemptResult = "done" | "retry" | "failed";

/**
 * `processing_attempts`: one row per attempt at processing an inbound message, timed by the
 * database clock so attempts in different processes compare. Shows retries and crashes (an
 * attempt that never finished) in the log, and lets tests check that a conversation's jobs never
 * overlapped.
 */
export class AttemptLog {
  constructor(private readonly pool: pg.Pool) {}

  async start(a: { messageId: string; conversationId: string; workerId: string; attempt: number }): Promise<string> {
    const r = await this.pool.query<{ id: string }>(
      `insert into processing_attempts (message_id, conversation_id, worker_id, attempt)
       values ($1, $2, $3, $4) returning id`,
      [a.messageId, a.conversationId, a.workerId, a.attempt],
    );
    return r.rows[0]!.id;
  }

  async finish(id: string, result: AttemptResult, error?: string): Promise<void> {
    await this.pool.query(
      "update processing_attempts set finished_at = clock_timestamp(), result = $2, error = $3 where id = $1",
      [id, result, error ?? null],
    );
  }
}
