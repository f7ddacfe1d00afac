import type pg from "pg";
import type { WorkerInput, WorkerResult } from "../../agents/workers/types.ts";

/** The graphile-worker task of a worker's delegated steps: a process registers only the tasks of the workers it runs. */
export function stepTask(worker: string): string {
  return `step:${worker}`;
}

/** Attempts graphile-worker gives a step job (each one a worker process that took it and vanished). */
const STEP_JOB_ATTEMPTS = 10;

/**
 * A step's rows are transient state bounded by its message's budget, and each commit waiting for
 * its WAL flush (~1.5 ms here, far more under load) was most of what delegating a step added: so
 * the step's own writes commit without waiting for the flush (`synchronous_commit = off` for that
 * transaction only). A Postgres crash can lose the last few hundred ms of them, never corrupt
 * anything: a step lost that way is not answered in time, and the supervisor hands off with the
 * reason, as for any step whose service is down. The billing tools' own writes stay synchronous.
 */
const ASYNC_COMMIT = "select set_config('synchronous_commit', 'off', true)";

/**
 * The step row and its job in one statement (one round trip, one transaction): the job's key is
 * the step id, so a step given up before it started is removed from the queue by that key.
 */
const ENQUEUE = `with async_commit as (${ASYNC_COMMIT}), step as (
    insert into agent_steps (id, conversation_id, message_id, worker, input, deadline)
    values ($1::uuid, $2::uuid, $3::uuid, $4, $5::jsonb, to_timestamp($6::double precision / 1000))
    returning id)
  select graphile_worker.add_job($7, json_build_object('stepId', step.id::text), max_attempts => ${STEP_JOB_ATTEMPTS}, job_key => step.id::text) from step, async_commit`;

/** A step row as the supervisor reads it back. */
export interface StepRow {
  id: string;
  status: StepStatus;
  result: WorkerResult | null;
  error: string | null;
}

export type StepStatus = "queued" | "running" | "done" | "failed" | "cancelled" | "abandoned";

/** What a worker process got when it claimed a step. */
export interface ClaimedStep {
  id: string;
  worker: string;
  input: WorkerInput;
  /** Epoch ms. */
  deadline: number;
  attempts: number;
  /** The message the step answers (what its model calls are recorded against); null when unknown. */
  messageId: string | null;
}

