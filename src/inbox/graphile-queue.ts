import { EventEmitter } from "node:events";
import { Logger as GraphileLogger, makeWorkerUtils, run, runMigrations, type JobHelpers, type LogLevel, type Runner, type WorkerEvents, type WorkerPool, type WorkerUtils } from "graphile-worker";
import type pg from "pg";
import { z } from "zod";
import { isConnectionError } from "../db/connection-errors.ts";
import { DatabaseProbe } from "../db/probe.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { PLATFORMS, type Platform } from "../types.ts";
import { DEFAULT_MAX_ATTEMPTS, queueName, type JobHandler, type JobQueue, type MessageJob, type Queryable, type QueueDepth, type WorkerStartOptions } from "./job-queue.ts";
import { WorkerLiveness } from "./worker-liveness.ts";

/** The graphile-worker task that processes one inbound message. */
export const MESSAGE_TASK = "switchboard.message";

export interface GraphileQueueOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Jobs run at once by this process (`WORKER_CONCURRENCY`). Default 8. */
  concurrency?: number;
  /** Attempts per job (graphile-worker's `max_attempts`). Default `DEFAULT_MAX_ATTEMPTS`. */
  maxAttempts?: number;
  /**
   * How often an idle worker looks for jobs, in ms. Default 2000 on a server (LISTEN/NOTIFY
   * announces new jobs at once), 500 on embedded Postgres, where it is the only way a worker
   * learns of jobs another process added and of retries coming due.
   */
  pollIntervalMs?: number;
  /** Embedded Postgres (PGlite over its wire port): no named prepared statements, no LISTEN. */
  embedded: boolean;
  /**
   * A worker not seen for this long is dead and its jobs are released to the others
   * (`WORKER_LEASE_MS`). Default 30000.
   */
  leaseMs?: number;
  /** How long `stop` lets running jobs finish before they are released for a retry. Default 25000. */
  shutdownGraceMs?: number;
  /**
   * A lock this worker holds that none of its running jobs accounts for, for this long, is stale
   * (the database went away while the job was being released), in ms. Default 5000.
   */
  staleLockMs?: number;
}

const Payload = z.object({ messageId: z.string().uuid(), conversationId: z.string().uuid(), platform: z.enum(PLATFORMS as [Platform, ...Platform[]]) });

/**
 * One job per message: the key is the message id, and `unsafe_dedupe` leaves a job already there
 * (waiting, running or failed) alone; the default `replace` would start a second job beside a
 * running one. The job is due when the message arrived (graphile-worker takes jobs in `run_at`
 * order), and its flag names the reply's platform, for workers that cannot deliver there.
 */
const ADD_JOB = `select * from graphile_worker.add_job($1,
  json_build_object('messageId', $2::text, 'conversationId', $3::text, 'platform', $7::text),
  queue_name => $4, max_attempts => $5, job_key => $2, job_key_mode => 'unsafe_dedupe', flags => $6::text[],
  run_at => least((select created_at from messages where id = $2::uuid), clock_timestamp()))`;

function platformFlag(platform: Platform): string {
  return `platform:${platform}`;
}

/**
 * The inbox on graphile-worker: one job per stored message (job key = message id), in the named
 * queue `conv:<conversationId>`, so a conversation's jobs run in series across every worker
 * process while different conversations run in parallel. Failed jobs are retried with
 * graphile-worker's exponential backoff up to `maxAttempts`.
 *
 * The database may go away and come back while it runs: a job interrupted by the lost connection
 * waits for it to answer again before it is handed back (so its failure is recorded and it is
 * retried), and locks this worker holds that none of its running jobs accounts for are released
 * by the worker itself (`#sweep`), as graphile-worker would keep them for four hours.
 *
 * `localQueue` is not used: up to 0.17 it let two jobs of one named queue run at once
 * (graphile/worker#621), and the jobs it holds locked but not running would look stale here.
 */
export class GraphileJobQueue implements JobQueue {
  readonly kind = "postgres" as const;
  readonly #o: GraphileQueueOptions;
  readonly #log: Logger;
  readonly #maxAttempts: number;
  readonly #probe: DatabaseProbe;
  #handler: JobHandler | undefined;
  #startOptions: WorkerStartOptions = {};
  /** The worker pool taking jobs now. */
  #current: Generation | undefined;
  /** Replaced worker pools finishing their jobs before their locks are released. */
  readonly #retiring = new Set<Promise<void>>();
  /** A replacement being started. */
  #replacing: Promise<void> | undefined;
  #stopping: AbortController | undefined;
  #utils: WorkerUtils | undefined;
  #gcTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping = false;
  /** False once reading graphile-worker's queue locks failed for a reason other than the connection (its tables changed). */
  #seesQueueLocks = true;

