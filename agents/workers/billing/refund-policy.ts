import type { Payment } from "./billing-repo.ts";

/**
 * The refund policy the billing worker applies (the same text is in the FAQ knowledge base):
 * a charge is refundable in full within 30 days; a duplicate charge is always refundable;
 * refunds above the approval limit (REFUND_APPROVAL_LIMIT) need a person's approval.
 */
export const REFUND_WINDOW_DAYS = 30;
export const REFUND_PROCESSING = "5–10 business days";

export interface RefundAssessment {
  payment: Payment;
  eligible: boolean;
  /** Why, in words a customer reads. */
  reason: string;
  /** The earlier payment this one duplicates, when it is a duplicate charge. */
  duplicateOf: Payment | undefined;
  needsApproval: boolean;
}

/** Finds charges that repeat an earlier successful charge of the same amount for the same invoice (or within 3 days). */
export function findDuplicates(payments: Payment[]): Array<{ payment: Payment; original: Payment }> {
  const ok = payments.filter((p) => p.status === "succeeded").sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  const out: Array<{ payment: Payment; original: Payment }> = [];
  for (let i = 1; i < ok.length; i++) {
    const p = ok[i]!;
    const original = ok.slice(0, i).find(
      (q) =>
        q.amountCents === p.amountCents &&
        (p.invoiceId !== null ? q.invoiceId === p.invoiceId : Math.abs(p.createdAt.getTime() - q.createdAt.getTime()) < 3 * 86_400_000),
    );
    if (original) out.push({ payment: p, original });
  }
  return out;
}

export function assessRefund(payment: Payment, all: Payment[], now: Date, approvalLimitCents: number): RefundAssessment {
  const duplicateOf = findDuplicates(all).find((d) => d.payment.id === payment.id)?.original;
  const ageDays = (now.getTime() - payment.createdAt.getTime()) / 86_400_000;
  const needsApproval = payment.amountCents > approvalLimitCents;
  if (payment.status === "refunded") {
    return { payment, eligible: false, reason: "this charge has already been refunded", duplicateOf, needsApproval: false };
  }
  if (payment.status !== "succeeded") {
    return { payment, eligible: false, reason: `this charge did not go through (status: ${payment.status}), so there is nothing to refund`, duplicateOf, needsApproval: false };
  }
  if (duplicateOf) {
    return { payment, eligible: true, reason: "it duplicates an earlier charge, and duplicate charges are always refunded", duplicateOf, needsApproval };
  }
  if (ageDays <= REFUND_WINDOW_DAYS) {
    return { payment, eligible: true, reason: `it was made ${Math.floor(ageDays)} days ago, within the ${REFUND_WINDOW_DAYS}-day refund window`, duplicateOf, needsApproval };
  }
  return { payment, eligible: false, reason: `it was made ${Math.floor(ageDays)} days ago, outside the ${REFUND_WINDOW_DAYS}-day refund window`, duplicateOf, needsApproval: false };
}
