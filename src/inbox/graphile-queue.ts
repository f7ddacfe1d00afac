import { EventEmitter } from "node:events";
import { Logger as GraphileLogger, run, runMigrations, type JobHelpers, type LogLevel, type Runner, type WorkerEvents, type WorkerPool } from "graphile-worker";
import type pg from "pg";
import { z } from "zod";
import { isConnectionError } from "../db/connection-errors.ts";
import { prepared, type StatementPart } from "../db/prepared.ts";
import { interceptClientQueries, statementText } from "../db/intercepted-pool.ts";
import { DatabaseProbe } from "../db/probe.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { PLATFORMS, type Platform } from "../types.ts";
import { DEFAULT_MAX_ATTEMPTS, type JobCompletion, type JobHandler, type JobQueue, type MessageJob, type Queryable, type QueueDepth, type WorkerStartOptions } from "./job-queue.ts";
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

/** `run_at` of a job parked behind its conversation's head: never due until `HAND_ON` sets it. */
const PARKED = "'infinity'::timestamptz";

/**
 * The job of message `m` (SQL expressions: `m`, `p` its platform, `c` its conversation), due at
 * `runAt` (default: when the message arrived; graphile-worker takes jobs in `run_at` order, so a
 * message that waited behind its conversation's earlier ones goes first). The key is the message
 * id. `unsafe_dedupe` (`ENQUEUE`) leaves a job already there (parked, waiting, running or failed)
 * alone; the default `replace` would start a second job beside a running one. `replace`
 * (`HAND_ON`) makes a parked job due. No named queue: the conversation's claim keeps its jobs
 * apart. The flag names the reply's platform, for workers that cannot deliver there. `$1` is the
 * task, `$2` max_attempts (or `task`, `max`).
 */
function addJob(m: string, p: string, c: string, mode: "unsafe_dedupe" | "replace", runAt?: string, task = "$1", max = "$2", arrivedAt = `(select created_at from messages where id = ${m}::uuid)`): string {
  const arrival = `least(${arrivedAt}, clock_timestamp())`;
  return `graphile_worker.add_job(${task}::text,
    json_build_object('messageId', ${m}::text, 'conversationId', ${c}::text, 'platform', ${p}::text),
    max_attempts => ${max}::int, job_key => ${m}::text, job_key_mode => '${mode}', flags => array['platform:' || ${p}::text],
    run_at => ${runAt ? runAt.replace("$ARRIVAL", arrival) : arrival})`;
}

// add_job is called in a select list behind a `where` (or in a `case`), never in a lateral join:
// Postgres calls a function in a join whatever a filter on the other side says.

/**
 * Queues message `$3` of conversation `$4` (platform `$5`) with its job: when nothing is queued
 * there, the message is the conversation's head and its job is due; else it waits behind (its job
 * parked), in arrival order. The upsert works on the row's latest version (it waits for a
 * concurrent writer of the claim to commit), so it sees a head moved up an instant ago. A message
 * already head or waiting is left alone, and no row comes back: `queued` counts what this call
 * queued.
 */
const ENQUEUE = `with claim as (${claimUpsert("values ($4::uuid, $3::uuid, $5::text)")})
  select count((${addJob("$3", "$5", "$4", "unsafe_dedupe", `case when claim.head = $3::uuid then $ARRIVAL else ${PARKED} end`)}).id)::int as queued
  from claim`;

/** `ENQUEUE`'s claim of the message in `source` (a `values` or `select` of conversation, message, platform). */
function claimUpsert(source: string): string {
  return `insert into conversation_claims as c (conversation_id, head, head_platform) ${source}
    on conflict (conversation_id) do update
      set head = coalesce(c.head, excluded.head),
          head_platform = case when c.head is null then excluded.head_platform else c.head_platform end,
          waiting = case when c.head is null then c.waiting
                    else c.waiting || jsonb_build_array(jsonb_build_object('messageId', excluded.head::text, 'platform', excluded.head_platform)) end
      where c.head is distinct from excluded.head
        and not c.waiting @> jsonb_build_array(jsonb_build_object('messageId', excluded.head::text))
    returning c.head`;
}

