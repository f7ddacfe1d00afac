import { randomUUID } from "node:crypto";
import os from "node:os";
import type pg from "pg";
import { prepared } from "../db/prepared.ts";
import { SwitchboardError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { Inbox } from "./inbox.ts";

export interface ConversationLeasesOptions {
  pool: pg.Pool;
  logger: Logger;
  /** A lease not renewed for this long is free again (its holder died). Default 30000. */
  leaseMs?: number;
  /** How long `run` waits for a lease before it gives up, in ms. Default 30000. */
  waitMs?: number;
  /** How often a held lease is asked for again, in ms. Default 25. */
  retryMs?: number;
  /** Named prepared statements (a Postgres server; not embedded Postgres, see `prepared`). Default false. */
  preparedStatements?: boolean;
}

/** A held lease, as `run` hands it to its function. */
export interface HeldLease {
  readonly conversationId: string;
  /** Unique to this run: what a statement releasing the lease matches on. */
  readonly holder: string;
  /** What the caller's statement that took the lease returned (`LeaseStatement`); undefined without one. */
  readonly alongside: unknown;
  /**
   * The lease was released by a statement of the caller's that committed (one round trip
   * less at the end of a turn): `run` does not release it again.
   */
  released(): void;
}

/** The lease's part of a statement of the caller's (`LeaseStatement`). */
export interface LeaseSql {
  /** CTEs (comma-separated, without `with`) that take the lease; parameters `$1`–`$4`. */
  readonly ctes: string;
  /** The values of `$1`–`$4`. */
  readonly values: readonly unknown[];
  /** A boolean SQL expression over `ctes`: the lease was taken. */
  readonly taken: string;
  /**
   * A boolean SQL expression over `ctes`: the statement's snapshot saw no other live holder, so
   * what it reads is after every earlier holder's last commit. (A snapshot is taken as the
   * statement starts; a holder that released the lease an instant later, while the insert
   * waited, lets the lease be taken by a statement that read before its release. Its reads are
   * then stale: read again, holding the lease.)
   */
  readonly clear: string;
}

/**
 * A statement that takes the lease and reads (or writes) what the holder starts from, in one round
 * trip instead of two: it starts its `with` with `lease.ctes`, and whatever else it writes must
 * depend on `lease.taken`. Resolves to whether the lease was taken, and a value for `run`'s
 * function (`HeldLease.alongside`). Not taken: asked again after `retryMs`, as the plain lease is.
 */
export type LeaseStatement = (lease: LeaseSql) => Promise<{ taken: boolean; value: unknown }>;

/**
 * Takes the lease: `$1` conversation, `$2` holder, `$3` lease time (an interval), `$4` holders of
 * this process whose release failed. `lease_seen` is what the statement's snapshot saw (see
 * `LeaseSql.clear`).
 */
const LEASE_CTES = `lease as (
    insert into conversation_leases (conversation_id, holder, expires_at)
    values ($1::uuid, $2::text, now() + $3::interval)
    on conflict (conversation_id) do update set holder = excluded.holder, expires_at = excluded.expires_at
      where conversation_leases.expires_at < now() or conversation_leases.holder = any($4::text[])
    returning holder
  ), lease_seen as (
    select not exists (select 1 from conversation_leases l
                       where l.conversation_id = $1::uuid and l.expires_at >= now() and l.holder <> all($4::text[])) as clear
  )`;
const LEASE_TAKEN = "exists (select 1 from lease)";
const LEASE_CLEAR = "(select clear from lease_seen)";

/**
 * One holder at a time per conversation, across processes: the job answering a message, or a
 * handoff writing a note into the bot's memory (which must not interleave with a graph run that
 * would write over it). The queue's per-conversation claim already keeps a conversation's jobs
 * apart; the lease adds whatever else touches the conversation from any process. Contenders in this process queue
 * up in order (`Inbox`) before asking the database.
 */
export class ConversationLeases {
  readonly #o: ConversationLeasesOptions;
  readonly #log: Logger;
  readonly #local = new Inbox(Number.POSITIVE_INFINITY);
  readonly #held = new Map<string, string>();
  readonly #prefix = `${os.hostname()}:${process.pid}:`;
  #renewer: NodeJS.Timeout | undefined;
  /** Leases whose release failed (holder → conversation), released again until it works. */
  readonly #unreleased = new Map<string, string>();
  #releaseTimer: NodeJS.Timeout | undefined;

  constructor(options: ConversationLeasesOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "leases" });
  }

  /** Runs `fn` holding the conversation's lease, after whoever holds it now. */
  run<T>(conversationId: string, fn: (lease: HeldLease) => Promise<T>, statement?: LeaseStatement): Promise<T> {
    return this.#local.enqueue(conversationId, async () => {
      const { holder, value } = await this.#acquire(conversationId, statement);
      let released = false;
      try {
        return await fn({ conversationId, holder, alongside: value, released: () => (released = true) });
      } finally {
        if (released) this.#held.delete(conversationId);
        else await this.#release(conversationId, holder);
      }
    });
  }

  /** Stops renewing (and retrying releases); leases still held expire on their own. */
  close(): void {
    clearInterval(this.#renewer);
    this.#renewer = undefined;
    clearTimeout(this.#releaseTimer);
    this.#releaseTimer = undefined;
  }

  get #leaseMs(): number {
    return this.#o.leaseMs ?? 30_000;
  }

  async #acquire(conversationId: string, statement: LeaseStatement = (lease) => this.#plain(lease)): Promise<{ holder: string; value: unknown }> {
    const holder = `${this.#prefix}${randomUUID()}`;
    const deadline = Date.now() + (this.#o.waitMs ?? 30_000);
    let value: unknown;
    for (;;) {
      // A lease of this process whose release failed is free for the next run here: runs of one
      // conversation in this process take turns (`#local`).
      const unreleased = this.#unreleasedOf(conversationId);
      let taken: { taken: boolean; value: unknown };
      try {
        taken = await statement({ ctes: LEASE_CTES, values: [conversationId, holder, `${this.#leaseMs} milliseconds`, unreleased], taken: LEASE_TAKEN, clear: LEASE_CLEAR });
      } catch (err) {
        // The statement may have committed with its answer lost (the connection went away): the
        // lease may be held under `holder`, so it is released as a failed release is (and the
        // next run here may take it over) instead of waiting for it to expire.
        this.#unreleased.set(holder, conversationId);
        this.#retryReleases();
        throw err;
      }
      if (taken.taken) {
        value = taken.value;
        for (const stale of unreleased) this.#unreleased.delete(stale);
        break;
      }
      if (Date.now() > deadline) {
        throw new SwitchboardError("conversation_busy", `Conversation ${conversationId} stayed busy for ${this.#o.waitMs ?? 30_000} ms.`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.#o.retryMs ?? 25));
    }
    this.#held.set(conversationId, holder);
    this.#ensureRenewing();
    return { holder, value };
  }

  /** The lease on its own. */
  async #plain(lease: LeaseSql): Promise<{ taken: boolean; value: unknown }> {
    const r = await this.#o.pool.query<{ taken: boolean }>(prepared(`with ${lease.ctes} select ${lease.taken} as taken`, lease.values, this.#o.preparedStatements ?? false));
    return { taken: r.rows[0]?.taken === true, value: undefined };
  }

  async #release(conversationId: string, holder: string): Promise<void> {
    this.#held.delete(conversationId);
    try {
      await this.#delete(conversationId, holder);
    } catch (err) {
      // Most often the database went away with the work. Left alone, the lease would keep the
      // conversation (its retry, its next message, in any process) waiting until it expires:
      // the release is retried until the database takes it. The holder is unique to this run,
      // so a late delete never frees someone else's lease.
      this.#log.warn({ conversationId, err: errorMessage(err) }, "could not release a conversation lease; retrying");
      this.#unreleased.set(holder, conversationId);
      this.#retryReleases();
    }
  }

  #unreleasedOf(conversationId: string): string[] {
    return [...this.#unreleased].filter(([, c]) => c === conversationId).map(([holder]) => holder);
  }

  async #delete(conversationId: string, holder: string): Promise<void> {
    await this.#o.pool.query("delete from conversation_leases where conversation_id = $1 and holder = $2", [conversationId, holder]);
  }

  #retryReleases(delayMs = 250): void {
    if (this.#releaseTimer || this.#unreleased.size === 0) return;
    this.#releaseTimer = setTimeout(() => {
      this.#releaseTimer = undefined;
      void (async () => {
        for (const [holder, conversationId] of this.#unreleased) {
          try {
            await this.#delete(conversationId, holder);
            this.#unreleased.delete(holder);
          } catch {
            // Still unreachable: try again later, less often.
            this.#retryReleases(Math.min(delayMs * 2, 5000));
            return;
          }
        }
      })();
    }, delayMs);
    this.#releaseTimer.unref();
  }

  /** Long work keeps its lease: renewed three times per lease while held. */
  #ensureRenewing(): void {
    if (this.#renewer) return;
    this.#renewer = setInterval(() => {
      if (this.#held.size === 0) return;
      void this.#o.pool
        .query("update conversation_leases set expires_at = now() + $2::interval where holder = any($1::text[])", [
          [...this.#held.values()],
          `${this.#leaseMs} milliseconds`,
        ])
        .catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, "could not renew conversation leases"));
    }, Math.max(50, Math.round(this.#leaseMs / 3)));
    this.#renewer.unref();
  }
}
