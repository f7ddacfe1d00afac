import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { InProcessSteps, StepRunner } from "../../agents/workers/step-runner.ts";
import type { WorkerInput, WorkerResult } from "../../agents/workers/types.ts";
import { CHANNELS, WaitsListener, type PgListener } from "../db/pg-listener.ts";
import { SwitchboardError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { StepStore, type StepRow } from "./step-store.ts";

export interface QueuedStepsOptions {
  pool: pg.Pool;
  logger: Logger;
  /** The workers that run in this process; every other worker's steps are delegated. */
  local: InProcessSteps;
  /** The process's LISTEN connection: a finished step is announced on it. */
  listener: PgListener;
  /**
   * How often open waits are re-read in the database anyway, in ms: a safety net for a
   * notification lost, not the way results arrive. Default 2000 (250 while the LISTEN connection
   * is down).
   */
  recheckMs?: number;
}

/** A delegated step's worker process ran it and failed: the message's budget may retry it. */
export class StepFailedError extends SwitchboardError {
  constructor(worker: string, detail: string) {
    super("step_failed", `the ${worker} service failed: ${detail}`);
  }
}

interface Waiting {
  worker: string;
  resolve: (result: WorkerResult) => void;
  reject: (err: unknown) => void;
}

/**
 * The supervisor's steps when some workers run elsewhere (`AGENTS`): a local worker's step runs
 * here; any other is a row in `agent_steps` and a graphile-worker job `step:<worker>`, taken by a
 * `switchboard worker --agents <worker>` process, whose result comes back as the row's result and
 * a NOTIFY on the process's one LISTEN connection (then the row is read). Waiting is bounded by
 * the message's budget like any worker run: when it runs out, the step is cancelled (not started
 * yet: no worker process runs it) or abandoned (running: its late result is ignored), and the
 * supervisor hands off as for any worker that timed out.
 */
export class QueuedSteps implements StepRunner {
  readonly #o: QueuedStepsOptions;
  readonly #log: Logger;
  readonly #store: StepStore;
  readonly #waiting = new Map<string, Waiting>();
  /**
   * Finished steps while a step is delegated (the listener LISTENs only then: every LISTENing
   * backend is woken by every NOTIFY of the database). `undefined`: the LISTEN is (back) in
   * place, and every open step is read again.
   */
  readonly #notifications: WaitsListener;
  #timer: NodeJS.Timeout | undefined;
  #readFailing = false;
  #stopped = false;

  constructor(options: QueuedStepsOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "steps" });
    this.#store = new StepStore(options.pool);
    this.#notifications = new WaitsListener(options.listener, CHANNELS.stepFinished, this.#waiting, (ids) => void this.#check(ids));
  }

  start(): void {}

  /** Stops waiting: open steps are given up (their supervisor runs are being cancelled anyway). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#notifications.close();
    clearTimeout(this.#timer);
    const open = [...this.#waiting];
    this.#waiting.clear();
    for (const [id, w] of open) {
      w.reject(new SwitchboardError("shutting_down", "the service is shutting down"));
      await this.#store.giveUp(id).catch(() => {});
    }
  }

  /** Whether `worker`'s steps are delegated from this process. */
  delegates(worker: string): boolean {
    return !this.#o.local.has(worker);
  }

  subgraphs(worker: string) {
    return this.#o.local.subgraphs(worker);
  }

  timeoutText(worker: string): string {
    return this.delegates(worker) ? `the ${worker} service did not answer` : "did not finish";
  }

  async run(worker: string, input: WorkerInput, signal: AbortSignal, deadline: number, messageId?: string): Promise<WorkerResult> {
    if (!this.delegates(worker)) return this.#o.local.run(worker, input, signal);
    if (this.#stopped) throw new SwitchboardError("shutting_down", "the service is shutting down");
    if (signal.aborted) throw signal.reason;
    // The wait is in place before the job exists: the result cannot be announced before it is awaited.
    const id = randomUUID();
    const result = new Promise<WorkerResult>((resolve, reject) => this.#waiting.set(id, { worker, resolve, reject }));
    this.#notifications.opened();
    // The budget can run out (onAbort rejects `result`) while the enqueue below is still running,
    // before `await result` is reached: without a handler now that rejection is unhandled (Node
    // ends the process on one). The await below still gets it.
    result.catch(() => {});
    const onAbort = () => {
      const w = this.#waiting.get(id);
      if (!w) return;
      this.#waiting.delete(id);
      w.reject(signal.reason);
      void this.#store.giveUp(id).then(
        (was) => this.#log.info({ stepId: id, worker, was }, was === "queued" ? "step cancelled before any worker process took it" : "step abandoned: its result would come too late"),
        (err: unknown) => this.#log.warn({ stepId: id, worker, err: errorMessage(err) }, "could not mark a given-up step; its late result is ignored anyway"),
      );
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await this.#store.enqueue({ id, worker, input, deadline, messageId });
      this.#log.debug({ stepId: id, worker }, "step delegated");
      this.#scheduleRecheck();
      if (signal.aborted) onAbort();
      return await result;
    } catch (err) {
      // Not queued (the database refused): the budget may retry it.
      this.#waiting.delete(id);
      throw err;
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#notifications.settled();
    }
  }

  /** Re-reads open steps now and then (a lost notification), often while the LISTEN connection is down. */
  #scheduleRecheck(): void {
    if (this.#timer || this.#stopped) return;
    const every = this.#o.listener.connected ? (this.#o.recheckMs ?? 2000) : 250;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#waiting.size === 0) return;
      void this.#check([...this.#waiting.keys()]).finally(() => this.#scheduleRecheck());
    }, every);
    this.#timer.unref();
  }

  async #check(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      for (const row of await this.#store.finished(ids)) this.#settle(row);
      this.#readFailing = false;
    } catch (err) {
      // The waits stay; the recheck (or the LISTEN connection coming back) reads them again.
      if (!this.#readFailing) this.#log.warn({ err: errorMessage(err) }, "could not read finished steps; retrying");
      this.#readFailing = true;
    }
  }

  #settle(row: StepRow): void {
    const w = this.#waiting.get(row.id);
    if (!w) return;
    this.#waiting.delete(row.id);
    if (row.status === "done" && row.result) w.resolve(row.result);
    else w.reject(new StepFailedError(w.worker, row.error ?? "no result"));
  }
}
