import type pg from "pg";
import type { ConversationRow, MessageRow } from "../conversations/conversation-log.ts";
import { pipelinedTransaction, type PipelinedTx } from "../db/pipelined-transaction.ts";
import { prepared, type StatementPart } from "../db/prepared.ts";
import { LATEST_CHECKPOINT_COLUMNS, latestCheckpointJoin, checkpointRowOf, type CheckpointColumns, type CheckpointRow } from "../db/checkpoint-saver.ts";
import type { HeldLease, LeaseSql } from "../inbox/conversation-leases.ts";
import type { JobCompletion } from "../inbox/job-queue.ts";
import { REPLY_KEY_PREFIX } from "./outcome.ts";
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
  /**
   * The conversation's latest checkpoint (its memory), read in the same statement when asked
   * for: null when it has none; undefined when not read.
   */
  checkpoint?: CheckpointRow | null;
}

/** What `beginFirst` read: the job's unfinished messages and, begun, the first of them. */
export interface FirstTurn {
  /** The conversation's unfinished inbound messages up to the job's, oldest first. */
  unfinished: string[];
  /** The first of them begun; undefined when none is unfinished, or the lease's snapshot was not clear (begin it with `begin`). */
  first: BegunTurn | undefined;
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
    const r = await this.pool.query<BeginRow>(prepared(
      `with msg as (select * from messages where id = $1),
       ${beginCtes("$1", "$4", "$2", "$3")}
       ${BEGIN_SELECT}
       from msg left join conv on true`,
      [a.messageId, a.workerId, a.attempt, a.replyKey],
      this.named,
    ));
    return begun(r.rows[0]);
  }

  /**
   * The statement that starts a job (`ConversationLeases.run`'s `LeaseStatement`): it takes the
   * conversation's lease, reads the conversation's unfinished inbound messages up to the job's
   * (`messageId`), and, holding the lease, begins the first of them as `begin` does (with
   * `checkpoint`, its conversation's latest checkpoint is read too): one round trip and one
   * commit instead of three. When the statement's snapshot may predate an earlier holder's
   * last commit (`LeaseSql.clear`), nothing is begun and `first` is undefined.
   */
  async beginFirst(lease: LeaseSql, a: { messageId: string; workerId: string; attempt: number; checkpoint: boolean }): Promise<{ taken: boolean; value: FirstTurn }> {
    const r = await this.pool.query<BeginRow & Partial<CheckpointColumns> & { taken: boolean; clear: boolean; unfinished: string[] | null }>(prepared(
      `with ${lease.ctes},
       job_message as materialized (select conversation_id, created_at, id from messages where id = $5::uuid),
       -- The conversation's by the index of unfinished messages by conversation (its key is the
       -- subquery's value): joined to the job's message instead, the planner read the whole
       -- index of unfinished messages, every conversation's, a few hundred rows under load.
       unfinished as (
         select array(select m.id::text from messages m
                      where m.conversation_id = (select conversation_id from job_message) and m.direction = 'in'
                        and m.status in ('received', 'processing')
                        and (m.created_at, m.id) <= (select created_at, id from job_message)
                      order by m.created_at, m.id) as ids
       ),
       target as (select ids[1]::uuid as id from unfinished where ${lease.taken} and ${lease.clear}),
       msg as (select * from messages where id = (select id from target)),
       ${beginCtes("(select id from target)", "$8::text || (select id from target)::text", "$6", "$7")}
       ${BEGIN_SELECT}, ${lease.taken} as taken, ${lease.clear} as clear, (select ids from unfinished) as unfinished
              ${a.checkpoint ? `, ${LATEST_CHECKPOINT_COLUMNS}` : ""}
       from (select) one left join msg on true left join conv on true
       ${a.checkpoint ? latestCheckpointJoin("msg.conversation_id::text") : ""}`,
      [...lease.values, a.messageId, a.workerId, a.attempt, REPLY_KEY_PREFIX],
      this.named,
    ));
    const row = r.rows[0];
    if (!row?.taken) return { taken: false, value: { unfinished: [], first: undefined } };
    const unfinished = row.unfinished ?? [];
    if (!row.clear || !row.id) return { taken: true, value: { unfinished, first: undefined } };
    const first = begun(row);
    if (a.checkpoint) first.checkpoint = checkpointRowOf(row);
    return { taken: true, value: { unfinished, first } };
  }

  /**
   * The message answered (`done`) and the attempt finished, in one statement; with `lease` and
   * `completion` (the last message of the job's run), the conversation's lease is released and
   * the queue's job finished in it too (the conversation's next message may start once it commits).
   */
  async done(messageId: string, attemptId: string | undefined, lease?: HeldLease, completion?: JobCompletion): Promise<void> {
    const end = this.ending(messageId, attemptId, lease, completion);
    const r = await this.pool.query<{ result: unknown }>(prepared(`with ${end.part.ctes(1)} select ${end.part.result} as result`, end.part.values, this.named));
    end.committed(r.rows[0]?.result);
  }

  /**
   * `done` as a part of another statement (the reply's sent mark, `Outbox`): call `committed`
   * with its result once that statement committed.
   */
  ending(messageId: string, attemptId: string | undefined, lease?: HeldLease, completion?: JobCompletion): { part: StatementPart; committed(result: unknown): void } {
    return {
      part: {
        ctes: (first) => {
          const [message, attempt, conversation, holder] = [0, 1, 2, 3].map((i) => `$${first + i}`);
          const own = `attempt_done as (
         update processing_attempts set finished_at = clock_timestamp(), result = 'done', error = null where id = ${attempt}::bigint
       ), lease_released as (
         delete from conversation_leases where conversation_id = ${conversation}::uuid and holder = ${holder}::text
       ), message_done as (
         update messages set status = 'done', error = null, processed_at = now() where id = ${message}::uuid
       )`;
          return completion ? `${own}, ${completion.ctes(first + 4)}` : own;
        },
        values: [messageId, attemptId ?? null, lease?.conversationId ?? null, lease?.holder ?? null, ...(completion?.values ?? [])],
        result: completion ? completion.result : "null::int",
      },
      committed: (result) => {
        lease?.released();
        completion?.completed(result);
      },
    };
  }

  /**
   * Runs `fn`'s statements in one transaction on one connection of the pool, issued together
   * (everything in it must use `tx`, and be issued before its first await: see `pipelinedTransaction`).
   */
  transaction<T>(fn: (tx: PipelinedTx) => Promise<T>): Promise<T> {
    return pipelinedTransaction(this.pool, fn);
  }

  async finishAttempt(attemptId: string, result: AttemptResult, error?: string): Promise<void> {
    await this.pool.query("update processing_attempts set finished_at = clock_timestamp(), result = $2, error = $3 where id = $1", [attemptId, result, error ?? null]);
  }
}

