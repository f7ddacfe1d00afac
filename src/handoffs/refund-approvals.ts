import type pg from "pg";
import { money } from "../../agents/workers/billing/billing-repo.ts";
import { REFUND_PROCESSING } from "../../agents/workers/billing/refund-policy.ts";
import type { ConversationLog } from "../conversations/conversation-log.ts";
import { InputError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { DeliveryStatus, Outbox } from "../outbox/outbox.ts";
import type { Staff } from "../staff/agent-directory.ts";
import type { HandoffStore } from "./handoff-store.ts";

export type RefundStatus = "requested" | "awaiting_approval" | "approved" | "processing" | "completed" | "rejected";
export const REFUND_STATUSES: readonly RefundStatus[] = ["requested", "awaiting_approval", "approved", "processing", "completed", "rejected"];

/** A refund as staff see it: the customer, the amount, where it was asked for, who decided. */
export interface RefundItem {
  id: string;
  customerId: string;
  customerName: string;
  paymentId: string;
  amountCents: number;
  currency: string;
  status: RefundStatus;
  reason: string;
  requestedAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
  decisionReason: string | null;
  /** The handoff that waits on it (the `needs_approval` one the billing worker opened), if any. */
  handoffId: string | null;
  conversationId: string | null;
}

export interface RefundDecision {
  refund: RefundItem;
  /** How telling the user went (null: no conversation to tell, e.g. a refund entered by hand). */
  delivery: DeliveryStatus | null;
  messageId: string | null;
}

/**
 * Where refunds are read and decided: the billing tables (`refunds`, `customers`, `payments`) and
 * the handoffs that wait on them. With BILLING_DATABASE_URL the two are different databases, so
 * nothing here joins across them.
 */
export interface RefundTables {
  /** The billing tables' database: `DATABASE_URL`'s, or BILLING_DATABASE_URL's. */
  billing: pg.Pool;
  /** The main database (handoffs). */
  main: pg.Pool;
}

export interface RefundApprovalsOptions {
  tables: RefundTables;
  store: Pick<HandoffStore, "addEvent">;
  log: Pick<ConversationLog, "latestInbound">;
  outbox: Pick<Outbox, "send">;
  logger: Logger;
  /** The staff channels (the handoff service): the handoff's cards change once its refund is decided. Unset: none. */
  staff?: { refundDecided(handoffId: string, text: string): void } | undefined;
}

/** The refund a handoff waits on, for its staff cards. */
export interface RefundLookup {
  forHandoff(handoffId: string): Promise<RefundItem | undefined>;
}

const SELECT_REFUNDS = `
  select r.id, r.customer_id as "customerId", c.name as "customerName", r.payment_id as "paymentId",
         r.amount_cents as "amountCents", p.currency, r.status, r.reason, r.requested_at as "requestedAt",
         r.decided_by as "decidedBy", r.decided_at as "decidedAt", r.decision_reason as "decisionReason"
  from refunds r
  join customers c on c.id = r.customer_id
  join payments p on p.id = r.payment_id`;

/**
 * Refunds as staff see them, each with the handoff that waits on it: the billing worker names the
 * refund in the detail of the `needs_approval` handoff it opens for it (the newest one counts).
 */
async function readRefunds(
  tables: RefundTables,
  filter: { status?: RefundStatus | undefined; handoffId?: string | undefined; id?: string | undefined },
  order: "oldest" | "newest" = "oldest",
): Promise<RefundItem[]> {
  let detail: string | null = null;
  if (filter.handoffId) {
    const h = await tables.main.query<{ detail: string | null }>("select detail from handoffs where id = $1 and reason = 'needs_approval'", [filter.handoffId]);
    detail = h.rows[0]?.detail ?? null;
    if (detail === null) return [];
  }
  const r = await tables.billing.query<Omit<RefundItem, "handoffId" | "conversationId">>(
    `${SELECT_REFUNDS}
     where ($1::text is null or r.status = $1) and ($2::text is null or position(r.id in $2) > 0) and ($3::text is null or r.id = $3)
     order by r.requested_at ${order === "oldest" ? "asc" : "desc"}, r.id limit 200`,
    [filter.status ?? null, detail, filter.id ?? null],
  );
  if (!r.rows.length) return [];
  const waiting = await tables.main.query<{ refund_id: string; id: string; conversation_id: string }>(
    `select distinct on (rid) rid as refund_id, h.id, h.conversation_id
     from unnest($1::text[]) as rid
     join handoffs h on h.reason = 'needs_approval' and position(rid in h.detail) > 0
     order by rid, h.created_at desc`,
    [r.rows.map((x) => x.id)],
  );
  const handoffOf = new Map(waiting.rows.map((w) => [w.refund_id, w]));
  const items = r.rows.map((x) => ({ ...x, handoffId: handoffOf.get(x.id)?.id ?? null, conversationId: handoffOf.get(x.id)?.conversation_id ?? null }));
  return filter.handoffId ? items.filter((i) => i.handoffId === filter.handoffId) : items;
}

/** Reads the refund a handoff waits on (its newest), without the rest of the approvals. */
export function createRefundLookup(tables: RefundTables): RefundLookup {
  return {
    async forHandoff(handoffId) {
      return (await readRefunds(tables, { handoffId }, "newest"))[0];
    },
  };
}

/**
 * A person approves or rejects a refund above the approval limit. The decision is one
 * conditional UPDATE (`awaiting_approval` → `approved` | `rejected`), so of two decisions at
 * once exactly one lands and the other is a 409; then the handoff's history records who decided,
 * and the user is told in their conversation through the outbox, once (one idempotency key per
 * refund).
 */
export class RefundApprovals {
  readonly #o: RefundApprovalsOptions;
  readonly #log: Logger;

  constructor(options: RefundApprovalsOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "refunds" });
  }

  list(filter: { status?: RefundStatus; handoffId?: string; id?: string } = {}): Promise<RefundItem[]> {
    return readRefunds(this.#o.tables, filter);
  }

  approve(id: string, by: Staff): Promise<RefundDecision> {
    return this.#decide(id, "approved", by, null);
  }

  reject(id: string, by: Staff, reason: string): Promise<RefundDecision> {
    const why = reason.trim();
    if (!why) throw new InputError("reason_required", "Say why the refund is rejected: the user is told the reason.");
    if (why.length > 500) throw new InputError("reason_too_long", "The reason is longer than 500 characters.");
    return this.#decide(id, "rejected", by, why);
  }

  async #decide(id: string, status: "approved" | "rejected", by: Staff, reason: string | null): Promise<RefundDecision> {
    const updated = await this.#o.tables.billing.query(
      `update refunds set status = $2, decided_by = $3, decided_at = now(), decision_reason = $4
       where id = $1 and status = 'awaiting_approval' returning id`,
      [id, status, by.name, reason],
    );
    const [refund] = await this.list({ id });
    if (!refund) throw new InputError("unknown_refund", `No refund ${id}.`, 404);
    if (!updated.rows[0]) {
      const who = refund.decidedBy ? ` by ${refund.decidedBy}` : "";
      throw new InputError("already_decided", `Refund ${id} is not awaiting approval: it is ${refund.status.replace("_", " ")}${who}. Nothing was changed or sent.`, 409);
    }
    const amount = money(refund.amountCents, refund.currency);
    this.#log.info({ refundId: id, status, agent: by.name, handoffId: refund.handoffId }, "refund decided");
    if (refund.handoffId) {
      await this.#o.store.addEvent(refund.handoffId, status === "approved" ? "refund_approved" : "refund_rejected", by.name, `${id} of ${amount}${reason ? `: ${reason}` : ""}`);
      this.#o.staff?.refundDecided(
        refund.handoffId,
        status === "approved" ? `${by.name} approved refund ${id} of ${amount}.` : `${by.name} rejected refund ${id} of ${amount}: ${reason}`,
      );
    }
    if (!refund.conversationId) return { refund, delivery: null, messageId: null };
    const text =
      status === "approved"
        ? `Your refund of ${amount} is approved. It takes ${REFUND_PROCESSING} to reach your account. (Refund ${id})`
        : `Your refund request of ${amount} was not approved: ${reason}. (Refund ${id})`;
    const latest = await this.#o.log.latestInbound(refund.conversationId);
    const sent = await this.#o.outbox.send({
      conversationId: refund.conversationId,
      inReplyTo: latest?.id ?? null,
      author: { kind: "agent", name: by.name },
      text,
      idempotencyKey: `refund:${id}:decision`,
    });
    if (sent.status !== "sent") this.#log.warn({ refundId: id, delivery: sent.status, err: sent.error }, "refund decision recorded; the user is not told yet");
    return { refund, delivery: sent.status, messageId: sent.messageId };
  }
}
