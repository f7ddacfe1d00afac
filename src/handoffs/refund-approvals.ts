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

export interface RefundApprovalsOptions {
  pool: pg.Pool;
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

const SELECT = `
  select r.id, r.customer_id as "customerId", c.name as "customerName", r.payment_id as "paymentId",
         r.amount_cents as "amountCents", p.currency, r.status, r.reason, r.requested_at as "requestedAt",
         r.decided_by as "decidedBy", r.decided_at as "decidedAt", r.decision_reason as "decisionReason",
         h.id as "handoffId", h.conversation_id as "conversationId"
  from refunds r
  join customers c on c.id = r.customer_id
  join payments p on p.id = r.payment_id
  -- The billing worker names the refund in the detail of the handoff it opens for it.
  left join lateral (
    select h.id, h.conversation_id from handoffs h
    where h.reason = 'needs_approval' and position(r.id in h.detail) > 0
    order by h.created_at desc limit 1
  ) h on true`;

/** Reads the refund a handoff waits on (its newest), without the rest of the approvals. */
export function createRefundLookup(pool: pg.Pool): RefundLookup {
  return {
    async forHandoff(handoffId) {
      const r = await pool.query(`${SELECT} where h.id = $1 order by r.requested_at desc limit 1`, [handoffId]);
      return r.rows[0] as RefundItem | undefined;
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

  async list(filter: { status?: RefundStatus; handoffId?: string; id?: string } = {}): Promise<RefundItem[]> {
    const r = await this.#o.pool.query(
      `${SELECT}
       where ($1::text is null or r.status = $1) and ($2::uuid is null or h.id = $2) and ($3::text is null or r.id = $3)
       order by r.requested_at, r.id limit 200`,
      [filter.status ?? null, filter.handoffId ?? null, filter.id ?? null],
    );
    return r.rows as RefundItem[];
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
    const updated = await this.#o.pool.query(
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
