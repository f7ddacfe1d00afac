import type pg from "pg";
import type { StatementPart } from "../db/prepared.ts";
import type { Platform } from "../types.ts";

/**
 * The inbox as a port: one job per stored inbound message, the jobs of one conversation run one at
 * a time and in arrival order, different conversations in parallel up to a concurrency; a job
 * that throws is retried with backoff. Two implementations: `InProcessJobQueue` (memory, one
 * process) and `GraphileJobQueue` (graphile-worker on Postgres, any number of processes).
 */
export interface JobQueue {
  /** `memory`: in this process only; `postgres`: graphile-worker, shared by every process on the database. */
  readonly kind: JobQueueKind;
  /**
   * Adds the job of a message being stored, on `tx`, the connection of the transaction that
   * stores it, so the message and its job commit together (store, then acknowledge). Adding the
   * same message twice makes one job.
   */
  add(tx: Queryable, job: MessageJob): Promise<void>;
  /**
   * Whether `add` writes anything. False for the in-process queue (the message row is the job):
   * the intake then stores a message in one statement, with no transaction held around it.
   */
  readonly addWrites: boolean;
  /**
   * `add` as part of the statement that stores the message (one statement, no transaction around
   * it): CTEs that read the statement's `stored (message_id, conversation_id, created_at)`, which
   * holds the new message's row (none for a duplicate). Absent: the intake calls `add` in a
   * transaction around the store.
   */
  addPart?(platform: Platform): StatementPart;
  /** Tells the queue the transaction of `add` committed (the in-process queue starts it here). */
  added(job: MessageJob): void;
  /**
   * Queues stored messages a crash left unfinished (oldest first); a message that still has its
   * job is not queued twice. Returns how many were queued.
   */
  recover(jobs: readonly MessageJob[]): Promise<number>;
  /** Begins processing jobs with `handler` (this process is a worker). */
  start(handler: JobHandler, options?: WorkerStartOptions): Promise<void>;
  /** Stops taking jobs; the ones running finish (or, past the grace time, are released for a retry). */
  stop(): Promise<void>;
  /** Jobs by state, across every process sharing the queue. */
  depth(): Promise<QueueDepth>;
  /**
   * Whether the queue works now (`/healthz`): jobs can be added and, in a started worker, are
   * being taken. The shared queue answers false while its database is unreachable (probed, at
   * most 2 s) or its worker pool is down and being replaced.
   */
  healthy(): Promise<boolean>;
  /** This worker's id (the one recorded with processing attempts); undefined before `start`. */
  readonly workerId: string | undefined;
}

export type JobQueueKind = "memory" | "postgres";

/** `pg.Pool` or a checked-out client: whatever `query` runs on. */
export type Queryable = Pick<pg.ClientBase, "query">;

/** The job of one stored inbound message. */
export interface MessageJob {
  messageId: string;
  conversationId: string;
  /** Where the reply goes: a worker takes only jobs it can deliver. */
  platform: Platform;
}

export interface WorkerStartOptions {
  /**
   * Platforms this worker cannot deliver to (no adapter configured here); their jobs are left to
   * other workers. Asked before each fetch. Default: none.
   */
  skipPlatforms?: () => readonly Platform[];
}

export interface JobAttempt {
  /** 1 for the first run. */
  number: number;
  max: number;
  /** The last attempt: the handler must not leave the message unanswered (hand it to a person). */
  final: boolean;
  /**
   * The id of the worker running it, as the queue locked the job (graphile-worker's `locked_by`).
   * Read from the job, not the queue: a job can start before the queue learns its pool's id.
   */
  workerId?: string | undefined;
  /**
   * The queue's own end of the job, for the handler to fold into its last statement (one round
   * trip and one commit less per job); unset when the queue has none to offer (in-process). The
   * queue runs it itself after the handler unless `completed` was called.
   */
  completion?: JobCompletion | undefined;
}

/**
 * SQL that finishes a job: common table expressions to add to the `with` of the handler's last
 * statement, and an expression over them that the statement must select (a `with` query that
 * nothing reads does not run). Once that statement committed, the job is over: the conversation's
 * next job may start (call `completed` with the expression's value).
 */
export interface JobCompletion {
  /** The CTEs, comma-separated, without `with`; their parameters are numbered from `first`. */
  ctes(first: number): string;
  readonly values: readonly unknown[];
  /** A scalar SQL expression over the CTEs. */
  readonly result: string;
  /** The statement with `ctes` committed; `result` is what it selected. */
  completed(result: unknown): void;
}

/** Processes one job; throwing asks for a retry with backoff (unless the attempt was final). */
export type JobHandler = (job: MessageJob, attempt: JobAttempt) => Promise<void>;

export type QueueDepth = {
  /** Waiting for a worker now. */
  ready: number;
  /** Waiting for a retry's backoff to pass. */
  scheduled: number;
  running: number;
  /** Out of attempts and not handed off (only if even the fallback failed). */
  failed: number;
};

/** Attempts per job. Default 4: retries after about 3, 7 and 20 s, then a person takes over. */
export const DEFAULT_MAX_ATTEMPTS = 4;

/** graphile-worker's backoff, which the in-process queue copies: e^min(attempts, 10) seconds. */
export function backoffMs(attemptsSoFar: number): number {
  return Math.round(Math.exp(Math.min(attemptsSoFar, 10)) * 1000);
}