/** The SQL of `agent_steps` (migrations/013_agent_steps.sql), both sides of it. */
export class StepStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Queues a step of `worker` (row and graphile-worker job together). */
  async enqueue(step: { id: string; worker: string; input: WorkerInput; deadline: number; messageId?: string | undefined }): Promise<void> {
    const conversationId = UUID.test(step.input.caller.conversationId) ? step.input.caller.conversationId : null;
    await this.#pool.query(ENQUEUE, [step.id, conversationId, step.messageId && UUID.test(step.messageId) ? step.messageId : null, step.worker, JSON.stringify(step.input), step.deadline, stepTask(step.worker)]);
  }

  /** The rows of `ids` that are finished (done or failed). */
  async finished(ids: readonly string[]): Promise<StepRow[]> {
    const r = await this.#pool.query<StepRow>("select id::text, status, result, error from agent_steps where id = any($1::uuid[]) and status in ('done', 'failed')", [ids]);
    return r.rows;
  }

  /**
   * The supervisor stops waiting (the budget ran out, the turn was cancelled): a step not started
   * is cancelled and its job removed, so no worker process runs it; one running (or finished too
   * late to be read) is abandoned, and what it answers is ignored. Returns the status before, if
   * the step was still open.
   */
  async giveUp(id: string): Promise<StepStatus | undefined> {
    const r = await this.#pool.query<{ was: StepStatus }>(
      `with prior as (select id, status as was from agent_steps where id = $1::uuid for update)
       update agent_steps s set status = case when prior.was = 'queued' then 'cancelled' else 'abandoned' end,
              finished_at = coalesce(s.finished_at, clock_timestamp())
       from prior
       where s.id = prior.id and prior.was in ('queued', 'running', 'done', 'failed')
       returning prior.was`,
      [id],
    );
    const was = r.rows[0]?.was;
    // A job nobody took is removed; one locked by a worker process is left to it (it finds the row cancelled).
    if (was === "queued") await this.#pool.query("select graphile_worker.remove_job($1)", [id]);
    return was;
  }

  /**
   * A worker process takes a step: it runs it only if it is still wanted (not cancelled, not
   * finished) and its budget has not run out; a step past its deadline is cancelled instead. A
   * step another process took and never finished (it was killed) is taken over: `attempts` counts.
   */
  async claim(id: string, claimedBy: string, pid: number): Promise<ClaimedStep | undefined> {
    const r = await this.#pool.query<{ id: string; status: StepStatus; worker: string; input: WorkerInput; deadline_ms: number; attempts: number; message_id: string | null }>(
      `with async_commit as (${ASYNC_COMMIT})
       update agent_steps set
          status = case when deadline > clock_timestamp() then 'running' else 'cancelled' end,
          attempts = attempts + case when deadline > clock_timestamp() then 1 else 0 end,
          claimed_by = $2, claimed_pid = $3, started_at = clock_timestamp(),
          error = case when deadline > clock_timestamp() then error else 'not started before the message''s budget ran out' end,
          finished_at = case when deadline > clock_timestamp() then null else clock_timestamp() end
       from async_commit
       where id = $1::uuid and status in ('queued', 'running')
       returning id::text, status, worker, input, extract(epoch from deadline) * 1000 as deadline_ms, attempts, message_id::text`,
      [id, claimedBy, pid],
    );
    const row = r.rows[0];
    if (!row || row.status !== "running") return undefined;
    return { id: row.id, worker: row.worker, input: row.input, deadline: Number(row.deadline_ms), attempts: row.attempts, messageId: row.message_id };
  }

  /**
   * Deletes the rows of steps whose message's budget ended more than `olderThanMs` ago: nobody
   * waits for them any more (what each step did is in `worker_runs`), and their input holds the
   * user's words. A job left for one (it was never taken) goes too. Returns how many went.
   */
  async prune(olderThanMs: number): Promise<number> {
    const r = await this.#pool.query<{ id: string; status: StepStatus }>(
      "delete from agent_steps where deadline < clock_timestamp() - make_interval(secs => $1::double precision / 1000) returning id::text, status",
      [olderThanMs],
    );
    const unfinished = r.rows.filter((row) => row.status === "queued").map((row) => row.id);
    if (unfinished.length) await this.#pool.query("select graphile_worker.remove_job(k) from unnest($1::text[]) as k", [unfinished]);
    return r.rowCount ?? 0;
  }

  /**
   * Records a step's end, if the step is still this process's to finish (the NOTIFY trigger wakes
   * the supervisor). False when it was given up (or taken over) meanwhile: the result is late and
   * ignored, never applied.
   */
  async finish(id: string, claimedBy: string, outcome: { result: WorkerResult } | { error: string }): Promise<boolean> {
    const done = "result" in outcome;
    const r = await this.#pool.query(
      `with async_commit as (${ASYNC_COMMIT})
       update agent_steps set status = $3, result = $4::jsonb, error = $5, finished_at = clock_timestamp()
       from async_commit
       where id = $1::uuid and status = 'running' and claimed_by = $2`,
      [id, claimedBy, done ? "done" : "failed", done ? JSON.stringify(outcome.result) : null, done ? null : outcome.error],
    );
    if ((r.rowCount ?? 0) > 0) return true;
    await this.#pool.query("update agent_steps set error = coalesce(error, 'a late result was ignored') where id = $1::uuid and status in ('abandoned', 'cancelled')", [id]);
    return false;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
