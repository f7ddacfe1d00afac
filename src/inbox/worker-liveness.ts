import os from "node:os";
import type pg from "pg";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";

export interface WorkerLivenessOptions {
  pool: pg.Pool;
  logger: Logger;
  /** The graphile-worker pool id: what it writes in `locked_by`. */
  workerId: string;
  /** Not seen for this long: dead. The heartbeat runs five times per lease. */
  leaseMs: number;
}

/**
 * Tells live workers from dead ones, and frees what the dead held. graphile-worker keeps a job
 * (and its conversation's queue) locked for four hours after its worker vanished; a killed
 * worker would hold its conversation that long. Each worker records a heartbeat in
 * `queue_workers`; every worker releases the locks of workers not seen for the lease time with
 * `graphile_worker.force_unlock_workers`, so their jobs run again elsewhere (and so does the
 * rest of the conversation, in order).
 *
 * A worker whose event loop stalls for longer than the lease is taken for dead too; keep the
 * lease well above the longest pause a worker can have. A database outage is not a death: a
 * worker back from one waits a lease before it judges the others (they are back too, and beat).
 */
export class WorkerLiveness {
  readonly #o: WorkerLivenessOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #beat: Promise<void> = Promise.resolve();
  /**
   * Since when this worker reaches the database without a break (Date.now()); undefined while it
   * does not. Only after a whole lease of that does it judge other workers: coming back from an
   * outage, everyone's heartbeat is old, and the others need a lease to be seen again.
   */
  #reachableSince: number | undefined;
  #failing = false;

  constructor(options: WorkerLivenessOptions) {
    this.#o = options;
    this.#log = options.logger.child({ workerId: options.workerId });
  }

  async start(): Promise<void> {
    await this.#register();
    // A worker just started has seen no outage: workers not seen for a lease are dead now.
    this.#reachableSince = Date.now() - this.#o.leaseMs;
    await this.beat();
    const every = Math.max(100, Math.round(this.#o.leaseMs / 5));
    this.#timer = setInterval(() => {
      this.#beat = this.beat();
    }, every);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beat;
    await this.#o.pool.query("delete from queue_workers where id = $1", [this.#o.workerId]).catch(() => {});
  }

  /** Records this worker as alive and releases the jobs of dead workers. */
  async beat(): Promise<void> {
    try {
      // An upsert: after an outage longer than the lease another worker may have removed this
      // one as dead; it registers again instead of staying invisible.
      await this.#register();
      if (this.#failing) this.#log.info("worker heartbeat recorded again");
      this.#failing = false;
      this.#reachableSince ??= Date.now();
      if (Date.now() - this.#reachableSince < this.#o.leaseMs) return;
      await this.#releaseDead();
    } catch (err) {
      this.#reachableSince = undefined;
      if (!this.#failing) this.#log.warn({ err: errorMessage(err) }, "worker heartbeat failed; retrying");
      this.#failing = true;
    }
  }

  async #register(): Promise<void> {
    await this.#o.pool.query(
      `insert into queue_workers (id, pid, host) values ($1, $2, $3)
       on conflict (id) do update set seen_at = now()`,
      [this.#o.workerId, process.pid, os.hostname()],
    );
  }

  async #releaseDead(): Promise<void> {
    const lease = `${this.#o.leaseMs} milliseconds`;
    const dead = await this.#o.pool.query<{ id: string }>(
      `with gone as (
         delete from queue_workers where seen_at < now() - $1::interval returning id
       )
       select id from gone
       union
       -- jobs locked by a worker that never registered (killed at once) or is gone
       select distinct locked_by from graphile_worker.jobs
       where locked_by is not null and locked_at < now() - $1::interval
         and locked_by not in (select id from queue_workers where seen_at >= now() - $1::interval)`,
      [lease],
    );
    const ids = dead.rows.map((r) => r.id).filter((id) => id !== this.#o.workerId);
    if (ids.length === 0) return;
    await this.#o.pool.query("select graphile_worker.force_unlock_workers($1::text[])", [ids]);
    // Idle workers learn of the released jobs now, not at their next poll (a delegated step
    // waits within its message's budget). graphile-worker's own channel for new jobs.
    await this.#o.pool.query(`select pg_notify('jobs:insert', '{"count":1}')`).catch(() => {});
    this.#log.warn({ deadWorkers: ids }, "released the jobs of workers that stopped answering");
  }
}
