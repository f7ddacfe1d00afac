import type pg from "pg";
import type { HandoffReason } from "../types.ts";

export type HandoffStatus = "open" | "claimed" | "resolved";

export interface HandoffRow {
  id: string;
  conversationId: string;
  messageId: string | null;
  reason: HandoffReason;
  detail: string;
  status: HandoffStatus;
  assignee: string | null;
  createdAt: Date;
  claimedAt: Date | null;
  resolvedAt: Date | null;
}

/**
 * Handoff records and the conversation ownership they drive:
 * `bot` → `waiting` (open) → `human` (claimed) → `bot` (resolved).
 * Each transition is one conditional UPDATE, so two agents racing get one winner.
 */
export class HandoffStore {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Opens a handoff for the conversation, or returns the one already open (at most one
   * unresolved handoff per conversation). Marks the conversation `waiting`.
   */
  async open(conversationId: string, messageId: string | null, reason: HandoffReason, detail: string): Promise<{ handoff: HandoffRow; created: boolean }> {
    const client = await this.pool.connect();
    try {
      await client.query("begin");
      const inserted = await client.query<HandoffDbRow>(
        `insert into handoffs (conversation_id, message_id, reason, detail)
         values ($1, $2, $3, $4)
         on conflict (conversation_id) where status <> 'resolved' do nothing
         returning *`,
        [conversationId, messageId, reason, detail],
      );
      let row = inserted.rows[0];
      const created = row !== undefined;
      if (!row) {
        row = (
          await client.query<HandoffDbRow>(
            "select * from handoffs where conversation_id = $1 and status <> 'resolved'",
            [conversationId],
          )
        ).rows[0]!;
      } else {
        await client.query(
          "update conversations set status = 'waiting', assignee = null, unclear_streak = 0, updated_at = now() where id = $1",
          [conversationId],
        );
      }
      await client.query("commit");
      return { handoff: toHandoff(row), created };
    } catch (err) {
      await client.query("rollback").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async get(id: string): Promise<HandoffRow | undefined> {
    const r = await this.pool.query<HandoffDbRow>("select * from handoffs where id::text = $1", [id]);
    return r.rows[0] && toHandoff(r.rows[0]);
  }

  async openFor(conversationId: string): Promise<HandoffRow | undefined> {
    const r = await this.pool.query<HandoffDbRow>(
      "select * from handoffs where conversation_id = $1 and status <> 'resolved'",
      [conversationId],
    );
    return r.rows[0] && toHandoff(r.rows[0]);
  }

  async list(filter: { status?: HandoffStatus; limit?: number } = {}): Promise<HandoffRow[]> {
    const r = await this.pool.query<HandoffDbRow>(
      `select * from handoffs where ($1::text is null or status = $1) order by created_at limit $2`,
      [filter.status ?? null, filter.limit ?? 100],
    );
    return r.rows.map(toHandoff);
  }
}

interface HandoffDbRow {
  id: string;
  conversation_id: string;
  message_id: string | null;
  reason: HandoffReason;
  detail: string;
  status: HandoffStatus;
  assignee: string | null;
  created_at: Date;
  claimed_at: Date | null;
  resolved_at: Date | null;
}

function toHandoff(r: HandoffDbRow): HandoffRow {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    messageId: r.message_id,
    reason: r.reason,
    detail: r.detail,
    status: r.status,
    assignee: r.assignee,
    createdAt: r.created_at,
    claimedAt: r.claimed_at,
    resolvedAt: r.resolved_at,
  };
}
