import { z } from "zod";
import { callerOf, type WorkerDeps } from "../types.ts";
import { defineTool, throwIfCancelled } from "../define-tool.ts";
import { BillingRepo, day, money, type Payment } from "./billing-repo.ts";
import { assessRefund, findDuplicates, REFUND_PROCESSING } from "./refund-policy.ts";

/** Returned by every billing tool when the chat account is not linked: the worker then explains how to link. */
export const NOT_LINKED = "NOT_LINKED";

export const LINK_HELP =
  "I can't see billing details yet because this chat account isn't linked to an Acme account. " +
  "To link it, open the Acme dashboard → Settings → Integrations → Connect chat, or ask our support team to link it for you. " +
  "For your security I only ever show billing details to the account they belong to.";

/**
 * The billing tools. Each reads the customer from the caller the service resolved (the linked
 * identity), never from its arguments: an invoice number of another customer simply is not found.
 */
export function billingTools(deps: WorkerDeps) {
  const repo = new BillingRepo(deps.pool);
  const limitCents = Math.round(deps.config.refundApprovalLimit * 100);

  const customerOf = (config: Parameters<typeof callerOf>[0]) => callerOf(config).customerId;
  const line = (p: Payment) =>
    `${p.id}: ${money(p.amountCents, p.currency)} on ${day(p.createdAt)} by ${p.method}, ${p.status}${p.invoiceNumber ? `, invoice ${p.invoiceNumber}` : ""}`;

  return [
    defineTool(
      { name: "account_summary", description: "The caller's plan, seats, open balance and latest payment.", schema: z.object({}) },
      async (_args, config) => {
        const id = customerOf(config);
        if (!id) return NOT_LINKED;
        const [c, invoices, payments] = await Promise.all([repo.customer(id), repo.invoices(id, 24), repo.payments(id, 1)]);
        if (!c) return NOT_LINKED;
        const open = invoices.filter((i) => i.status === "open");
        const balance = open.reduce((s, i) => s + i.amountCents, 0);
        return [
          `Account: ${c.name} (${c.email}), plan ${c.plan}, ${c.seats} seat${c.seats === 1 ? "" : "s"}.`,
          `Open balance: ${money(balance, c.currency)}${open.length ? ` (${open.map((i) => i.number).join(", ")})` : ""}.`,
          payments[0] ? `Latest payment: ${line(payments[0])}.` : "No payments yet.",
        ].join("\n");
      },
    ),
    defineTool(
      { name: "list_invoices", description: "The caller's most recent invoices.", schema: z.object({ limit: z.number().int().min(1).max(24).optional() }) },
      async ({ limit }, config) => {
        const id = customerOf(config);
        if (!id) return NOT_LINKED;
        const invoices = await repo.invoices(id, limit ?? 6);
        if (invoices.length === 0) return "No invoices on this account yet.";
        return invoices
          .map((i) => `${i.number}: ${money(i.amountCents, i.currency)} for ${day(i.periodStart)} to ${day(i.periodEnd)}, ${i.status}, due ${day(i.dueAt)}`)
          .join("\n");
      },
    ),
    defineTool(
      {
        name: "get_invoice",
        description: "One invoice of the caller by its number (e.g. INV-1004). Invoices of other accounts are never returned.",
        schema: z.object({ number: z.string().min(1).max(40) }),
      },
      async ({ number }, config) => {
        const id = customerOf(config);
        if (!id) return NOT_LINKED;
        const i = await repo.invoiceByNumber(id, number);
        if (!i) return `No invoice ${number} on your account.`;
        return `${i.number}: ${money(i.amountCents, i.currency)} for ${day(i.periodStart)} to ${day(i.periodEnd)}, issued ${day(i.issuedAt)}, due ${day(i.dueAt)}, ${i.status}.`;
      },
    ),
    defineTool(
      { name: "list_payments", description: "The caller's recent payments (charges), flagging duplicate charges.", schema: z.object({ limit: z.number().int().min(1).max(50).optional() }) },
      async ({ limit }, config) => {
        const id = customerOf(config);
        if (!id) return NOT_LINKED;
        const payments = await repo.payments(id, limit ?? 10);
        if (payments.length === 0) return "No payments on this account yet.";
        const dups = new Map(findDuplicates(payments).map((d) => [d.payment.id, d.original.id]));
        return payments.map((p) => line(p) + (dups.has(p.id) ? ` — DUPLICATE of ${dups.get(p.id)}` : "")).join("\n");
      },
    ),
    defineTool(
      { name: "refund_status", description: "The caller's refund requests and where each one stands.", schema: z.object({}) },
      async (_args, config) => {
        const id = customerOf(config);
        if (!id) return NOT_LINKED;
        const refunds = await repo.refunds(id);
        if (refunds.length === 0) return "No refunds requested on this account.";
        return refunds
          .map((r) => `${r.id}: ${money(r.amountCents)} for payment ${r.paymentId}, ${r.status.replace("_", " ")}, requested ${day(r.requestedAt)}${r.completedAt ? `, completed ${day(r.completedAt)}` : ""}`)
          .join("\n");
      },
    ),
    defineTool(
      {
        name: "check_refund_eligibility",
        description: "Whether a payment of the caller can be refunded under the refund policy. Without payment_id: the most recent duplicate charge, else the most recent charge.",
        schema: z.object({ payment_id: z.string().max(40).optional() }),
      },
      async ({ payment_id }, config) => {
        const id = customerOf(config);
        if (!id) return NOT_LINKED;
        const all = await repo.payments(id, 100);
        const payment = payment_id
          ? all.find((p) => p.id === payment_id)
          : (findDuplicates(all).at(-1)?.payment ?? all.find((p) => p.status === "succeeded"));
        if (!payment) return payment_id ? `No payment ${payment_id} on your account.` : "No charges on this account to refund.";
        const a = assessRefund(payment, all, deps.now(), limitCents);
        return [
          `Payment ${line(payment)}.`,
          `${a.eligible ? "ELIGIBLE" : "NOT ELIGIBLE"} for a refund: ${a.reason}.`,
          a.eligible && a.needsApproval ? `Refunds above ${money(limitCents)} need a person's approval.` : "",
          a.eligible ? `Refunds take ${REFUND_PROCESSING}.` : "",
        ].filter(Boolean).join("\n");
      },
    ),
    defineTool(
      {
        name: "request_refund",
        description: "Request a refund of one of the caller's payments when check_refund_eligibility says it is eligible. Refunds above the approval limit wait for a person's approval.",
        schema: z.object({ payment_id: z.string().min(1).max(40), reason: z.string().min(1).max(300) }),
      },
      async ({ payment_id, reason }, config) => {
        const id = customerOf(config);
        if (!id) return NOT_LINKED;
        const all = await repo.payments(id, 100);
        const payment = all.find((p) => p.id === payment_id);
        if (!payment) return `No payment ${payment_id} on your account.`;
        const a = assessRefund(payment, all, deps.now(), limitCents);
        if (!a.eligible) return `NOT ELIGIBLE: ${a.reason}. No refund was requested.`;
        // The reads took time: the run may have been cancelled since the tool started.
        throwIfCancelled("request_refund", config);
        const { refund, created } = await repo.requestRefund(id, payment.id, payment.amountCents, reason, a.needsApproval);
        if (!created) return `A refund for this payment already exists: ${refund.id}, ${refund.status.replace("_", " ")}.`;
        const amount = money(refund.amountCents, payment.currency);
        const ids = { refundId: refund.id, paymentId: payment.id, amountCents: refund.amountCents, currency: payment.currency };
        if (refund.status === "awaiting_approval") {
          const detail = `Refund ${refund.id} of ${amount} for payment ${payment.id} is above the ${money(limitCents, payment.currency)} approval limit.`;
          return {
            text: `${detail} It is opened and waits for a person's approval: tell the user a person from the billing team will approve it and reply here.`,
            signal: { signal: "needs_approval", ...ids, limitCents, detail },
          };
        }
        return {
          text: `Refund ${refund.id} of ${amount} for payment ${payment.id} is requested. Refunds take ${REFUND_PROCESSING}.`,
          signal: { signal: "refund_requested", ...ids },
        };
      },
    ),
  ];
}