/**
 * The begin's CTEs after `msg` (the message, or none): its conversation, a recorded reply (key
 * `replyKey`), the attempt's row and the `processing` mark; SQL expressions for the message id,
 * the reply key, the worker id and the attempt number.
 */
function beginCtes(messageId: string, replyKey: string, workerId: string, attempt: string): string {
  return `conv as (select c.* from conversations c join msg on c.id = msg.conversation_id),
       reply as (select id from messages where idempotency_key = ${replyKey}),
       attempt as (
         insert into processing_attempts (message_id, conversation_id, worker_id, attempt)
         select msg.id, msg.conversation_id, ${workerId}, ${attempt} from msg
         returning id
       ),
       mark as (
         update messages m set status = 'processing', error = null
         where m.id = ${messageId} and m.status not in ('done', 'failed') and not exists (select 1 from reply)
       )`;
}

const BEGIN_SELECT = `select msg.*, (select id::text from attempt) as attempt_id, (select id from reply) as recorded_reply_id,
              conv.id as c_id, conv.platform as c_platform, conv.conversation_key as c_conversation_key, conv.user_id as c_user_id,
              conv.customer_id as c_customer_id, conv.status as c_status, conv.assignee as c_assignee,
              conv.unclear_streak as c_unclear_streak, conv.created_at as c_created_at, conv.updated_at as c_updated_at,
              (select i.customer_id from identities i
               where i.platform = msg.platform and i.platform_user_id = coalesce(msg.author_id, conv.user_id)) as linked_customer_id`;

type BeginRow = MessageDbRow & ConversationColumns & { attempt_id: string | null; recorded_reply_id: string | null; linked_customer_id: string | null };

function begun(row: BeginRow | undefined): BegunTurn {
  if (!row?.id) return { attemptId: undefined, message: undefined, conversation: undefined, recordedReplyId: undefined, customerId: undefined };
  return {
    attemptId: row.attempt_id ?? undefined,
    message: toMessage(row),
    conversation: row.c_id ? toConversation(conversationOf(row)) : undefined,
    recordedReplyId: row.recorded_reply_id ?? undefined,
    customerId: row.linked_customer_id ?? undefined,
  };
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
