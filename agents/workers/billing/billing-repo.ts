import type pg from "pg";

/** Billing data of one customer. Every query is scoped by customer id; there is no unscoped read. */
export interface Customer { id: string; name: string; email: string; plan: string; seats: number; currency: string }
export interface Invoice { id: string; number: string; periodStart: Date; periodEnd: Date; amountCents: number; currency: string; status: string; issuedAt: Date; dueAt: Date }
export interface Payment { id: string; invoiceId: string | null; invoiceNumber: string | null; amountCents: number; currency: string; method: string; status: string; createdAt: Date }
export interface Refund { id: string; paymentId: string; amountCents: number; status: string; reason: string; requestedAt: Date; completedAt: Date | null }

export class BillingRepo {
  constructor(private readonly pool: pg.Pool) {}

  async customer(customerId: string): Promise<Customer | undefined> {
    const r = await this.pool.query("select id, name, email, plan, seats, currency from customers where id = $1", [customerId]);
    return r.rows[0] as Customer | undefined;
  }

  async invoices(customerId: string, limit = 6): Promise<Invoice[]> {
    const r = await this.pool.query(
      `select id, number, period_start as "periodStart", period_end as "periodEnd", amount_cents as "amountCents",
              currency, status, issued_at as "issuedAt", due_at as "dueAt"
       from invoices where customer_id = $1 order by issued_at desc limit $2`,
      [customerId, limit],
    );
    return r.rows as Invoice[];
  }

  /** The invoice with this number if, and only if, it belongs to the customer. */
  async invoiceByNumber(customerId: string, number: string): Promise<Invoice | undefined> {
    const r = await this.pool.query(
      `select id, number, period_start as "periodStart", period_end as "periodEnd", amount_cents as "amountCents",
              currency, status, issued_at as "issuedAt", due_at as "dueAt"
       from invoices where customer_id = $1 and upper(number) = upper($2)`,
      [customerId, number],
    );
    return r.rows[0] as Invoice | undefined;
  }

  async payments(customerId: string, limit = 10): Promise<Payment[]> {
    const r = await this.pool.query(
      `select p.id, p.invoice_id as "invoiceId", i.number as "invoiceNumber", p.amount_cents as "amountCents",
              p.currency, p.method, p.status, p.created_at as "createdAt"
       from payments p left join invoices i on i.id = p.invoice_id and i.customer_id = p.customer_id
       where p.customer_id = $1 order by p.created_at desc limit $2`,
      [customerId, limit],
    );
    return r.rows as Payment[];
  }

  async payment(customerId: string, paymentId: string): Promise<Payment | undefined> {
    return (await this.payments(customerId, 100)).find((p) => p.id === paymentId);
  }

  async refunds(customerId: string, limit = 10): Promise<Refund[]> {
    const r = await this.pool.query(
      `select id, payment_id as "paymentId", amount_cents as "amountCents", status, reason,
              requested_at as "requestedAt", completed_at as "completedAt"
       from refunds where customer_id = $1 order by requested_at desc limit $2`,
      [customerId, limit],
    );
    return r.rows as Refund[];
  }

  /** Creates a refund request unless one is already open for that payment; returns the refund. */
  async requestRefund(customerId: string, paymentId: string, amountCents: number, reason: string, needsApproval: boolean): Promise<{ refund: Refund; created: boolean }> {
    const existing = (await this.refunds(customerId, 100)).find((r) => r.paymentId === paymentId && r.status !== "rejected");
    if (existing) return { refund: existing, created: false };
    const r = await this.pool.query(
      `insert into refunds (customer_id, payment_id, amount_cents, status, reason)
       select $1, id, $3, $4, $5 from payments where id = $2 and customer_id = $1
       returning id, payment_id as "paymentId", amount_cents as "amountCents", status, reason,
                 requested_at as "requestedAt", completed_at as "completedAt"`,
      [customerId, paymentId, amountCents, needsApproval ? "awaiting_approval" : "requested", reason],
    );
    if (!r.rows[0]) throw new Error(`payment ${paymentId} is not on this account`);
    return { refund: r.rows[0] as Refund, created: true };
  }
}

export function money(cents: number, currency = "USD"): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
}

export function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
