import type pg from "pg";
import { isUuid } from "../conversations/pg-conversation-log.ts";
import { InputError } from "../errors.ts";
import type { HandoffReason, Platform, RouteName } from "../types.ts";

export type HandoffStatus = "open" | "claimed" | "resolved";
export const HANDOFF_STATUSES: readonly HandoffStatus[] = ["open", "claimed", "resolved"];

/** Where a handoff's card sits in a staff channel. */
export interface StaffCardRef {
  platform: "slack" | "discord";
  /** Slack channel id, or Discord channel id. */
  channel: string;
  /** Slack message ts (also the thread), or Discord message id (also the thread's id). */
  messageId: string;
}

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
  resolvedBy: string | null;
  resolutionNote: string | null;
  /** When staff were last told about it: opened, or re-announced after the SLA ran out. */
  announcedAt: Date | null;
  reannounceCount: number;
  cards: StaffCardRef[];
}

/** A queue entry: the handoff with where it came from and how long it has waited. */
export interface HandoffListItem extends HandoffRow {
  platform: Platform;
  userId: string;
  conversationKey: string;
  /** The customer the user's account is linked to (`identities`), if any. */
  customerName: string | null;
  /** What they asked: the text of the message that opened it (else the conversation's first), at most 300 characters. */
  preview: string;
  /** The routes of the message that opened it (empty when routing never ran). */
  routes: Array<{ route: RouteName; confidence: number }>;
  /** Until claimed (or resolved unclaimed), else until now: how long the user has waited for a person. */
  waitingSeconds: number;
}

export type HandoffEventKind =
  | "opened"
  | "claimed"
  | "agent_reply"
  | "user_message"
  | "resolved"
  | "back_to_bot"
  | "sla_reannounced"
  | "notify_failed"
  /** A lead gave it to another agent (text: the new owner). */
  | "assigned"
  /** A person decided the refund the handoff waits on (text: the refund id, and the reason given). */
  | "refund_approved"
  | "refund_rejected";

export interface HandoffEvent {
  id: string;
  handoffId: string;
  kind: HandoffEventKind;
  actor: string;
  text: string;
  at: Date;
}

export interface HandoffFilter {
  /** One state, or `active` (open and claimed). Default: every state. */
  status?: HandoffStatus | "active";
  /** Handoffs whose opening message was routed here. */
  route?: RouteName;
  platform?: Platform;
  /** Only handoffs opened at least this many minutes before `now`. */
  minAgeMinutes?: number;
  /** Only handoffs opened at most this many minutes before `now`. */
  maxAgeMinutes?: number;
  conversationId?: string;
  /** Owned by this agent (case as stored), or `null`: owned by nobody yet. */
  assignee?: string | null;
  /** One handoff (its queue entry). */
  id?: string;
  /** Default 100. */
  limit?: number;
}

