import type pg from "pg";
import type { OutboundPayload } from "../conversations/conversation-log.ts";
import { prepared, type StatementPart } from "../db/prepared.ts";
import type { OutboundKind, Platform } from "../types.ts";
import type { OutboundAuthor, OutboundMessage } from "./outbox.ts";

/** An outbound message as the outbox keeps it (a row of `messages`, direction 'out'). */
export interface OutboxRow {
  id: string;
  /** Position in the database's order of messages (a bigint, as a string). */
  seq: string;
  conversationId: string;
  platform: Platform;
  inReplyTo: string | null;
  author: OutboundAuthor;
  text: string;
  payload: OutboundPayload | null;
  idempotencyKey: string;
  kind: OutboundKind;
  /** The key of the message this one revises (edits in place), if any. */
  revises: string | null;
  status: "pending" | "sending" | "retry" | "no_adapter" | "sent" | "failed";
  partsSent: number;
  /** Delivery attempts so far, this one included once claimed. */
  attempts: number;
  error: string | null;
  createdAt: Date;
}

/** A claimed message with where it goes now. */
export interface ClaimedRow extends OutboxRow {
  target: { conversationKey: string; userId: string; replyContext: Record<string, unknown> | undefined };
  /**
   * When it revises a message: where that message's parts are on the platform, by index (null:
   * not known). Undefined when it revises nothing, or the revised message was never delivered
   * (given up): then it is posted as a message of its own.
   */
  revisesRefs?: Array<string | null>;
}

const UNSENT = "('pending', 'sending', 'retry', 'no_adapter')";

/** The sent mark, with the last parts' record ($4: parts sent, $5/$6: the index and ref of the last one; null: none). */
const SENT_SET = `status = 'sent', error = null, claimed_until = null, processed_at = now(),
  parts_sent = greatest(parts_sent, coalesce($4::int, 0)),
  platform_refs = case when $5::text is null then platform_refs else coalesce(platform_refs, '{}'::jsonb) || jsonb_build_object($5::text, $6::text) end`;

/** A conversation's undelivered messages on some platforms that may go now (the parameters: their numbers). */
function nextWaitingSql(conversation: string, platforms: string): string {
  return `select id, seq from messages
  where conversation_id = ${conversation} and direction = 'out' and platform = any(${platforms})
    and (status in ('pending', 'no_adapter') or (status = 'retry' and next_attempt_at <= clock_timestamp()))`;
}