  constructor(options: GraphileQueueOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "queue" });
    this.#maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.#probe = new DatabaseProbe(options.pool);
  }

  /** Installs or upgrades graphile-worker's schema (`graphile_worker`). Safe from several processes. */
  static async installSchema(pool: pg.Pool, logger: Logger, embedded: boolean): Promise<void> {
    await runMigrations({ pgPool: pool, logger: graphileLogger(logger), noPreparedStatements: embedded });
  }

  get workerId(): string | undefined {
    return this.#current?.id;
  }

  async add(tx: Queryable, job: MessageJob): Promise<void> {
    await tx.query(ADD_JOB, this.#addJobValues(job));
  }

  #addJobValues(job: MessageJob): unknown[] {
    return [MESSAGE_TASK, job.messageId, job.conversationId, queueName(job.conversationId), this.#maxAttempts, [platformFlag(job.platform)], job.platform];
  }

  added(): void {
    // A worker in this process looks now instead of at its next poll (embedded Postgres has no
    // NOTIFY; on a server this only saves the round trip).
    this.#nudge(1);
  }

  async recover(jobs: readonly MessageJob[]): Promise<number> {
    let queued = 0;
    for (const job of jobs) {
      const r = await this.#o.pool.query<{ revision: number }>(`select revision from (${ADD_JOB}) added`, this.#addJobValues(job));
      // A new job has revision 0; an existing one was only touched.
      if (r.rows[0]?.revision === 0) queued++;
    }
    if (queued) this.#nudge(Math.min(queued, this.#o.concurrency ?? 8));
    return queued;
  }

  async start(handler: JobHandler, options: WorkerStartOptions = {}): Promise<void> {
    if (this.#handler) throw new Error("the queue is already started");
    this.#handler = handler;
    this.#startOptions = options;
    this.#stopping = new AbortController();
    this.#current = await this.#startPool();
    this.#utils = await makeWorkerUtils({ pgPool: this.#o.pool, logger: graphileLogger(this.#log), noPreparedStatements: this.#o.embedded });
    // One named queue per conversation: empty ones are removed now and then.
    this.#gcTimer = setInterval(() => void this.#collectQueues(), 60 * 60_000 * (1 + Math.random() * 0.1));
    this.#gcTimer.unref();
    this.#sweepTimer = setInterval(() => void this.#sweep(), Math.max(100, Math.round(this.#staleLockMs / 2)));
    this.#sweepTimer.unref();
    this.#log.info({ workerId: this.#current.id, concurrency: this.#o.concurrency ?? 8, embedded: this.#o.embedded }, "worker started");
  }

  async stop(): Promise<void> {
    if (!this.#handler || this.#stopping?.signal.aborted) return;
    // Jobs waiting for the database to come back give up waiting (and fail back to the queue).
    this.#stopping?.abort();
    // The pool stops taking jobs now, not after the awaits below: a running job that ends
    // meanwhile must not be followed by the next one (the same stop, awaited with its grace below).
    if (this.#current && !this.#replacing) void this.#stopOnce(this.#current);
    clearInterval(this.#gcTimer);
    clearInterval(this.#sweepTimer);
    await this.#replacing;
    const current = this.#current;
    this.#current = undefined;
    if (current) {
      current.retiring = true;
      await this.#stopRunner(current);
      await current.liveness.stop();
    }
    await Promise.all(this.#retiring);
    await this.#utils?.release();
    this.#log.info("worker stopped");
  }

  /**
   * Whether jobs can be added and, in a started worker, are being taken: the database answers
   * (within 2 s), and the worker pool runs (it is replaced when it stops on its own).
   */
  async healthy(): Promise<boolean> {
    if (this.#handler && !this.#stopping?.signal.aborted && (!this.#current || this.#current.ended)) return false;
    return this.#probe.reachable();
  }

  async depth(): Promise<QueueDepth> {
    const r = await this.#o.pool.query<Record<keyof QueueDepth, number>>(
      `select count(*) filter (where locked_at is null and attempts < max_attempts and run_at <= now())::int as ready,
              count(*) filter (where locked_at is null and attempts < max_attempts and run_at > now())::int as scheduled,
              count(*) filter (where locked_at is not null)::int as running,
              count(*) filter (where locked_at is null and attempts >= max_attempts)::int as failed
       from graphile_worker.jobs where task_identifier = $1`,
      [MESSAGE_TASK],
    );
    return r.rows[0] ?? { ready: 0, scheduled: 0, running: 0, failed: 0 };
  }

  get #staleLockMs(): number {
    return this.#o.staleLockMs ?? 5000;
  }

  #nudge(n: number): void {
    try {
      const pool = this.#current?.workerPool;
      if (pool && !pool._shuttingDown) pool.nudge(n);
    } catch {
      // A pool shutting down takes no nudges; its successor polls.
    }
  }

  /** Starts a graphile-worker pool (a new id) with its heartbeat. Needs the database. */
  async #startPool(): Promise<Generation> {
    const events: WorkerEvents = new EventEmitter() as WorkerEvents;
    let workerPool: WorkerPool | undefined;
    const running = new Map<string, string>();
    events.on("pool:create", ({ workerPool: created }) => {
      workerPool = created;
    });
    events.on("job:error", ({ job, error }) => {
      this.#log.debug({ jobId: job.id, attempts: job.attempts, err: errorMessage(error) }, "job failed; graphile-worker retries it after a backoff");
    });
    events.on("job:complete", ({ job }) => {
      const parsed = Payload.safeParse(job.payload);
      if (parsed.success) void this.#wakeNext(job.id, parsed.data.conversationId);
    });
    events.on("job:failed", ({ job, error }) => {
      this.#log.error({ jobId: job.id, payload: job.payload, err: errorMessage(error) }, "job out of attempts");
    });
    const skipPlatforms = this.#startOptions.skipPlatforms;
    const runner = await run({
      pgPool: this.#o.pool,
      concurrency: this.#o.concurrency ?? 8,
      pollInterval: this.#o.pollIntervalMs ?? (this.#o.embedded ? 500 : 2000),
      noHandleSignals: true,
      noPreparedStatements: this.#o.embedded,
      logger: graphileLogger(this.#log),
      events,
      parsedCronItems: [],
      ...(skipPlatforms ? { forbiddenFlags: () => skipPlatforms().map(platformFlag) } : {}),
      taskList: { [MESSAGE_TASK]: (payload, helpers) => this.#runTask(payload, helpers, running) },
    });
    const started = workerPool as WorkerPool | undefined;
    if (!started) {
      await runner.stop().catch(() => {});
      throw new Error("graphile-worker started no worker pool");
    }
    const liveness = new WorkerLiveness({ pool: this.#o.pool, logger: this.#log, workerId: started.id, leaseMs: this.#o.leaseMs ?? 30_000 });
    try {
      await liveness.start();
    } catch (err) {
      await runner.stop().catch(() => {});
      throw err;
    }
    const generation: Generation = { id: started.id, runner, workerPool: started, liveness, running, suspects: new Map(), retiring: false, ended: false };
    // The pool stopping on its own (graphile-worker gives up on something) must not leave a
    // process that looks alive and takes no jobs: it is replaced.
    void runner.promise
      .catch((err: unknown) => this.#log.error({ workerId: generation.id, err: errorMessage(err) }, "the worker pool failed"))
      .then(() => {
        generation.ended = true;
        if (!generation.retiring && this.#current === generation) void this.#replace(generation, "the worker pool stopped on its own");
      });
    return generation;
  }

  /** One job: the handler, and around it what keeps a lost connection from leaving the job locked. */
  async #runTask(payload: unknown, helpers: JobHelpers, running: Map<string, string>): Promise<void> {
    const job = Payload.parse(payload);
    const { id, attempts, max_attempts: max } = helpers.job;
    running.set(id, queueName(job.conversationId));
    try {
      await this.#handler!(job, { number: attempts, max, final: attempts >= max, workerId: helpers.job.locked_by ?? undefined });
    } catch (err) {
      // graphile-worker records the failure (unlocks the job for its retry) as soon as this
      // throws; with the database gone that write fails too, and the job would stay locked by
      // this live worker for four hours. So a job that failed for the connection waits here
      // until the database answers again.
      if (isConnectionError(err) && this.#stopping && !(await this.#probe.reachable())) {
        this.#log.warn({ jobId: id, conversationId: job.conversationId }, "job interrupted: the database is unreachable; waiting for it to hand the job back for a retry");
        await this.#probe.waitUntilReachable(this.#stopping.signal);
      }
      throw err;
    } finally {
      running.delete(id);
    }
  }

  /**
   * Finds locks of the current worker pool that none of its running jobs accounts for: a job or
   * queue whose release was lost with the connection (graphile-worker completes and fails jobs
   * without waiting, so such a failure only surfaces as an unhandled rejection), or a job whose
   * fetch the database committed while the answer was lost. Still there after `staleLockMs`,
   * they are stale, and the pool is replaced: the new one takes jobs under a new id, the old one
   * finishes the jobs it runs, then everything still locked under its id is released
   * (`force_unlock_workers`), and the conversation goes on.
   */
  async #sweep(): Promise<void> {
    const generation = this.#current;
    if (this.#sweeping || this.#replacing || !generation || generation.retiring) return;
    this.#sweeping = true;
    try {
      const jobs = await this.#o.pool.query<{ id: string }>("select id::text as id from graphile_worker.jobs where locked_by = $1", [generation.id]);
      const unaccounted = new Set(jobs.rows.filter((j) => !generation.running.has(j.id)).map((j) => `job ${j.id}`));
      for (const queue of await this.#lockedQueues(generation.id)) {
        if (![...generation.running.values()].includes(queue)) unaccounted.add(`queue ${queue}`);
      }
      const now = Date.now();
      for (const key of generation.suspects.keys()) if (!unaccounted.has(key)) generation.suspects.delete(key);
      for (const key of unaccounted) if (!generation.suspects.has(key)) generation.suspects.set(key, now);
      const stale = [...generation.suspects].filter(([, since]) => now - since >= this.#staleLockMs).map(([key]) => key);
      if (stale.length) await this.#replace(generation, `locks no running job accounts for: ${stale.join(", ")}`);
    } catch (err) {
      this.#log.debug({ err: errorMessage(err) }, "could not look for stale locks; trying again");
    } finally {
      this.#sweeping = false;
    }
  }

  /**
   * Named queues locked by `workerId`. graphile-worker's public `jobs` view does not show queue
   * locks, so this reads its own table; if that ever changes shape, only the check is lost.
   */
  async #lockedQueues(workerId: string): Promise<string[]> {
    if (!this.#seesQueueLocks) return [];
    try {
      const r = await this.#o.pool.query<{ queue_name: string }>("select queue_name from graphile_worker._private_job_queues where locked_by = $1", [workerId]);
      return r.rows.map((q) => q.queue_name);
    } catch (err) {
      if (isConnectionError(err)) throw err;
      this.#seesQueueLocks = false;
      this.#log.warn({ err: errorMessage(err) }, "cannot read graphile-worker's queue locks; stale queue locks go unnoticed");
      return [];
    }
  }

  /** Puts a new worker pool in place of `old`, then retires `old`. Retries until the database lets it. */
  #replace(old: Generation, reason: string): Promise<void> {
    if (this.#replacing || old !== this.#current) return Promise.resolve();
    this.#replacing = this.#doReplace(old, reason).finally(() => {
      this.#replacing = undefined;
    });
    return this.#replacing;
  }

  async #doReplace(old: Generation, reason: string): Promise<void> {
    this.#log.warn({ workerId: old.id, reason }, "replacing the worker pool; the old one finishes its running jobs, then its locks are released");
    for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
      if (this.#stopping?.signal.aborted) return;
      try {
        const next = await this.#startPool();
        if (this.#stopping?.signal.aborted) {
          next.retiring = true;
          await this.#stopRunner(next);
          await next.liveness.stop();
          return;
        }
        this.#current = next;
        this.#log.info({ workerId: next.id, replaced: old.id }, "new worker pool taking jobs");
        break;
      } catch (err) {
        this.#log.warn({ err: errorMessage(err), retryMs: delay }, "could not start a new worker pool; trying again");
        await sleep(delay, this.#stopping?.signal);
      }
    }
    const retiring = this.#retire(old).finally(() => this.#retiring.delete(retiring));
    this.#retiring.add(retiring);
  }

  async #retire(generation: Generation): Promise<void> {
    generation.retiring = true;
    // Its running jobs are live work of this process: they finish however long they take (the
    // queue stopping meanwhile applies its grace time to them).
    const slow = setTimeout(() => this.#log.warn({ workerId: generation.id }, "the replaced worker pool is still finishing its jobs"), this.#o.shutdownGraceMs ?? 25_000);
    await Promise.race([this.#stopOnce(generation), this.#stopped()]).finally(() => clearTimeout(slow));
    if (this.#stopping?.signal.aborted) await this.#stopRunner(generation);
    // Nothing of this pool runs any more: whatever it still holds is stale.
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await this.#o.pool.query("select graphile_worker.force_unlock_workers($1::text[])", [[generation.id]]);
        this.#log.info({ workerId: generation.id }, "released the locks of the replaced worker pool");
        break;
      } catch (err) {
        // Past a stop, the other workers' liveness check frees them once this id is unregistered.
        if (this.#stopping?.signal.aborted) break;
        this.#log.warn({ workerId: generation.id, err: errorMessage(err) }, "could not release the replaced worker pool's locks; trying again");
        await sleep(delay, this.#stopping?.signal);
      }
    }
    await generation.liveness.stop();
  }

  /** The runner's graceful stop, asked for once (a second `stop()` only rejects). */
  #stopOnce(generation: Generation): Promise<void> {
    generation.stopping ??= generation.runner.stop().catch((err: unknown) => {
      // Already stopped: it ended on its own.
      this.#log.debug({ workerId: generation.id, err: errorMessage(err) }, "worker pool stop");
    });
    return generation.stopping;
  }

  /** Resolves when `stop` is called. */
  #stopped(): Promise<void> {
    const signal = this.#stopping?.signal;
    if (!signal || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }

  /** Stops taking jobs; running ones finish within the grace time, or are failed back to the queue. */
  async #stopRunner(generation: Generation): Promise<void> {
    const grace = this.#o.shutdownGraceMs ?? 25_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.#stopOnce(generation).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), grace);
      }),
    ]).finally(() => clearTimeout(timer));
    if (timedOut) {
      // Jobs still running are failed back to the queue; another worker retries them.
      this.#log.warn({ workerId: generation.id, graceMs: grace }, "jobs still running after the grace time; releasing them");
      await generation.runner.kill().catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, "could not release running jobs"));
    }
  }

  /**
   * graphile-worker releases a finished job without waiting and looks for the next job at once,
   * while the conversation's queue is still locked; the next message of the conversation would
   * then wait for a poll (up to `pollIntervalMs`). So once the release is in, a worker is woken
   * for the conversation's next job, if there is one: here directly, in other processes through
   * graphile-worker's own NOTIFY channel.
   */
  async #wakeNext(jobId: string, conversationId: string): Promise<void> {
    try {
      for (let tries = 0; tries < 40; tries++) {
        // On a server, the NOTIFY goes in the same statement as the look (one round trip).
        const r = await this.#o.pool.query<{ held: boolean; next: boolean }>(
          `with s as (
             select exists (select 1 from graphile_worker.jobs where id = $1 and locked_at is not null) as held,
                    exists (select 1 from graphile_worker.jobs where queue_name = $2 and locked_at is null
                              and run_at <= now() and attempts < max_attempts) as next
           )
           select held, next${this.#o.embedded ? "" : `, (select count(*) from (select pg_notify('jobs:insert', '{"count":1}') from s where next and not held) n) as notified`}
           from s`,
          [jobId, queueName(conversationId)],
        );
        const row = r.rows[0];
        // Nothing waits behind this job (the usual case: a user waits for the answer before
        // writing again): nobody to wake, no need to watch the release. A message that arrives
        // in the few ms the release takes is found by the next poll.
        if (!row?.next) return;
        if (!row.held) {
          if (this.#o.embedded) this.#nudge(1);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } catch (err) {
      this.#log.debug({ err: errorMessage(err) }, "could not wake a worker for the next job; it waits for a poll");
    }
  }

  async #collectQueues(): Promise<void> {
    try {
      await this.#utils?.cleanup({ tasks: ["GC_JOB_QUEUES"] });
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, "could not remove empty job queues");
    }
  }
}

/** One graphile-worker pool of this queue: replaced by a new one (a new id) when it holds stale locks or stops. */
interface Generation {
  /** The pool's id: what graphile-worker writes in `locked_by`. */
  readonly id: string;
  readonly runner: Runner;
  readonly workerPool: WorkerPool;
  readonly liveness: WorkerLiveness;
  /** Jobs whose handler runs now: job id → named queue. */
  readonly running: Map<string, string>;
  /** Locks no running job accounts for → since when (Date.now()). */
  readonly suspects: Map<string, number>;
  /** Being stopped on purpose (replaced, or the queue stopping). */
  retiring: boolean;
  /** The runner has stopped. */
  ended: boolean;
  /** Its graceful stop, once asked for. */
  stopping?: Promise<void>;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** graphile-worker's logger on ours. Its per-job `info` lines go to debug. */
export function graphileLogger(logger: Logger): GraphileLogger {
  const log = logger.child({ component: "graphile-worker" });
  return new GraphileLogger(() => (level: LogLevel, message: string) => {
    if (level === "error") log.error(message);
    else if (level === "warning") log.warn(message);
    else log.debug(message);
  });
}