/**
 * `ENQUEUE` as CTEs (`claim`, `enqueued`) of the statement that stores the message: they read its
 * CTE `stored (message_id, conversation_id, created_at)`, empty for a duplicate. Parameters from
 * `$first`: task, max_attempts, the message's platform. Its arrival is the stored row's (the
 * statement's own insert is not visible to a lookup in `messages`).
 */
function enqueueStoredCtes(first: number): string {
  const [task, max, platform] = [0, 1, 2].map((i) => `$${first + i}`);
  const [m, c, arrived] = ["message_id", "conversation_id", "created_at"].map((col) => `(select ${col} from stored)`);
  const runAt = `case when claim.head = ${m}::uuid then $ARRIVAL else ${PARKED} end`;
  return `claim as (${claimUpsert(`select stored.conversation_id, stored.message_id, ${platform}::text from stored`)}),
  enqueued as (select (${addJob(m!, platform!, c!, "unsafe_dedupe", runAt, task, max, arrived)}).id from claim)`;
}

/** Moves the next waiting message of the claim `c` up to head (null when none waits). */
const MOVE_UP = `head = (c.waiting->0->>'messageId')::uuid, head_platform = c.waiting->0->>'platform', waiting = c.waiting - 0`;

/**
 * The head of a conversation is finished for good (answered, or out of attempts): the next
 * message moves up and its job is made due, in one statement (CTEs `finished`, `next`,
 * `handed_on`; parameters from `$first`: task, max_attempts, the head's message id, its
 * conversation, its job's id, the job's `locked_by`). With the job's id, the finished job is
 * deleted in it too (graphile-worker's own completion, run next, then finds nothing to do), so no
 * crash can leave the finished job to run again beside the next one. The update re-reads the
 * claim's latest version after any concurrent `ENQUEUE` commits: a message queued meanwhile is in
 * `waiting` and moves up here; add_job, a function, looks for its parked job with a snapshot of
 * its own, taken after that commit. A second hand-on of the same head finds it moved on and does
 * nothing.
 */
function handOnCtes(first: number): string {
  const [task, max, message, conversation, jobId, lockedBy] = [0, 1, 2, 3, 4, 5].map((i) => `$${first + i}`);
  return `finished as (
    delete from graphile_worker._private_jobs where id = ${jobId}::bigint and locked_by = ${lockedBy}::text
  ), next as (
    update conversation_claims c set ${MOVE_UP}
    where c.conversation_id = ${conversation}::uuid and c.head = ${message}::uuid
    returning c.head, c.head_platform
  ), handed_on as (
    select (${addJob("next.head", "next.head_platform", conversation!, "replace", undefined, task, max)}).id from next where next.head is not null
  )`;
}

/**
 * A job this pool locked but will not run (it is stopping) goes back as it was: unlocked, its
 * attempt not counted (graphile-worker's own `returnJobs`, for the jobs its local queue gives
 * back). `$1` the job's id, `$2` its `locked_by`.
 */
const RETURN_JOB = `update graphile_worker._private_jobs set attempts = greatest(0, attempts - 1), locked_by = null, locked_at = null
  where id = $1::bigint and locked_by = $2::text`;

/**
 * Thrown by a task given back by a stopping pool, so that graphile-worker does not complete (delete)
 * it. Its failure write is answered without the database (`withoutRedundantWrites`): the job may
 * already be another worker's of the same pool, whose lock that write (by pool id) would undo.
 */