/** The outbox's SQL. Every method is one statement (or one transaction), safe across processes. */
export class OutboxStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly timing: { claimMs: number; graceMs: number; named?: boolean },
  ) {}

  /**
   * Records the message, or finds the one recorded under its key before: one statement, so that
   * it can share a pipelined transaction's round trip (see `pipelinedTransaction`).
   */
  async record(m: OutboundMessage, tx: Pick<pg.ClientBase, "query"> = this.pool): Promise<{ id: string; created: boolean }> {
    // On a conflict the insert returns nothing, and the row recorded before is read: a committed
    // row, which the statement's snapshot sees (the insert's own row it could not).
    const r = await tx.query<{ id: string; created: boolean }>(
      `with inserted as (
         insert into messages (conversation_id, direction, author_kind, author_id, text, platform, status,
                               in_reply_to, idempotency_key, payload, kind, revises, created_at)
         select $1, 'out', $2, $3, $4, c.platform, 'pending', $5, $6, $7, $8, $9, clock_timestamp()
         from conversations c where c.id = $1
         on conflict (idempotency_key) do nothing
         returning id
       )
       select id, true as created from inserted
       union all
       select id, false as created from messages where idempotency_key = $6 and not exists (select 1 from inserted)`,
      insertValues(m),
    );
    const row = r.rows[0];
    if (!row) throw new Error(`conversation ${m.conversationId} does not exist`);
    return { id: row.id, created: row.created };
  }

  /**
   * `record` and `claim` in one statement, with `alongside` (other components' writes that commit
   * with the message: the turn's log and memory) and no transaction around it: the message is
   * inserted claimed when it is its turn (no message of its conversation is undelivered; every
   * one the statement sees is earlier than the one it inserts), else pending. `claimed` is the
   * claimed row, with where it goes; `created: false` (the key was recorded before): nothing is
   * claimed, the caller delivers it as after `record`. `results`: each part's `result`.
   */
  async recordClaimed(m: OutboundMessage, alongside: readonly StatementPart[]): Promise<{ id: string; created: boolean; claimed?: ClaimedRow; results: unknown[] }> {
    const values: unknown[] = [...insertValues(m), this.timing.claimMs];
    const ctes: string[] = [];
    for (const part of alongside) {
      ctes.push(part.ctes(values.length + 1));
      values.push(...part.values);
    }
    const r = await this.pool.query<DbRow & { target_key: string | null; target_user: string; target_context: Record<string, unknown> | null; revised_status: string | null; revised_refs: Record<string, string> | null; revised_parts: number | null } & Record<string, unknown>>(
      prepared(
        `with ${ctes.map((c) => `${c}, `).join("")}ours as (
           select not exists (
             select 1 from messages e where e.conversation_id = $1 and e.direction = 'out' and e.status in ${UNSENT}) as now
         ), inserted as (
           insert into messages (conversation_id, direction, author_kind, author_id, text, platform, status,
                                 in_reply_to, idempotency_key, payload, kind, revises, created_at, attempts, claimed_until)
           select $1, 'out', $2, $3, $4, c.platform, case when ours.now then 'sending' else 'pending' end, $5, $6, $7, $8, $9, clock_timestamp(),
                  case when ours.now then 1 else 0 end, case when ours.now then clock_timestamp() + $10 * interval '1 millisecond' end
           from conversations c, ours where c.id = $1
           on conflict (idempotency_key) do nothing
           returning *
         )
         select i.*, c.conversation_key as target_key, c.user_id as target_user,
                (select x.reply_context from messages x where x.id = i.in_reply_to) as target_context,
                p.status as revised_status, p.platform_refs as revised_refs, p.parts_sent as revised_parts
                ${alongside.map((part, n) => `, ${part.result} as part_${n}`).join("")}
         from (select 1) as one
         left join inserted i on true
         left join conversations c on c.id = i.conversation_id
         left join lateral (select status, platform_refs, parts_sent from messages r where r.idempotency_key = i.revises) p on true`,
        values,
        this.timing.named ?? false,
      ),
    );
    const row = r.rows[0];
    const results = alongside.map((_, n) => row?.[`part_${n}`]);
    if (!row?.id) {
      const existing = await this.pool.query<{ id: string }>("select id from messages where idempotency_key = $1", [m.idempotencyKey]);
      if (!existing.rows[0]) throw new Error(`conversation ${m.conversationId} does not exist`);
      return { id: existing.rows[0].id, created: false, results };
    }
    if (row.status !== "sending") return { id: row.id, created: true, results };
    const target = { conversationKey: row.target_key ?? "", userId: row.target_user, replyContext: row.target_context ?? undefined };
    const revisesRefs = row.revised_status === "sent" ? refsOf(row.revised_refs, row.revised_parts ?? 0) : undefined;
    return { id: row.id, created: true, claimed: { ...toRow(row), target, ...(revisesRefs ? { revisesRefs } : {}) }, results };
  }

  async get(id: string): Promise<OutboxRow | undefined> {
    const r = await this.pool.query<DbRow>("select * from messages where id = $1 and direction = 'out'", [id]);
    return r.rows[0] && toRow(r.rows[0]);
  }

  async findByKey(key: string): Promise<OutboxRow | undefined> {
    const r = await this.pool.query<DbRow>("select * from messages where idempotency_key = $1", [key]);
    return r.rows[0] && toRow(r.rows[0]);
  }

  /**
   * Takes the message for delivery: it is not sent, nobody holds it (or their claim ran out: they
   * died), and every earlier message of its conversation is delivered or given up. Returns it with
   * where it goes now: the conversation's key and user, and the reply context of the message it
   * answers (read in the same statement; an earlier message's move is committed by then), and,
   * when it revises a message, where that one's parts are (it was delivered first: it is earlier).
   * On `tx` (the transaction that records the message), the claim commits with the record.
   */
  async claim(id: string | { key: string }, tx: Pick<pg.ClientBase, "query"> = this.pool): Promise<ClaimedRow | undefined> {
    // By its idempotency key: the claim can be issued with the statement that records the message
    // (the same transaction, no wait for its id).
    const by = typeof id === "string" ? "id" : "idempotency_key";
    const r = await tx.query<DbRow & { target_key: string; target_user: string; target_context: Record<string, unknown> | null; revised_status: string | null; revised_refs: Record<string, string> | null; revised_parts: number | null }>(
      `update messages m set status = 'sending', attempts = m.attempts + 1,
              claimed_until = clock_timestamp() + $2 * interval '1 millisecond'
       from conversations c
       left join lateral (select status, platform_refs, parts_sent from messages r where r.idempotency_key = (select revises from messages x where x.${by} = $1)) p on true
       where m.${by} = $1 and m.direction = 'out' and c.id = m.conversation_id
         and (m.status in ('pending', 'retry', 'no_adapter') or (m.status = 'sending' and m.claimed_until < clock_timestamp()))
         and not exists (
           select 1 from messages e
           where e.conversation_id = m.conversation_id and e.direction = 'out' and e.seq < m.seq and e.status in ${UNSENT})
       returning m.*, c.conversation_key as target_key, c.user_id as target_user,
                 (select i.reply_context from messages i where i.id = m.in_reply_to) as target_context,
                 p.status as revised_status, p.platform_refs as revised_refs, p.parts_sent as revised_parts`,
      [typeof id === "string" ? id : id.key, this.timing.claimMs],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const target = { conversationKey: row.target_key, userId: row.target_user, replyContext: row.target_context ?? undefined };
    const revisesRefs = row.revised_status === "sent" ? refsOf(row.revised_refs, row.revised_parts ?? 0) : undefined;
    return { ...toRow(row), target, ...(revisesRefs ? { revisesRefs } : {}) };
  }

  /** Extends a live delivery's claim. */
  async renewClaim(id: string): Promise<void> {
    await this.pool.query("update messages set claimed_until = clock_timestamp() + $2 * interval '1 millisecond' where id = $1 and status = 'sending'", [id, this.timing.claimMs]);
  }

  /** `parts` of the message are on the platform; `placed`: where part `index` is (kept for revising it). */
  async setPartsSent(id: string, parts: number, placed?: { index: number; ref: string }): Promise<void> {
    if (!placed) {
      await this.pool.query("update messages set parts_sent = greatest(parts_sent, $2) where id = $1", [id, parts]);
      return;
    }
    await this.pool.query(
      `update messages set parts_sent = greatest(parts_sent, $2),
              platform_refs = coalesce(platform_refs, '{}'::jsonb) || jsonb_build_object($3::text, $4::text)
       where id = $1`,
      [id, parts, String(placed.index), placed.ref],
    );
  }

  /**
   * Sent; when the delivery moved the conversation (a thread was started for it), later messages
   * go there. Returns the conversation's next waiting messages on `platforms`, as `nextWaiting`
   * would (asked in the same statement: one round trip less per delivery). `parts`: the last
   * parts the platform took, recorded in the same statement (as `setPartsSent` would).
   * `withSent`: a part of another component's to commit with the sent mark (the turn's end);
   * its result comes back with the next messages.
   */
  async markSent(
    row: OutboxRow,
    moveTo?: { conversationKey: string; replyContext: Record<string, unknown> },
    platforms: Platform[] = [],
    parts?: { parts: number; placed?: { index: number; ref: string } },
    withSent?: StatementPart,
  ): Promise<{ next: string[]; withSent?: { result: unknown } }> {
    const partsValues = [parts?.parts ?? null, parts?.placed ? String(parts.placed.index) : null, parts?.placed?.ref ?? null];
    if (!moveTo && withSent) {
      const r = await this.pool.query<{ next: string[]; with_sent: unknown }>(prepared(
        `with sent as (
           update messages set ${SENT_SET} where id = $1
         ), ${withSent.ctes(7)}
         select array(select n.id::text from (${nextWaitingSql("$2", "$3")} and id <> $1 order by seq limit 20) n order by n.seq) as next,
                ${withSent.result} as with_sent`,
        [row.id, row.conversationId, platforms, ...partsValues, ...withSent.values],
        this.timing.named ?? false,
      ));
      return { next: r.rows[0]?.next ?? [], withSent: { result: r.rows[0]?.with_sent } };
    }
    if (!moveTo) {
      const r = await this.pool.query<{ id: string }>(
        `with sent as (
           update messages set ${SENT_SET} where id = $1
         )
         ${nextWaitingSql("$2", "$3")} and id <> $1
         order by seq limit 20`,
        [row.id, row.conversationId, platforms, ...partsValues],
      );
      return { next: r.rows.map((x) => x.id) };
    }
    const client = await this.pool.connect();
    try {
      await client.query("begin");
      await client.query(`update messages set ${SENT_SET.replace(/\$(\d)/g, (_, n: string) => `$${Number(n) - 2}`)} where id = $1`, [row.id, ...partsValues]);
      await client.query("update conversations set conversation_key = $2, updated_at = now() where id = $1", [row.conversationId, moveTo.conversationKey]);
      if (row.inReplyTo) await client.query("update messages set reply_context = $2 where id = $1", [row.inReplyTo, JSON.stringify(moveTo.replyContext)]);
      const next = await client.query<{ id: string }>(`${nextWaitingSql("$1", "$2")} order by seq limit 20`, [row.conversationId, platforms]);
      const also = withSent ? await client.query<{ with_sent: unknown }>(`with ${withSent.ctes(1)} select ${withSent.result} as with_sent`, [...withSent.values]) : undefined;
      await client.query("commit");
      return { next: next.rows.map((x) => x.id), ...(also ? { withSent: { result: also.rows[0]?.with_sent } } : {}) };
    } catch (err) {
      await client.query("rollback").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async markRetry(id: string, error: string, waitMs: number): Promise<void> {
    await this.pool.query(
      `update messages set status = 'retry', error = $2, claimed_until = null,
              next_attempt_at = clock_timestamp() + $3 * interval '1 millisecond'
       where id = $1 and status = 'sending'`,
      [id, error, waitMs],
    );
  }

  async markNoAdapter(id: string, error: string): Promise<void> {
    // Not an attempt at the platform: it does not use up the message's attempts.
    await this.pool.query(
      "update messages set status = 'no_adapter', error = $2, claimed_until = null, attempts = attempts - 1 where id = $1 and status = 'sending'",
      [id, error],
    );
  }

  /** A message waiting behind an earlier one, that this process cannot deliver; false when someone took it meanwhile. */
  async markWaitingNoAdapter(id: string, error: string): Promise<boolean> {
    const r = await this.pool.query("update messages set status = 'no_adapter', error = $2 where id = $1 and status = 'pending'", [id, error]);
    return (r.rowCount ?? 0) > 0;
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.pool.query("update messages set status = 'failed', error = $2, claimed_until = null, processed_at = now() where id = $1", [id, error]);
  }

  async abandon(id: string, reason: string): Promise<void> {
    await this.pool.query(`update messages set status = 'failed', error = $2, claimed_until = null, processed_at = now() where id = $1 and status in ${UNSENT}`, [id, reason]);
  }

  /** The conversation's undelivered messages this process may deliver now, oldest first. */
  async nextWaiting(conversationId: string, platforms: Platform[]): Promise<string[]> {
    if (platforms.length === 0) return [];
    const r = await this.pool.query<{ id: string }>(`${nextWaitingSql("$1", "$2")} order by seq limit 20`, [conversationId, platforms]);
    return r.rows.map((row) => row.id);
  }

  /**
   * Messages due for delivery on these platforms: waiting for an adapter, due for a retry, left
   * pending by a recorder that did not deliver them, or held by a claim that ran out.
   */
  async due(platforms: Platform[], limit: number): Promise<string[]> {
    const r = await this.pool.query<{ id: string }>(
      `select id from messages
       where direction = 'out' and platform = any($1) and status in ${UNSENT}
         and (status = 'no_adapter'
              or (status = 'retry' and next_attempt_at <= clock_timestamp())
              or (status = 'pending' and created_at < clock_timestamp() - $3 * interval '1 millisecond')
              or (status = 'sending' and claimed_until < clock_timestamp()))
       order by seq limit $2`,
      [platforms, limit, this.timing.graceMs],
    );
    return r.rows.map((row) => row.id);
  }

  /**
   * A conversation's outbound messages after position `seq`, oldest first, as its user sees
   * them: every message but the given-up ones and Slack question posts (the events stream).
   */
  async visibleAfter(conversationId: string, seq: string, limit: number): Promise<OutboxRow[]> {
    const r = await this.pool.query<DbRow>(
      `select * from messages
       where conversation_id = $1 and direction = 'out' and seq > $2 and status <> 'failed' and kind = 'message'
       order by seq limit $3`,
      [conversationId, seq, limit],
    );
    return r.rows.map(toRow);
  }

  /** Undelivered messages by platform and status, for `/metrics`. */
  async undelivered(): Promise<Array<{ platform: string; status: string; count: number }>> {
    const r = await this.pool.query<{ platform: string; status: string; count: string }>(
      `select platform, status, count(*) as count from messages
       where direction = 'out' and status in ${UNSENT} group by platform, status`,
    );
    return r.rows.map((row) => ({ platform: row.platform, status: row.status, count: Number(row.count) }));
  }
}

interface DbRow {
  id: string;
  seq: string;
  conversation_id: string;
  platform: Platform;
  in_reply_to: string | null;
  author_kind: "bot" | "agent" | "system" | "user";
  author_id: string | null;
  text: string;
  payload: OutboundPayload | null;
  idempotency_key: string;
  kind: OutboundKind;
  revises: string | null;
  status: OutboxRow["status"];
  parts_sent: number;
  attempts: number;
  error: string | null;
  created_at: Date;
}

/** The parts' platform refs by index, from the stored `{"0": ref, …}` (null where none was reported). */
function refsOf(stored: Record<string, string> | null, partsSent: number): Array<string | null> {
  const refs: Array<string | null> = [];
  const count = Math.max(partsSent, ...Object.keys(stored ?? {}).map((k) => Number(k) + 1));
  for (let i = 0; i < count; i++) refs.push(stored?.[String(i)] ?? null);
  return refs;
}

function toRow(r: DbRow): OutboxRow {
  return {
    id: r.id,
    seq: String(r.seq),
    conversationId: r.conversation_id,
    platform: r.platform,
    inReplyTo: r.in_reply_to,
    author: r.author_kind === "agent" ? { kind: "agent", name: r.author_id ?? "Support" } : r.author_kind === "system" ? { kind: "system" } : { kind: "bot" },
    text: r.text,
    payload: r.payload,
    idempotencyKey: r.idempotency_key,
    kind: r.kind,
    revises: r.revises,
    status: r.status,
    partsSent: r.parts_sent,
    attempts: r.attempts,
    error: r.error,
    createdAt: r.created_at,
  };
}

/** A message's values for an insert into `messages`, as `record` and `recordClaimed` number them ($1–$9). */
function insertValues(m: OutboundMessage): unknown[] {
  const payload: OutboundPayload | null = m.sections?.length || m.footer ? { sections: m.sections ?? [], ...(m.footer ? { footer: m.footer } : {}) } : null;
  return [m.conversationId, m.author.kind, m.author.kind === "agent" ? m.author.name : null, m.text, m.inReplyTo, m.idempotencyKey, payload && JSON.stringify(payload), m.kind ?? "message", m.revises ?? null];
}
