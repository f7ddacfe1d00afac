import type pg from "pg";
import { BillingRepo, type Customer, type Invoice, type Payment } from "../../agents/workers/billing/billing-repo.ts";
import type { HandoffStatus } from "./handoff-store.ts";
import type { HandoffReason, Platform } from "../types.ts";

/** An open incident on the status page. */
export interface OpenIncident {
  id: string;
  title: string;
  status: string;
  components: string[];
  startedAt: Date;
}

/** An earlier handoff of the same user (same platform account). */
export interface EarlierHandoff {
  id: string;
  reason: HandoffReason;
  status: HandoffStatus;
  assignee: string | null;
  createdAt: Date;
  resolutionNote: string | null;
}

/** What the console's customer panel shows beside a handoff's transcript. */
export interface CustomerPanel {
  /** The linked customer (the conversation's, else the user's identity), if any. */
  customer: Customer | null;
  invoices: Invoice[];
  payments: Payment[];
  /** Open incidents whose component (or a word of its title) the user mentioned in this conversation. */
  matchingIncidents: OpenIncident[];
  /** How many open incidents there are in all. */
  openIncidents: number;
  /** The user's earlier handoffs, newest first (at most 5). */
  earlierHandoffs: EarlierHandoff[];
}

/** Title words too common to say an incident is what the user means. */
const STOP_WORDS = new Set(["the", "and", "for", "with", "from", "errors", "error", "delayed", "slow", "endpoint", "issue", "issues", "some", "users"]);

/**
 * The customer context of a handoff, read for the console's side panel: who the user is to the
 * business (plan, invoices, payments), whether an open incident explains the request, and what
 * the team did for them before.
 */
export class CustomerContext {
  readonly #pool: pg.Pool;
  readonly #billing: BillingRepo;

  /** @param billingPool - where the billing tables are (BILLING_DATABASE_URL's database, when set); default `pool`. */
  constructor(pool: pg.Pool, billingPool: pg.Pool = pool) {
    this.#pool = pool;
    this.#billing = new BillingRepo(billingPool);
  }

  async forHandoff(handoffId: string): Promise<CustomerPanel | undefined> {
    const r = await this.#pool.query<{ conversation_id: string; platform: Platform; user_id: string; customer_id: string | null; created_at: Date }>(
      `select h.conversation_id, c.platform, c.user_id, coalesce(c.customer_id, i.customer_id) as customer_id, h.created_at
       from handoffs h join conversations c on c.id = h.conversation_id
       left join identities i on i.platform = c.platform and i.platform_user_id = c.user_id
       where h.id = $1`,
      [handoffId],
    );
    const h = r.rows[0];
    if (!h) return undefined;
    const [customer, invoices, payments, incidents, said, earlier] = await Promise.all([
      h.customer_id ? this.#billing.customer(h.customer_id) : undefined,
      h.customer_id ? this.#billing.invoices(h.customer_id, 4) : [],
      h.customer_id ? this.#billing.payments(h.customer_id, 4) : [],
      this.#pool.query<{ id: string; title: string; status: string; components: string[]; started_at: Date }>(
        "select id, title, status, components, started_at from incidents where resolved_at is null and status <> 'resolved' order by started_at desc",
      ),
      this.#pool.query<{ text: string }>(
        "select text from messages where conversation_id = $1 and direction = 'in' order by created_at desc limit 50",
        [h.conversation_id],
      ),
      this.#pool.query<{ id: string; reason: HandoffReason; status: HandoffStatus; assignee: string | null; created_at: Date; resolution_note: string | null }>(
        `select o.id, o.reason, o.status, o.assignee, o.created_at, o.resolution_note
         from handoffs o join conversations c on c.id = o.conversation_id
         where c.platform = $1 and c.user_id = $2 and o.id <> $3 and o.created_at <= $4
         order by o.created_at desc limit 5`,
        [h.platform, h.user_id, handoffId, h.created_at],
      ),
    ]);
    const words = new Set(said.rows.flatMap((m) => m.text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []));
    const matching = incidents.rows.filter((i) => {
      const keys = [...i.components.map((c) => c.toLowerCase()), ...(i.title.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 3 && !STOP_WORDS.has(w))];
      return keys.some((k) => words.has(k));
    });
    return {
      customer: customer ?? null,
      invoices,
      payments,
      matchingIncidents: matching.map((i) => ({ id: i.id, title: i.title, status: i.status, components: i.components, startedAt: i.started_at })),
      openIncidents: incidents.rows.length,
      earlierHandoffs: earlier.rows.map((o) => ({ id: o.id, reason: o.reason, status: o.status, assignee: o.assignee, createdAt: o.created_at, resolutionNote: o.resolution_note })),
    };
  }
}