class JobReturned extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} went back to the queue: this worker is stopping`);
  }
}

/** graphile-worker 0.18's completion of a job that has no named queue (`batchCompleteJobs` with one job). */
const COMPLETE_JOB = /^delete from "graphile_worker"\._private_jobs as jobs\s+where id = \$1::bigint$/;
/** graphile-worker 0.18's failure of jobs that have no named queue (`batchFailJobs`): `$2` is `[{ jobId, … }]`. */
const FAIL_JOBS = /^update "graphile_worker"\._private_jobs as jobs\s+set\s+last_error = \(el->>'message'\),[\s\S]*where id = \(el->>'jobId'\)::bigint and locked_by = \$1::text;?$/;

/**
 * `pool` as graphile-worker is given it, with two of its writes answered here, as the database
 * would answer them (no row), at no statement and no commit: its completion of a job in
 * `finished` (this queue's task finished it, and the hand-on deleted its row), and its failure of
 * a job in `returned` (given back by a stopping pool, `JobReturned`). Every other statement goes
 * to the database, and so do those if a graphile-worker upgrade words them otherwise
 * (test/inbox/graphile-completions.test.ts and graphile-stop.test.ts then fail).
 */
function withoutRedundantWrites(pool: pg.Pool, finished: BoundedCounts, returned: BoundedCounts): pg.Pool {
  const none = () => Promise.resolve({ command: "UPDATE", rowCount: 0, rows: [], fields: [], oid: 0 });
  return interceptClientQueries(pool, (query, send) => {
    const values = (query as { values?: unknown[] } | null)?.values;
    const text = statementText(query);
    if (text && values?.length === 1 && COMPLETE_JOB.test(text) && finished.take(String(values[0]))) return none();
    if (text && values?.length === 2 && FAIL_JOBS.test(text)) {
      const specs = JSON.parse(String(values[1])) as Array<{ jobId?: unknown }>;
      if (specs.length === 1 && returned.take(String(specs[0]!.jobId))) return none();
    }
    return send();
  });
}

/** Counts by key that forget the oldest keys past `max` (what nobody took, should a write never come). */
class BoundedCounts {
  readonly #counts = new Map<string, number>();
  constructor(private readonly max: number) {}
  add(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    if (this.#counts.size > this.max) this.#counts.delete(this.#counts.keys().next().value!);
  }
  /** Whether `key` was counted; one count of it is used up. */
  take(key: string): boolean {
    const n = this.#counts.get(key) ?? 0;
    if (n <= 1) this.#counts.delete(key);
    else this.#counts.set(key, n - 1);
    return n > 0;
  }
}

/** The hand-on on its own; `started` counts the jobs it made due (0 or 1). */
const HAND_ON = `with ${handOnCtes(1)} select (select count(*) from handed_on)::int as started`;

/**
 * Claims whose head has no job that can still run: its worker died during the last attempt (the
 * job, unlocked by `WorkerLiveness`, is out of attempts), or the head's `HAND_ON` was lost and
 * graphile-worker completed or failed the job without it. The next message moves up, as
 * `HAND_ON` would have done. The `where` re-checks the head on the row's latest version: a claim
 * handed on meanwhile is left alone.
 */
const REPAIR = `with stuck as (
    select c.conversation_id, c.head from conversation_claims c
    where c.head is not null
      and not exists (select 1 from graphile_worker.jobs j
                      where j.key = c.head::text and (j.locked_at is not null or j.attempts < j.max_attempts))
    limit 100
  ), next as (
    update conversation_claims c set ${MOVE_UP}
    from stuck where c.conversation_id = stuck.conversation_id and c.head = stuck.head
    returning c.conversation_id, c.head, c.head_platform, stuck.head as released
  )
  select next.conversation_id::text, next.released::text,
         case when next.head is not null then (${addJob("next.head", "next.head_platform", "next.conversation_id", "replace")}).id::text end as started
  from next`;

function platformFlag(platform: Platform): string {
  return `platform:${platform}`;
}

/**
 * The inbox on graphile-worker: one job per stored message (job key = message id), and one due
 * job per conversation at a time, so a conversation's messages run in series, in arrival order,
 * across every worker process, while different conversations run in parallel. Failed jobs are
 * retried with graphile-worker's exponential backoff up to `maxAttempts`; the messages behind a
 * job waiting out its backoff wait too (strict order, as in the in-process queue).
 *
 * ## The per-conversation claim
 *
 * graphile-worker's named queues would do this, but one named queue per conversation costs its
 * fetch most of its speed (graphile-worker: 2,653 no-op jobs/s without named queues, 597/s with
 * one per job, in one run on this machine). Instead `conversation_claims` has one row per
 * conversation: `head`, the message whose job may run now, and `waiting`, the messages behind it,
 * whose jobs are parked (`run_at` = infinity: graphile-worker never takes them). So graphile-worker
 * never runs two jobs of a conversation, and no lock, lease or poll is needed to keep them apart.
 * Three statements change a claim, each one statement on the claim's row, and the row lock orders
 * them:
 *
 * - `ENQUEUE` (in the transaction that stores the message): no head → the message is head and its
 *   job is added, due; else it is appended to `waiting` and its job added, parked. Claim and job
 *   are written in one statement and commit with the message or not at all.
 * - `HAND_ON` (the head's handler returned, or failed its last attempt): the first waiting
 *   message becomes head and its parked job is made due, in one statement; with none waiting the
 *   head becomes null. After a success the finished job is deleted in it too.
 * - `REPAIR` (each worker's sweep): a head whose job can no longer run is handed on.
 *
 * Why no interleaving loses a wake-up or runs two jobs of a conversation:
 *
 * 1. ENQUEUE while the head runs: the message waits; HAND_ON moves it up. ENQUEUE and HAND_ON at
 *    once: whichever takes the row first commits first, and the other works on its result
 *    (`insert … on conflict do update` and `update` both re-read the row's latest version after
 *    waiting for its lock, and their `set` is computed from that version). HAND_ON first → the
 *    head is null (or the next message), and ENQUEUE makes its message head (or appends it);
 *    ENQUEUE first → its message is in `waiting`, and HAND_ON moves it up and makes its job due
 *    (add_job runs its own statements, whose snapshots see ENQUEUE's commit). A head's job is
 *    made due by the very statement that makes it head, so no head waits for a second step.
 * 2. Two ENQUEUEs of one conversation: serialized on the row; the later appends. The same
 *    message twice (a recovery beside an intake): the second finds it head or waiting and does
 *    nothing (and `unsafe_dedupe` would keep a second job out anyway).
 * 3. The head's worker dies while it runs: the job stays locked until `WorkerLiveness` releases
 *    the dead worker's jobs; it runs again (the lost attempt counts) and the messages behind it
 *    wait meanwhile. If that was its last attempt, the released job cannot run again: `REPAIR`
 *    hands the claim on, and the next message's turn answers the earlier unfinished one first
 *    (`TurnRunner.runJob`).
 * 4. The worker dies after the handler returned and before HAND_ON committed: as in 3, the job
 *    runs again (its message is done: the handler finds it so) and hands on. After HAND_ON
 *    committed: the finished job was deleted in it, so nothing runs twice.
 * 5. HAND_ON fails (the database went away): the job waits for the database, then hands on; if
 *    the worker is stopping meanwhile, the job fails back to graphile-worker and is retried (and
 *    hands on then). Its answer lost after it committed: the retry finds the head moved on and
 *    does nothing.
 * 6. A last attempt that fails hands on before graphile-worker records the failure; if the worker
 *    dies in between, the job, released, is out of attempts: `REPAIR` (3).
 * 7. A job waiting out its backoff keeps the head, so the messages behind it wait; it can run
 *    again (`attempts < max_attempts`), so `REPAIR` leaves it alone. A job only some workers take
 *    (its platform's flag) waits for one of them the same way.
 * 8. A fetch or release this worker's pool made that the lost connection hid leaves the head's
 *    job locked by a live worker that runs none of it: `#sweep` replaces the pool and releases
 *    its id's locks, and the job runs again.
 *
 * The database may go away and come back while it runs: a job interrupted by the lost connection
 * waits for it to answer again before it is handed back (so its failure is recorded and it is
 * retried), and locks this worker holds that none of its running jobs accounts for are released
 * by the worker itself (`#sweep`), as graphile-worker would keep them for four hours.
 *
 * `localQueue` is not used: the jobs it holds locked but not running would look stale here.
 */
