import type pg from "pg";
import { prepared, type StatementPart } from "../db/prepared.ts";
import type { InboundMessage, Platform, RoutingDecision } from "../types.ts";
import type {
  ConversationLog,
  ConversationRow,
  MessageRow,
  ModelCallRecord,
  ReceiveHooks,
  ReceiveResult,
  SearchQuery,
  TranscriptEntry,
  TurnRecord,
  WorkerRunRecord,
} from "./conversation-log.ts";

/** `ConversationLog` on Postgres through `pg` (a server, or the embedded one over its wire port). */
export class PgConversationLog implements ConversationLog {
  readonly #named: boolean;

  /**
   * `preparedStatements`: the intake's statement is a named prepared statement, parsed and planned
   * once per connection (see `prepared`); not on embedded Postgres. Default false.
   */
  constructor(
    private readonly pool: pg.Pool,
    options: { preparedStatements?: boolean } = {},
  ) {
    this.#named = options.preparedStatements ?? false;
  }

  async receive(m: InboundMessage, hooks: ReceiveHooks = {}): Promise<ReceiveResult> {
    const values = [m.platform, m.conversationKey, m.userId, m.text, m.platformMessageId, m.replyContext ? JSON.stringify(m.replyContext) : null, m.receivedAt ?? null, ...(hooks.part?.values ?? [])];
    const sql = hooks.part ? storeSql(hooks.part) : STORE_SQL;
    if (!hooks.onAccepted) {
      // Nothing else commits with it (or only what rides in the statement): one statement is its
      // own transaction, and holds the database for no round trip (on the embedded database, no
      // other connection waits for this one).
      const stored = await this.pool.query<StoredRow>(prepared(sql, values, this.#named));
      const row = stored.rows[0];
      if (row?.inserted_id) return accepted(row, row.inserted_id);
      return this.#duplicate(this.pool, m, row);
    }
    const client = await this.pool.connect();
    try {
      // Issued with the statement after it: on a pipelining connection (the embedded database's)
      // they travel together, and the transaction holds the database's one session a round trip less.
      const begun = client.query("begin");
      const [, stored] = await Promise.all([begun, client.query<StoredRow>(prepared(sql, values, this.#named))]);
      const row = stored.rows[0];
      if (row?.inserted_id) {
        await hooks.onAccepted(client, { messageId: row.inserted_id, conversationId: row.id });
        await client.query("commit");
        return accepted(row, row.inserted_id);
      }
      // A redelivery: keep nothing of this attempt. The lookups use this client: with a
      // one-connection pool, asking the pool would deadlock.
      await client.query("rollback");
      return await this.#duplicate(client, m, row);
    } catch (err) {
      await client.query("rollback").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** The message stored before under the same platform message id, and its conversation. */
  async #duplicate(db: Pick<pg.ClientBase, "query">, m: InboundMessage, row: StoredRow | undefined): Promise<ReceiveResult> {
    const existing = await db.query<{ id: string; conversation_id: string }>(
      "select id, conversation_id from messages where platform = $1 and platform_message_id = $2",
      [m.platform, m.platformMessageId],
    );
    const found = existing.rows[0];
    if (!found) throw new Error(`message ${m.platformMessageId} was neither stored nor found`);
    const original = await db.query<ConversationDbRow>("select * from conversations where id = $1", [found.conversation_id]);
    const conversation = original.rows[0] ?? (row && withoutInserted(row));
    if (!conversation) throw new Error(`conversation ${found.conversation_id} of message ${found.id} not found`);
    return { status: "duplicate", messageId: found.id, conversation: toConversation(conversation) };
  }

  async getConversation(id: string): Promise<ConversationRow | undefined> {
    if (!isUuid(id)) return undefined;
    const r = await this.pool.query<ConversationDbRow>("select * from conversations where id = $1", [id]);
    return r.rows[0] && toConversation(r.rows[0]);
  }

  async findConversationByKey(platform: Platform, key: string): Promise<ConversationRow | undefined> {
    const r = await this.pool.query<ConversationDbRow>(
      "select * from conversations where platform = $1 and conversation_key = $2",
      [platform, key],
    );
    return r.rows[0] && toConversation(r.rows[0]);
  }

  async getMessage(id: string): Promise<MessageRow | undefined> {
    const r = await this.pool.query<MessageDbRow>("select * from messages where id = $1", [id]);
    return r.rows[0] && toMessage(r.rows[0]);
  }

  async latestInbound(conversationId: string): Promise<MessageRow | undefined> {
    if (!isUuid(conversationId)) return undefined;
    const r = await this.pool.query<MessageDbRow>(
      `select * from messages where conversation_id = $1 and direction = 'in'
       order by created_at desc, id desc limit 1`,
      [conversationId],
    );
    return r.rows[0] && toMessage(r.rows[0]);
  }

  async unfinishedMessages(): Promise<MessageRow[]> {
    const r = await this.pool.query<MessageDbRow>(
      `select * from messages where direction = 'in' and status in ('received', 'processing')
       order by created_at, id`,
    );
    return r.rows.map(toMessage);
  }

  async unfinishedUpTo(messageId: string): Promise<string[]> {
    const r = await this.pool.query<{ id: string }>(
      // By the index of unfinished messages by conversation (see TurnStore.beginFirst).
      `with job_message as materialized (select conversation_id, created_at, id from messages where id = $1)
       select m.id from messages m
       where m.conversation_id = (select conversation_id from job_message) and m.direction = 'in'
         and m.status in ('received', 'processing')
         and (m.created_at, m.id) <= (select created_at, id from job_message)
       order by m.created_at, m.id`,
      [messageId],
    );
    return r.rows.map((row) => row.id);
  }

  async setMessageStatus(id: string, status: "processing" | "done" | "failed", error?: string): Promise<void> {
    await this.pool.query(
      `update messages set status = $2, error = $3,
         processed_at = case when $2 in ('done', 'failed') then now() else processed_at end
       where id = $1`,
      [id, status, error ?? null],
    );
  }

  async recordRouting(messageId: string, d: RoutingDecision): Promise<void> {
    await this.pool.query(
      `insert into routing_decisions (message_id, routes, scores, unsure, engine, latency_ms, error, plan)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [messageId, JSON.stringify(d.routes), JSON.stringify(d.scores), d.unsure, d.engine, d.latencyMs, d.error ?? null, d.plan ? JSON.stringify(d.plan) : null],
    );
  }

  async recordWorkerRun(messageId: string, run: WorkerRunRecord): Promise<void> {
    await this.pool.query(
      `insert into worker_runs (message_id, worker, question, status, reply, sources, tool_calls, error, latency_ms, engine, step, reassigned_from)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        messageId,
        run.worker,
        run.question,
        run.status,
        run.reply,
        JSON.stringify(run.sources),
        JSON.stringify(run.toolCalls),
        run.error,
        run.latencyMs,
        run.engine,
        run.step ?? null,
        run.reassignedFrom ?? null,
      ],
    );
  }

  async recordTurn(messageId: string, conversationId: string, turn: TurnRecord, tx: Pick<pg.ClientBase, "query"> = this.pool): Promise<void> {
    const part = this.turnPart(messageId, conversationId, turn);
    await tx.query(`with ${part.ctes(1)} select ${part.result}`, [...part.values]);
  }

  turnPart(messageId: string, conversationId: string, turn: TurnRecord): StatementPart {
    const d = turn.decision;
    return {
      ctes: (first) => {
        const [message, conversation, decision, runs, streak] = [0, 1, 2, 3, 4].map((i) => `$${first + i}`);
        return `turn_routing as (
         insert into routing_decisions (message_id, routes, scores, unsure, engine, latency_ms, error, plan)
         select ${message}, ${decision}::jsonb -> 'routes', ${decision}::jsonb -> 'scores', (${decision}::jsonb ->> 'unsure')::boolean, ${decision}::jsonb ->> 'engine',
                (${decision}::jsonb ->> 'latencyMs')::real, ${decision}::jsonb ->> 'error', ${decision}::jsonb -> 'plan'
         where ${decision}::jsonb is not null
       ), turn_runs as (
         -- clock_timestamp(): each run a later created_at, so they read back in this order.
         insert into worker_runs (message_id, worker, question, status, reply, sources, tool_calls, error, latency_ms, engine, step, reassigned_from, created_at)
         select ${message}, r.worker, r.question, r.status, r.reply, r.sources, r."toolCalls", r.error, r."latencyMs", r.engine, r.step, r."reassignedFrom", clock_timestamp()
         from jsonb_array_elements(${runs}::jsonb) with ordinality as e(run, n),
              jsonb_to_record(e.run) as r(worker text, question text, status text, reply text, sources jsonb, "toolCalls" jsonb, error text, "latencyMs" real, engine text, step text, "reassignedFrom" text)
         order by e.n
       ), turn_streak as (
         update conversations set unclear_streak = ${streak}, updated_at = now() where id = ${conversation}
       )`;
      },
      values: [
        messageId,
        conversationId,
        d ? JSON.stringify({ routes: d.routes, scores: d.scores, unsure: d.unsure, engine: d.engine, latencyMs: d.latencyMs, error: d.error ?? null }) : null,
        JSON.stringify(turn.runs),
        turn.unclearStreak,
      ],
      result: "null::int",
    };
  }

  async setUnclearStreak(conversationId: string, streak: number): Promise<void> {
    await this.pool.query("update conversations set unclear_streak = $2, updated_at = now() where id = $1", [
      conversationId,
      streak,
    ]);
  }

  async linkedCustomer(platform: Platform, platformUserId: string): Promise<string | undefined> {
    const r = await this.pool.query<{ customer_id: string }>(
      "select customer_id from identities where platform = $1 and platform_user_id = $2",
      [platform, platformUserId],
    );
    return r.rows[0]?.customer_id;
  }

  async linkIdentity(platform: Platform, platformUserId: string, customerId: string): Promise<void> {
    await this.pool.query(
      `insert into identities (platform, platform_user_id, customer_id) values ($1, $2, $3)
       on conflict (platform, platform_user_id) do update set customer_id = excluded.customer_id, linked_at = now()`,
      [platform, platformUserId, customerId],
    );
  }

  async transcript(conversationId: string): Promise<TranscriptEntry[]> {
    const [messages, routing, runs, calls] = await Promise.all([
      this.pool.query<MessageDbRow>(
        // A partial answer's versions are replaced by the whole one: the transcript shows that.
        "select * from messages where conversation_id = $1 and kind <> 'partial' order by created_at, direction, id",
        [conversationId],
      ),
      this.pool.query<RoutingDbRow>(
        `select r.* from routing_decisions r join messages m on m.id = r.message_id
         where m.conversation_id = $1 order by r.created_at`,
        [conversationId],
      ),
      this.pool.query<WorkerRunDbRow>(
        `select w.* from worker_runs w join messages m on m.id = w.message_id
         where m.conversation_id = $1 order by w.created_at`,
        [conversationId],
      ),
      this.pool.query<ModelCallDbRow>(
        `select c.* from model_calls c join messages m on m.id = c.message_id
         where m.conversation_id = $1 order by c.created_at`,
        [conversationId],
      ),
    ]);
    const routingByMessage = new Map(routing.rows.map((r) => [r.message_id, r]));
    return messages.rows.map((row) => {
      const r = routingByMessage.get(row.id);
      return {
        ...toMessage(row),
        routing: r
          ? {
              routes: r.routes,
              scores: r.scores,
              unsure: r.unsure,
              engine: r.engine,
              latencyMs: r.latency_ms,
              error: r.error,
              ...(r.plan ? { plan: r.plan } : {}),
            }
          : null,
        workerRuns: runs.rows
          .filter((w) => w.message_id === row.id)
          .map((w) => ({
            id: w.id,
            worker: w.worker,
            question: w.question,
            status: w.status,
            reply: w.reply,
            sources: w.sources,
            toolCalls: w.tool_calls,
            error: w.error,
            latencyMs: w.latency_ms,
            engine: w.engine,
            ...(w.step ? { step: w.step } : {}),
            ...(w.reassigned_from ? { reassignedFrom: w.reassigned_from } : {}),
          })),
        modelCalls: calls.rows
          .filter((c) => c.message_id === row.id)
          .map((c) => ({
            stage: c.stage,
            worker: c.worker,
            model: c.model,
            promptTokens: c.prompt_tokens,
            completionTokens: c.completion_tokens,
            latencyMs: c.latency_ms,
            outcome: c.outcome,
            error: c.error,
          })),
      };
    });
  }

  async searchConversations(q: SearchQuery): Promise<ConversationRow[]> {
    const r = await this.pool.query<ConversationDbRow>(
      `select c.* from conversations c
       where ($1::text is null or c.user_id ilike '%' || $1 || '%'
              or exists (select 1 from messages m where m.conversation_id = c.id and m.text ilike '%' || $1 || '%'))
         and ($2::text is null or c.platform = $2)
         and ($3::text is null or c.status = $3)
       order by c.updated_at desc limit $4`,
      [q.text ? escapeLike(q.text) : null, q.platform ?? null, q.status ?? null, q.limit ?? 50],
    );
    return r.rows.map(toConversation);
  }
}

export interface ConversationDbRow {
  id: string;
  platform: Platform;
  conversation_key: string;
  user_id: string;
  customer_id: string | null;
  status: ConversationRow["status"];
  assignee: string | null;
  unclear_streak: number;
  created_at: Date;
  updated_at: Date;
}

export interface MessageDbRow {
  id: string;
  conversation_id: string;
  direction: "in" | "out";
  author_kind: MessageRow["authorKind"];
  author_id: string | null;
  text: string;
  platform: Platform;
  platform_message_id: string | null;
  reply_context: Record<string, unknown> | null;
  status: string;
  in_reply_to: string | null;
  error: string | null;
  created_at: Date;
}

interface RoutingDbRow {
  message_id: string;
  routes: RoutingDecision["routes"];
  scores: RoutingDecision["scores"];
  unsure: boolean;
  engine: string;
  latency_ms: number;
  error: string | null;
  plan: RoutingDecision["plan"] | null;
}

interface WorkerRunDbRow {
  id: string;
  message_id: string;
  worker: string;
  question: string;
  status: WorkerRunRecord["status"];
  reply: string | null;
  sources: WorkerRunRecord["sources"];
  tool_calls: WorkerRunRecord["toolCalls"];
  error: string | null;
  latency_ms: number;
  engine: string;
  step: string | null;
  reassigned_from: string | null;
}

interface ModelCallDbRow {
  message_id: string;
  stage: ModelCallRecord["stage"];
  worker: string | null;
  model: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  latency_ms: number;
  outcome: ModelCallRecord["outcome"];
  error: string | null;
}

export function toConversation(r: ConversationDbRow): ConversationRow {
  return {
    id: r.id,
    platform: r.platform,
    conversationKey: r.conversation_key,
    userId: r.user_id,
    customerId: r.customer_id,
    status: r.status,
    assignee: r.assignee,
    unclearStreak: r.unclear_streak,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toMessage(r: MessageDbRow): MessageRow {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    direction: r.direction,
    authorKind: r.author_kind,
    authorId: r.author_id,
    text: r.text,
    platform: r.platform,
    platformMessageId: r.platform_message_id,
    replyContext: r.reply_context,
    status: r.status,
    inReplyTo: r.in_reply_to,
    error: r.error,
    createdAt: r.created_at,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Stores an inbound message and its conversation in one statement (one round trip less per
 * message). A message stored before under its platform message id (a redelivery) leaves
 * everything as it was, its conversation's `updated_at` too: then no row comes back. (One that
 * the statement's snapshot cannot see yet, a redelivery racing its first delivery on a server,
 * is not inserted either: `inserted_id` is null.)
 */
function storeSql(part?: StatementPart): string {
  return `with dup as (
     select 1 from messages where platform = $1 and platform_message_id = $5
   ), conv as (
     insert into conversations (platform, conversation_key, user_id)
     select $1, $2, $3 where not exists (select 1 from dup)
     on conflict (platform, conversation_key) do update set updated_at = now()
     returning *
   ), inserted as (
     insert into messages (conversation_id, direction, author_kind, author_id, text, platform,
                           platform_message_id, reply_context, status, created_at)
     select conv.id, 'in', 'user', $3, $4, $1, $5, $6, 'received', coalesce($7, clock_timestamp()) from conv
     on conflict (platform, platform_message_id) do nothing
     returning id, conversation_id, created_at
   ), stored as (
     select id as message_id, conversation_id, created_at from inserted
   )${part ? `, ${part.ctes(8)}` : ""}
   select conv.*, (select id from inserted) as inserted_id${part ? `, ${part.result} as part_result` : ""} from conv`;
}

// A part's result is selected (`part_result`, read by no one) so that its CTEs run: a CTE that
// only selects, such as the one calling graphile-worker's add_job, runs only when it is read.

/** `storeSql()`: the statement without another component's part. */
const STORE_SQL = storeSql();

type StoredRow = ConversationDbRow & { inserted_id: string | null };

function withoutInserted(row: StoredRow): ConversationDbRow {
  const { inserted_id: _, ...conversation } = row;
  return conversation;
}

function accepted(row: StoredRow, messageId: string): ReceiveResult {
  return { status: "accepted", messageId, conversation: toConversation(withoutInserted(row)) };
}