/**
 * Handoff records and the conversation ownership they drive:
 * `bot` → `waiting` (open) → `human` (claimed) → `bot` (resolved).
 * Each transition is one conditional statement, so two agents racing get one winner.
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
    if (!isUuid(id)) return undefined;
    const r = await this.pool.query<HandoffDbRow>("select * from handoffs where id = $1", [id]);
    return r.rows[0] && toHandoff(r.rows[0]);
  }

  /** Like `get`, but a missing handoff is a 404 InputError. */
  async require(id: string): Promise<HandoffRow> {
    const handoff = await this.get(id);
    if (!handoff) throw new InputError("unknown_handoff", `No handoff ${id}.`, 404);
    return handoff;
  }

  async openFor(conversationId: string): Promise<HandoffRow | undefined> {
    const r = await this.pool.query<HandoffDbRow>(
      "select * from handoffs where conversation_id = $1 and status <> 'resolved'",
      [conversationId],
    );
    return r.rows[0] && toHandoff(r.rows[0]);
  }

  /**
   * `agent` takes the handoff: the conversation becomes `human`, owned by them. One conditional
   * UPDATE (with the conversation's in the same statement), so of two agents claiming at once
   * exactly one wins; the other gets a 409 naming the owner. Claiming again as the owner is a no-op.
   */
  async claim(id: string, agent: string): Promise<{ handoff: HandoffRow; changed: boolean }> {
    if (!isUuid(id)) throw new InputError("unknown_handoff", `No handoff ${id}.`, 404);
    const r = await this.pool.query<HandoffDbRow>(
      `with claimed as (
         update handoffs set status = 'claimed', assignee = $2, claimed_at = now()
         where id = $1 and status = 'open'
         returning *
       ), owner as (
         update conversations c set status = 'human', assignee = $2, updated_at = now()
         from claimed where c.id = claimed.conversation_id
       )
       select * from claimed`,
      [id, agent],
    );
    if (r.rows[0]) return { handoff: toHandoff(r.rows[0]), changed: true };
    const current = await this.require(id);
    if (current.status === "claimed" && current.assignee === agent) return { handoff: current, changed: false };
    if (current.status === "claimed") {
      throw new InputError("already_claimed", `This handoff is already claimed by ${current.assignee ?? "someone else"}.`, 409);
    }
    throw new InputError("already_resolved", "This handoff is already resolved; the bot owns the conversation again.", 409);
  }

  /**
   * Closes the handoff and gives the conversation back to the bot. Idempotent: resolving a
   * resolved handoff changes nothing (`changed: false`).
   */
  async resolve(id: string, by: string | null, note: string | null, options: { onlyOwner?: string } = {}): Promise<{ handoff: HandoffRow; changed: boolean }> {
    if (!isUuid(id)) throw new InputError("unknown_handoff", `No handoff ${id}.`, 404);
    // onlyOwner: a claimed handoff closes only for its owner, checked in the same statement (a
    // reassignment between a check and the update cannot slip through).
    const r = await this.pool.query<HandoffDbRow>(
      `with done as (
         update handoffs set status = 'resolved', resolved_at = now(), resolved_by = $2, resolution_note = $3
         where id = $1 and status <> 'resolved' and ($4::text is null or status = 'open' or assignee = $4)
         returning *
       ), bot as (
         update conversations c set status = 'bot', assignee = null, unclear_streak = 0, updated_at = now()
         from done where c.id = done.conversation_id
       )
       select * from done`,
      [id, by, note, options.onlyOwner ?? null],
    );
    if (r.rows[0]) return { handoff: toHandoff(r.rows[0]), changed: true };
    const current = await this.require(id);
    if (current.status === "claimed" && options.onlyOwner !== undefined) {
      throw new InputError("not_owner", `${current.assignee ?? "Someone else"} owns this handoff; only they or a lead can close it.`, 403);
    }
    return { handoff: current, changed: false };
  }

  /**
   * Gives an unresolved handoff to `agent` (a lead's reassignment): it becomes claimed by them,
   * and the conversation theirs. Returns who owned it before.
   */
  async assign(id: string, agent: string): Promise<{ handoff: HandoffRow; previous: string | null; changed: boolean }> {
    const before = await this.require(id);
    if (before.status === "resolved") throw new InputError("already_resolved", "This handoff is already resolved; the bot owns the conversation again.", 409);
    if (before.status === "claimed" && before.assignee === agent) return { handoff: before, previous: before.assignee, changed: false };
    const r = await this.pool.query<HandoffDbRow>(
      `with moved as (
         update handoffs set status = 'claimed', assignee = $2, claimed_at = coalesce(claimed_at, now())
         where id = $1 and status <> 'resolved'
         returning *
       ), owner as (
         update conversations c set status = 'human', assignee = $2, updated_at = now()
         from moved where c.id = moved.conversation_id
       )
       select * from moved`,
      [id, agent],
    );
    if (!r.rows[0]) throw new InputError("already_resolved", "This handoff is already resolved; the bot owns the conversation again.", 409);
    return { handoff: toHandoff(r.rows[0]), previous: before.assignee, changed: true };
  }

  /** Records a transition; `at` defaults to now. */
  async addEvent(handoffId: string, kind: HandoffEventKind, actor: string, text = "", at?: Date): Promise<HandoffEvent> {
    const r = await this.pool.query<HandoffEventDbRow>(
      "insert into handoff_events (handoff_id, kind, actor, text, at) values ($1, $2, $3, $4, coalesce($5::timestamptz, now())) returning *",
      [handoffId, kind, actor, text, at ?? null],
    );
    return toEvent(r.rows[0]!);
  }

  async events(handoffId: string): Promise<HandoffEvent[]> {
    if (!isUuid(handoffId)) return [];
    const r = await this.pool.query<HandoffEventDbRow>(
      "select * from handoff_events where handoff_id = $1 order by at, id",
      [handoffId],
    );
    return r.rows.map(toEvent);
  }

  /** Remembers where the handoff's card was posted in a staff channel. */
  async setCard(id: string, card: StaffCardRef): Promise<void> {
    const sql =
      card.platform === "slack"
        ? "update handoffs set slack_card_channel = $2, slack_card_ts = $3 where id = $1"
        : "update handoffs set discord_card_channel = $2, discord_card_message = $3 where id = $1";
    await this.pool.query(sql, [id, card.channel, card.messageId]);
  }

  /** The handoff whose card (or card thread) this is. */
  async findByCard(platform: "slack" | "discord", channel: string, messageId: string): Promise<HandoffRow | undefined> {
    const sql =
      platform === "slack"
        ? "select * from handoffs where slack_card_channel = $1 and slack_card_ts = $2"
        : "select * from handoffs where discord_card_message = $2 and (discord_card_channel = $1 or $1 = '')";
    const r = await this.pool.query<HandoffDbRow>(sql, [channel, messageId]);
    return r.rows[0] && toHandoff(r.rows[0]);
  }

  /** Staff were told about the handoff at `at` (its card was posted). */
  async markAnnounced(id: string, at: Date): Promise<void> {
    await this.pool.query("update handoffs set announced_at = $2 where id = $1", [id, at]);
  }

  /**
   * Takes the open (unclaimed) handoffs staff were last told about at or before `cutoff`, marking
   * them announced at `now`, in one statement: with several processes checking the SLA, each
   * overdue handoff is re-announced by exactly one of them.
   */
  async takeOverdue(cutoff: Date, now: Date): Promise<HandoffRow[]> {
    const r = await this.pool.query<HandoffDbRow>(
      `update handoffs set announced_at = $2, reannounce_count = reannounce_count + 1
       where id in (
         select id from handoffs where status = 'open' and coalesce(announced_at, created_at) <= $1
         order by created_at limit 100
       ) and status = 'open' and coalesce(announced_at, created_at) <= $1
       returning *`,
      [cutoff, now],
    );
    return r.rows.map(toHandoff).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** The queue, oldest first, with platform, user, routes and waiting time as of `now`. */
  async list(filter: HandoffFilter = {}, now: Date = new Date()): Promise<HandoffListItem[]> {
    if ((filter.id !== undefined && !isUuid(filter.id)) || (filter.conversationId !== undefined && !isUuid(filter.conversationId))) return [];
    const status = filter.status === "active" ? null : (filter.status ?? null);
    const r = await this.pool.query<HandoffDbRow & ListExtraDbRow>(
      `select h.*, c.platform, c.user_id, c.conversation_key,
              cu.name as customer_name, left(coalesce(m.text, first_in.text, ''), 300) as preview,
              coalesce(rd.routes, '[]'::jsonb) as routes,
              extract(epoch from (coalesce(h.claimed_at, h.resolved_at, $7::timestamptz) - h.created_at)) as waiting_seconds
       from handoffs h
       join conversations c on c.id = h.conversation_id
       -- The linked customer: the conversation's, else its user's identity.
       left join identities i on i.platform = c.platform and i.platform_user_id = c.user_id
       left join customers cu on cu.id = coalesce(c.customer_id, i.customer_id)
       -- What they asked: the message that opened it, else the conversation's first one.
       left join messages m on m.id = h.message_id and m.direction = 'in'
       left join lateral (
         select text from messages fm where fm.conversation_id = h.conversation_id and fm.direction = 'in' order by fm.created_at limit 1
       ) first_in on true
       left join lateral (
         select r.routes from routing_decisions r where r.message_id = h.message_id order by r.created_at desc limit 1
       ) rd on true
       where ($1::text is null or h.status = $1)
         and ($2::boolean is false or h.status <> 'resolved')
         and ($3::text is null or c.platform = $3)
         and ($4::text is null or coalesce(rd.routes, '[]'::jsonb) @> jsonb_build_array(jsonb_build_object('route', $4::text)))
         and ($5::double precision is null or h.created_at <= $7::timestamptz - make_interval(secs => $5 * 60))
         and ($6::double precision is null or h.created_at >= $7::timestamptz - make_interval(secs => $6 * 60))
         and ($8::uuid is null or h.conversation_id = $8)
         and ($10::uuid is null or h.id = $10)
         and ($11::boolean is false or ($12::text is null and h.assignee is null) or lower(h.assignee) = lower($12::text))
       order by h.created_at, h.id
       limit $9`,
      [
        status,
        filter.status === "active",
        filter.platform ?? null,
        filter.route ?? null,
        filter.minAgeMinutes ?? null,
        filter.maxAgeMinutes ?? null,
        now,
        filter.conversationId ?? null,
        filter.limit ?? 100,
        filter.id ?? null,
        filter.assignee !== undefined,
        filter.assignee ?? null,
      ],
    );
    return r.rows.map((row) => ({
      ...toHandoff(row),
      platform: row.platform,
      userId: row.user_id,
      conversationKey: row.conversation_key,
      customerName: row.customer_name ?? null,
      preview: row.preview ?? "",
      routes: (row.routes ?? []).map((x) => ({ route: x.route, confidence: x.confidence })),
      waitingSeconds: Math.max(0, Math.round(Number(row.waiting_seconds))),
    }));
  }

  /** Open handoffs opened before this one: the user's place in the queue (0 = next). */
  async queuePosition(id: string): Promise<number> {
    const r = await this.pool.query<{ n: string }>(
      `select count(*) as n from handoffs o, handoffs h
       where h.id = $1 and o.status = 'open' and o.created_at < h.created_at`,
      [id],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * The median time from opening to claim over the last `sampleSize` claimed handoffs (within
   * `withinDays`), in seconds; undefined with fewer than `minSamples` of them.
   */
  async typicalClaimSeconds(options: { sampleSize?: number; minSamples?: number; withinDays?: number } = {}): Promise<number | undefined> {
    const r = await this.pool.query<{ s: number }>(
      `select extract(epoch from (claimed_at - created_at))::double precision as s from handoffs
       where claimed_at is not null and created_at > now() - make_interval(days => $1)
       order by claimed_at desc limit $2`,
      [options.withinDays ?? 30, options.sampleSize ?? 20],
    );
    if (r.rows.length < (options.minSamples ?? 3)) return undefined;
    const sorted = r.rows.map((x) => Number(x.s)).sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
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
  // Added by migration 002; absent on a database that has not run it yet.
  resolved_by?: string | null;
  resolution_note?: string | null;
  announced_at?: Date | null;
  reannounce_count?: number;
  slack_card_channel?: string | null;
  slack_card_ts?: string | null;
  discord_card_channel?: string | null;
  discord_card_message?: string | null;
}

interface ListExtraDbRow {
  platform: Platform;
  user_id: string;
  conversation_key: string;
  customer_name: string | null;
  preview: string | null;
  routes: Array<{ route: RouteName; confidence: number }> | null;
  waiting_seconds: string | number;
}

interface HandoffEventDbRow {
  id: string;
  handoff_id: string;
  kind: HandoffEventKind;
  actor: string;
  text: string;
  at: Date;
}

function toHandoff(r: HandoffDbRow): HandoffRow {
  const cards: StaffCardRef[] = [];
  if (r.slack_card_channel && r.slack_card_ts) cards.push({ platform: "slack", channel: r.slack_card_channel, messageId: r.slack_card_ts });
  if (r.discord_card_channel && r.discord_card_message) {
    cards.push({ platform: "discord", channel: r.discord_card_channel, messageId: r.discord_card_message });
  }
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
    resolvedBy: r.resolved_by ?? null,
    resolutionNote: r.resolution_note ?? null,
    announcedAt: r.announced_at ?? null,
    reannounceCount: r.reannounce_count ?? 0,
    cards,
  };
}

function toEvent(r: HandoffEventDbRow): HandoffEvent {
  return { id: r.id, handoffId: r.handoff_id, kind: r.kind, actor: r.actor, text: r.text, at: r.at };
}