export class GraphileJobQueue implements JobQueue {
  readonly kind = "postgres" as const;
  readonly addWrites = true;
  readonly #o: GraphileQueueOptions;
  readonly #log: Logger;
  readonly #maxAttempts: number;
  readonly #probe: DatabaseProbe;
  /** Jobs a task of this queue finished, and jobs it gave back: graphile-worker's writes of them must leave their rows alone (`withoutRedundantWrites`). */
  readonly #finishedJobs = new BoundedCounts(1000);
  readonly #returnedJobs = new BoundedCounts(1000);
  /** The pool graphile-worker runs on. */
  readonly #graphilePool: pg.Pool;
  #handler: JobHandler | undefined;
  #startOptions: WorkerStartOptions = {};
  /** The worker pool taking jobs now. */
  #current: Generation | undefined;
  /** Replaced worker pools finishing their jobs before their locks are released. */
  readonly #retiring = new Set<Promise<void>>();
  /** A replacement being started. */
  #replacing: Promise<void> | undefined;
  #stopping: AbortController | undefined;
  #gcTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping = false;

  constructor(options: GraphileQueueOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "queue" });
    this.#maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.#probe = new DatabaseProbe(options.pool);
    this.#graphilePool = withoutRedundantWrites(options.pool, this.#finishedJobs, this.#returnedJobs);
  }

  /** Installs or upgrades graphile-worker's schema (`graphile_worker`). Safe from several processes. */
  static async installSchema(pool: pg.Pool, logger: Logger, embedded: boolean): Promise<void> {
    await runMigrations({ pgPool: pool, logger: graphileLogger(logger), noPreparedStatements: embedded });
  }

  get workerId(): string | undefined {
    return this.#current?.id;
  }

  async add(tx: Queryable, job: MessageJob): Promise<void> {
    await this.#enqueue(tx, job);
  }

  addPart(platform: Platform): StatementPart {
    return { ctes: enqueueStoredCtes, values: [MESSAGE_TASK, this.#maxAttempts, platform], result: "(select count(*) from enqueued)::int" };
  }

  /** `ENQUEUE`: whether this call queued the message (it was neither head nor waiting). */
  async #enqueue(tx: Queryable, job: MessageJob): Promise<boolean> {
    const r = await tx.query<{ queued: number }>(prepared(ENQUEUE, [MESSAGE_TASK, this.#maxAttempts, job.messageId, job.conversationId, job.platform], !this.#o.embedded));
    return (r.rows[0]?.queued ?? 0) > 0;
  }

  added(): void {
    // A worker in this process looks now instead of at its next poll (embedded Postgres has no
    // NOTIFY; on a server this only saves the round trip).
    this.#nudge(1);
  }

  async recover(jobs: readonly MessageJob[]): Promise<number> {
    let queued = 0;
    for (const job of jobs) if (await this.#enqueue(this.#o.pool, job)) queued++;
    if (queued) this.#nudge(Math.min(queued, this.#o.concurrency ?? 8));
    return queued;
  }

  async start(handler: JobHandler, options: WorkerStartOptions = {}): Promise<void> {
    if (this.#handler) throw new Error("the queue is already started");
    this.#handler = handler;
    this.#startOptions = options;
    this.#stopping = new AbortController();
    this.#current = await this.#startPool();
    // One claim row per conversation: idle ones are removed now and then.
    this.#gcTimer = setInterval(() => void this.#collectClaims(), 60 * 60_000 * (1 + Math.random() * 0.1));
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
      // A job parked behind its conversation's head is ready too: it waits for a worker (the head's).
      `select count(*) filter (where locked_at is null and attempts < max_attempts and (run_at <= now() or run_at = ${PARKED}))::int as ready,
              count(*) filter (where locked_at is null and attempts < max_attempts and run_at > now() and run_at <> ${PARKED})::int as scheduled,
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
    events.on("job:failed", ({ job, error }) => {
      this.#log.error({ jobId: job.id, payload: job.payload, err: errorMessage(error) }, "job out of attempts");
    });
    const skipPlatforms = this.#startOptions.skipPlatforms;
    let made: Generation | undefined;
    const stopping = () => this.#stopping?.signal.aborted === true || made?.retiring === true;
    const runner = await run({
      pgPool: this.#graphilePool,
      concurrency: this.#o.concurrency ?? 8,
      pollInterval: this.#o.pollIntervalMs ?? (this.#o.embedded ? 500 : 2000),
      noHandleSignals: true,
      noPreparedStatements: this.#o.embedded,
      logger: graphileLogger(this.#log),
      events,
      parsedCronItems: [],
      // graphile-worker's own completion of a job finds nothing to do (the handler's last
      // statement deleted the job, see `handOnCtes`), yet costs a statement and a commit: the
      // pool it is given answers it without the database (`withoutRedundantWrites`). It is
      // not batched (`completeJobBatchDelay`) either: in graphile-worker 0.18 a batch whose
      // statement fails (the database gone mid-run) shuts the worker pool down "in an
      // inconsistent state", and that shutdown was seen to hang with jobs waiting
      // (test/inbox/database-outage.test.ts, kill -9 case, 2 runs in 6).
      ...(skipPlatforms ? { forbiddenFlags: () => skipPlatforms().map(platformFlag) } : {}),
      taskList: { [MESSAGE_TASK]: (payload, helpers) => this.#runTask(payload, helpers, running, stopping) },
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
    made = generation;
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
  /**
   * One job: the handler, then the conversation's claim handed on to its next message (`HAND_ON`)
   * unless the handler folded the hand-on into its last statement (`completion`); around them
   * what keeps a lost connection from leaving the job locked. The job counts as running (for
   * `#sweep`) until the hand-on is in.
   */
  async #runTask(payload: unknown, helpers: JobHelpers, running: Map<string, string>, stopping: () => boolean): Promise<void> {
    const job = Payload.parse(payload);
    const { id, attempts, max_attempts: max } = helpers.job;
    const final = attempts >= max;
    const lockedBy = helpers.job.locked_by ?? "";
    // graphile-worker runs the job of a fetch that was on its way when the pool was told to stop.
    if (stopping()) {
      try {
        await this.#o.pool.query(RETURN_JOB, [id, lockedBy]);
        this.#returnedJobs.add(id);
        this.#log.debug({ jobId: id, conversationId: job.conversationId }, "job taken while stopping went back to the queue");
      } catch (err) {
        // graphile-worker's failure write (run next) releases it then, as any failed job.
        this.#log.warn({ jobId: id, err: errorMessage(err) }, "could not give back a job taken while stopping; it is retried after a backoff");
      }
      throw new JobReturned(id);
    }
    let handedOn = false;
    const completion: JobCompletion = {
      ctes: handOnCtes,
      values: [MESSAGE_TASK, this.#maxAttempts, job.messageId, job.conversationId, id, lockedBy],
      result: "(select count(*) from handed_on)::int",
      completed: (started) => {
        handedOn = true;
        this.#handedOn(Number(started));
      },
    };
    running.set(id, job.conversationId);
    try {
      try {
        await this.#handler!(job, { number: attempts, max, final, workerId: helpers.job.locked_by ?? undefined, completion });
      } catch (err) {
        // graphile-worker records the failure (unlocks the job for its retry) as soon as this
        // throws; with the database gone that write fails too, and the job would stay locked by
        // this live worker for four hours. So a job that failed for the connection waits here
        // until the database answers again.
        if (isConnectionError(err) && this.#stopping && !(await this.#probe.reachable())) {
          this.#log.warn({ jobId: id, conversationId: job.conversationId }, "job interrupted: the database is unreachable; waiting for it to hand the job back for a retry");
          await this.#probe.waitUntilReachable(this.#stopping.signal);
        }
        // Out of attempts: the conversation goes on without it (graphile-worker keeps the job as failed).
        if (final) {
          await this.#handOn(job).catch((handOnErr: unknown) =>
            this.#log.warn({ jobId: id, conversationId: job.conversationId, err: errorMessage(handOnErr) }, "could not hand the conversation on after a failed last attempt; the sweep will"),
          );
        }
        throw err;
      }
      if (!handedOn) await this.#handOn(job, { id, lockedBy });
      // The job's row is gone (deleted with the hand-on), or another pool holds it (this one's
      // lock was released meanwhile): either way graphile-worker's completion must not touch it.
      this.#finishedJobs.add(id);
    } finally {
      running.delete(id);
    }
  }

  /**
   * `HAND_ON` for `job`, the conversation's head; with `completed`, its finished job is deleted
   * in the same statement. Lost for the connection: waits for the database and tries again (a
   * stop gives up waiting, and the job fails back to graphile-worker: its retry hands on).
   */
  async #handOn(job: MessageJob, completed?: { id: string; lockedBy: string }): Promise<void> {
    for (;;) {
      try {
        const values = [MESSAGE_TASK, this.#maxAttempts, job.messageId, job.conversationId, completed?.id ?? null, completed?.lockedBy ?? null];
        const r = await this.#o.pool.query<{ started: number }>(prepared(HAND_ON, values, !this.#o.embedded));
        this.#handedOn(r.rows[0]?.started ?? 0);
        return;
      } catch (err) {
        if (!isConnectionError(err) || !this.#stopping) throw err;
        this.#log.warn({ conversationId: job.conversationId, err: errorMessage(err) }, "could not hand the conversation on to its next message; waiting for the database");
        if (!(await this.#probe.waitUntilReachable(this.#stopping.signal))) throw err;
      }
    }
  }

  /** A hand-on made `started` jobs due: on a server add_job's NOTIFY wakes a worker; embedded Postgres has none. */
  #handedOn(started: number): void {
    if (started > 0 && this.#o.embedded) this.#nudge(started);
  }

  /**
   * Finds locks of the current worker pool that none of its running jobs accounts for: a job
   * whose release was lost with the connection (graphile-worker completes and fails jobs without
   * waiting, so such a failure only surfaces as an unhandled rejection), or a job whose fetch the
   * database committed while the answer was lost. Still there after `staleLockMs`, they are
   * stale, and the pool is replaced: the new one takes jobs under a new id, the old one finishes
   * the jobs it runs, then everything still locked under its id is released
   * (`force_unlock_workers`), and the conversation goes on. Then claims whose head's job can no
   * longer run are handed on (`REPAIR`).
   */
  async #sweep(): Promise<void> {
    const generation = this.#current;
    if (this.#sweeping || this.#replacing || !generation || generation.retiring) return;
    this.#sweeping = true;
    try {
      const jobs = await this.#o.pool.query<{ id: string }>("select id::text as id from graphile_worker.jobs where locked_by = $1", [generation.id]);
      const unaccounted = new Set(jobs.rows.filter((j) => !generation.running.has(j.id)).map((j) => `job ${j.id}`));
      const now = Date.now();
      for (const key of generation.suspects.keys()) if (!unaccounted.has(key)) generation.suspects.delete(key);
      for (const key of unaccounted) if (!generation.suspects.has(key)) generation.suspects.set(key, now);
      const stale = [...generation.suspects].filter(([, since]) => now - since >= this.#staleLockMs).map(([key]) => key);
      if (stale.length) await this.#replace(generation, `locks no running job accounts for: ${stale.join(", ")}`);
      await this.#repairClaims();
    } catch (err) {
      this.#log.debug({ err: errorMessage(err) }, "could not look for stale locks; trying again");
    } finally {
      this.#sweeping = false;
    }
  }

  /** `REPAIR`: hands on the claims whose head's job can no longer run. */
  async #repairClaims(): Promise<void> {
    const r = await this.#o.pool.query<{ conversation_id: string; released: string; started: string | null }>(REPAIR, [MESSAGE_TASK, this.#maxAttempts]);
    for (const row of r.rows) {
      this.#log.warn({ conversationId: row.conversation_id, messageId: row.released }, "the conversation's head message has no job that can run (its worker died on the last attempt, or its hand-on was lost); the next message goes on");
    }
    if (this.#o.embedded && r.rows.some((row) => row.started)) this.#nudge(r.rows.length);
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
   * Removes the claims of idle conversations. Safe beside `ENQUEUE`: the delete re-checks `head`
   * on a row an enqueue changed meanwhile, and an enqueue whose row is deleted under it inserts
   * a new one.
   */
  async #collectClaims(): Promise<void> {
    try {
      await this.#o.pool.query("delete from conversation_claims where head is null");
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, "could not remove idle conversation claims");
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
  /** Jobs whose handler runs now: job id → conversation id. */
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
  return new GraphileLogger(() => (level: LogLevel, message: string, meta?: { error?: unknown }) => {
    // A job given back by a stopping pool is no failure (`JobReturned`).
    if (meta?.error instanceof JobReturned) log.debug(message);
    else if (level === "error") log.error(message);
    else if (level === "warning") log.warn(message);
    else log.debug(message);
  });
}
