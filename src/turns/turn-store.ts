import type pg from "pg";
import type { ConversationRow, MessageRow } from "../conversations/conversation-log.ts";
import { prepared } from "../db/prepared.ts";
import type { HeldLease, LeaseAlongside } from "../inbox/conversation-leases.ts";
import type { JobCompletion } from "../inbox/job-queue.ts";
import { toConversation, toMessage, type ConversationDbRow, type MessageDbRow } from "../conversations/pg-conversation-log.ts";

/** How an attempt at a message ended (`processing_attempts.result`). */
export type AttemptResult = "done" | "retry" | "failed";

/** What a turn starts from, read in the statement that starts it. */
export interface BegunTurn {
  /** The `processing_attempts` row of this attempt; undefined when the message does not exist. */
  attemptId: string | undefined;
  /** The message as it was before this statement (its status: what an earlier attempt left). */
  message: MessageRow | undefined;
  conversation: ConversationRow | undefined;
  /** The reply an earlier attempt recorded (its outbox row id), if any. */
  recordedReplyId: string | undefined;
  /** The customer the message's author is linked to, if any. */
  customerId: string | undefined;
}

/**
 * The turn's own SQL (issue 13: a message cost ~27 statements, each its own commit): the start
 * of a turn is one statement — the attempt row, the message, its conversation, a reply an earlier
 * attempt recorded, the linked customer, and the message marked `processing` unless it is done or
 * already answered — and its end is one statement too: the message done and the attempt finished.
 *
 * `processing_attempts` has one row per attempt at processing an inbound message, timed by the
 * database clock so attempts in different processes compare: it shows retries and crashes (an
 * attempt that never finished) in the log, and lets tests check that a conversation's jobs never
 * overlapped.
 */
export class TurnStore {
  /**
   * @param named Named prepared statements (a Postgres server; not embedded Postgres, see
   *   `prepared`). Default false.
   */
  constructor(
    readonly pool: pg.Pool,
    readonly named = false,
  ) {}

  async begin(a: { messageId: string; workerId: string; attempt: number; replyKey: string }): Promise<BegunTurn> {
    const r = await this.pool.query<MessageDbRow & ConversationColumns & { attempt_id: string | null; recorded_reply_id: string | null; linked_customer_id: string | null }>(prepared(
      `with msg as (select * from messages where id = $1),
       conv as (select c.* from conversations c join msg on c.id = msg.conversation_id),
       reply as (select id from messages where idempotency_key = $4),
       attempt as (
         insert into processing_attempts (message_id, conversation_id, worker_id, attempt)
         select msg.id, msg.conversation_id, $2, $3 from msg
         returning id
       ),
       mark as (
         update messages m set status = 'processing', error = null
         where m.id = $1 and m.status not in ('done', 'failed') and not exists (select 1 from reply)
       )
       select msg.*, (select id::text from attempt) as attempt_id, (select id from reply) as recorded_reply_id,
              conv.id as c_id, conv.platform as c_platform, conv.conversation_key as c_conversation_key, conv.user_id as c_user_id,
              conv.customer_id as c_customer_id, conv.status as c_status, conv.assignee as c_assignee,
              conv.unclear_streak as c_unclear_streak, conv.created_at as c_created_at, conv.updated_at as c_updated_at,
              (select i.customer_id from identities i
               where i.platform = msg.platform and i.platform_user_id = coalesce(msg.author_id, conv.user_id)) as linked_customer_id
       from msg left join conv on true`,
      [a.messageId, a.workerId, a.attempt, a.replyKey],
      this.named,
    ));
    const row = r.rows[0];
    if (!row) return { attemptId: undefined, message: undefined, conversation: undefined, recordedReplyId: undefined, customerId: undefined };
    return {
      attemptId: row.attempt_id ?? undefined,
      message: toMessage(row),
      conversation: row.c_id ? toConversation(conversationOf(row)) : undefined,
      recordedReplyId: row.recorded_reply_id ?? undefined,
      customerId: row.linked_customer_id ?? undefined,
    };
  }

  /**
   * The conversation's unfinished inbound messages up to `messageId`, oldest first: asked in the
   * statement that takes the conversation's lease (`ConversationLeases.run`).
   */
  unfinishedUpTo(messageId: string): LeaseAlongside {
    return {
      sql: `array(select m.id::text from messages m join messages self on self.id = $5::uuid
                  where m.conversation_id = self.conversation_id and m.direction = 'in'
                    and m.status in ('received', 'processing')
                    and (m.created_at, m.id) <= (self.created_at, self.id)
                  order by m.created_at, m.id)`,
      value: messageId,
    };
  }

  /**
   * The message answered (`done`) and the attempt finished, in one statement; with `lease` and
   * `completion` (the last message of the job's run), the conversation's lease is released and
   * the queue's job finished in it too (the conversation's next message may start once it commits).
   */
  async done(messageId: string, attemptId: string | undefined, lease?: HeldLease, completion?: JobCompletion): Promise<void> {
    const steps = `with attempt as (
         update processing_attempts set finished_at = clock_timestamp(), result = 'done', error = null where id = $2::bigint
       ), lease as (
         delete from conversation_leases where conversation_id = $3::uuid and holder = $4
       )`;
    const values = [messageId, attemptId ?? null, lease?.conversationId ?? null, lease?.holder ?? null];
    const done = "update messages set status = 'done', error = null, processed_at = now() where id = $1";
    if (!completion) {
      await this.pool.query(prepared(`${steps} ${done}`, values, this.named));
      lease?.released();
      return;
    }
    const sql = `${steps}, message as (${done}), ${completion.ctes(values.length + 1)} select ${completion.result} as completion`;
    const r = await this.pool.query<{ completion: unknown }>(prepared(sql, [...values, ...completion.values], this.named));
    lease?.released();
    completion.completed(r.rows[0]?.completion);
  }

  /** Runs `fn` in a transaction on one connection of the pool (everything in it must use `tx`). */
  async transaction<T>(fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("begin");
      const result = await fn(client);
      await client.query("commit");
      return result;
    } catch (err) {
      await client.query("rollback").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async finishAttempt(attemptId: string, result: AttemptResult, error?: string): Promise<void> {
    await this.pool.query("update processing_attempts set finished_at = clock_timestamp(), result = $2, error = $3 where id = $1", [attemptId, result, error ?? null]);
  }
}

interface ConversationColumns {
  c_id: string | null;
  c_platform: ConversationDbRow["platform"];
  c_conversation_key: string;
  c_user_id: string;
  c_customer_id: string | null;
  c_status: ConversationDbRow["status"];
  c_assignee: string | null;
  c_unclear_streak: number;
  c_created_at: Date;
  c_updated_at: Date;
}

function conversationOf(r: ConversationColumns): ConversationDbRow {
  return {
    id: r.c_id!,
    platform: r.c_platform,
    conversation_key: r.c_conversation_key,
    user_id: r.c_user_id,
    customer_id: r.c_customer_id,
    status: r.c_status,
    assignee: r.c_assignee,
    unclear_streak: r.c_unclear_streak,
    created_at: r.c_created_at,
    updated_at: r.c_updated_at,
  };
}
