import { EventEmitter } from "node:events";
import { Logger as GraphileLogger, makeWorkerUtils, run, runMigrations, type LogLevel, type Runner, type WorkerEvents, type WorkerPool, type WorkerUtils } from "graphile-worker";
import type pg from "pg";
import { z } from "zod";
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
 * `localQueue` is deliberately not used: it lets two jobs of one named queue run at once
 * (graphile/worker#621).
 */
export class GraphileJobQueue implements JobQueue {
  readonly kind = "postgres" as const;
  readonly #o: GraphileQueueOptions;
  readonly #log: Logger;
  readonly #maxAttempts: number;
  #runner: Runner | undefined;
  #workerPool: WorkerPool | undefined;
  #liveness: WorkerLiveness | undefined;
  #utils: WorkerUtils | undefined;
  #gcTimer: NodeJS.Timeout | undefined;

  constructor(options: GraphileQueueOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "queue" });
    this.#maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    handleClientErrors(options.pool, this.#log);
  }

  /** Installs or upgrades graphile-worker's schema (`graphile_worker`). Safe from several processes. */
  static async installSchema(pool: pg.Pool, logger: Logger, embedded: boolean): Promise<void> {
    handleClientErrors(pool, logger);
    await runMigrations({ pgPool: pool, logger: graphileLogger(logger), noPreparedStatements: embedded });
  }

  get workerId(): string | undefined {
    return this.#workerPool?.id;
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
    this.#workerPool?.nudge(1);
  }

  async recover(jobs: readonly MessageJob[]): Promise<number> {
    let queued = 0;
    for (const job of jobs) {
      const r = await this.#o.pool.query<{ revision: number }>(`select revision from (${ADD_JOB}) added`, this.#addJobValues(job));
      // A new job has revision 0; an existing one was only touched.
      if (r.rows[0]?.revision === 0) queued++;
    }
    if (queued) this.#workerPool?.nudge(Math.min(queued, this.#o.concurrency ?? 8));
    return queued;
  }

  async start(handler: JobHandler, options: WorkerStartOptions = {}): Promise<void> {
    if (this.#runner) throw new Error("the queue is already started");
    const events: WorkerEvents = new EventEmitter() as WorkerEvents;
    events.on("pool:create", ({ workerPool }) => {
      this.#workerPool = workerPool;
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
    this.#runner = await run({
      pgPool: this.#o.pool,
      concurrency: this.#o.concurrency ?? 8,
      pollInterval: this.#o.pollIntervalMs ?? (this.#o.embedded ? 500 : 2000),
      noHandleSignals: true,
      noPreparedStatements: this.#o.embedded,
      logger: graphileLogger(this.#log),
      events,
      parsedCronItems: [],
      ...(options.skipPlatforms ? { forbiddenFlags: () => options.skipPlatforms!().map(platformFlag) } : {}),
      taskList: {
        [MESSAGE_TASK]: async (payload, helpers) => {
          const job = Payload.parse(payload);
          const { attempts, max_attempts: max } = helpers.job;
          await handler(job, { number: attempts, max, final: attempts >= max });
        },
      },
    });
    const workerId = this.#workerPool?.id;
    if (!workerId) throw new Error("graphile-worker started no worker pool");
    this.#liveness = new WorkerLiveness({ pool: this.#o.pool, logger: this.#log, workerId, leaseMs: this.#o.leaseMs ?? 30_000 });
    await this.#liveness.start();
    this.#utils = await makeWorkerUtils({ pgPool: this.#o.pool, logger: graphileLogger(this.#log), noPreparedStatements: this.#o.embedded });
    // One named queue per conversation: empty ones are removed now and then.
    this.#gcTimer = setInterval(() => void this.#collectQueues(), 60 * 60_000 * (1 + Math.random() * 0.1));
    this.#gcTimer.unref();
    this.#log.info({ workerId, concurrency: this.#o.concurrency ?? 8, embedded: this.#o.embedded }, "worker started");
  }

  async stop(): Promise<void> {
    const runner = this.#runner;
    if (!runner) return;
    this.#runner = undefined;
    clearInterval(this.#gcTimer);
    const grace = this.#o.shutdownGraceMs ?? 25_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      runner.stop().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), grace);
      }),
    ]).finally(() => clearTimeout(timer));
    if (timedOut) {
      // Jobs still running are failed back to the queue; another worker retries them.
      this.#log.warn({ graceMs: grace }, "jobs still running after the grace time; releasing them");
      await runner.kill().catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, "could not release running jobs"));
    }
    await this.#liveness?.stop();
    await this.#utils?.release();
    this.#log.info("worker stopped");
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
        const r = await this.#o.pool.query<{ held: boolean; next: boolean }>(
          `select exists (select 1 from graphile_worker.jobs where id = $1 and locked_at is not null) as held,
                  exists (select 1 from graphile_worker.jobs where queue_name = $2 and locked_at is null
                            and run_at <= now() and attempts < max_attempts) as next`,
          [jobId, queueName(conversationId)],
        );
        const row = r.rows[0];
        if (!row?.held) {
          if (!row?.next) return;
          if (this.#o.embedded) this.#workerPool?.nudge(1);
          else await this.#o.pool.query(`select pg_notify('jobs:insert', '{"count":1}')`);
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

/**
 * An error handler on every client the pool makes: a client that errors while checked out must
 * not crash the process. graphile-worker checks for it (and warns on the console without it).
 */
function handleClientErrors(pool: pg.Pool, logger: Logger): void {
  if (pool.listenerCount("connect") > 0) return;
  pool.on("connect", (client) => client.on("error", (err) => logger.warn({ err: err.message }, "database connection failed")));
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
