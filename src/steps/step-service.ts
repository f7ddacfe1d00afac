import { EventEmitter } from "node:events";
import { run, type Runner, type Task, type WorkerEvents, type WorkerPool } from "graphile-worker";
import type pg from "pg";
import { z } from "zod";
import { recordModelCalls, type ModelCallSink } from "../../agents/engines/model-calls.ts";
import type { InProcessSteps } from "../../agents/workers/step-runner.ts";
import type { WorkerResult } from "../../agents/workers/types.ts";
import { DatabaseProbe } from "../db/probe.ts";
import { errorMessage } from "../errors.ts";
import { graphileLogger } from "../inbox/graphile-queue.ts";
import { WorkerLiveness } from "../inbox/worker-liveness.ts";
import type { Logger } from "../logger.ts";
import { StepStore, stepTask } from "./step-store.ts";

export interface StepServiceOptions {
  pool: pg.Pool;
  logger: Logger;
  /** The workers whose steps this process takes (and runs). */
  steps: InProcessSteps;
  /** Steps run at once (`WORKER_CONCURRENCY`). Default 8. */
  concurrency?: number;
  /** A worker process not seen for this long is dead: its steps go to another one (`WORKER_LEASE_MS`). Default 30000. */
  leaseMs?: number;
  /** How often an idle service looks for steps, in ms (new ones are announced by NOTIFY). Default 2000. */
  pollIntervalMs?: number;
  /** Where the workers' model calls are recorded (LLM mode): next to the message's other calls. */
  modelCalls?: ModelCallSink | undefined;
  /** Step rows are deleted this long after their message's budget ended. Default an hour. */
  keepStepsMs?: number;
}

/** How often a step service deletes the rows of old steps (`StepStore.prune`). */
const PRUNE_EVERY_MS = 10 * 60_000;

const Payload = z.object({ stepId: z.string().uuid() });

/**
 * A worker as a service (`switchboard worker --agents billing`): takes the delegated steps of its
 * workers only (graphile-worker tasks `step:<worker>`), runs each within what is left of its
 * message's budget, and records the result on the step row (whose trigger wakes the supervisor).
 *
 * A step the supervisor gave up is not started; one whose budget runs out while it runs is
 * aborted (tools refuse to start once the signal fired). If this process dies mid-step,
 * graphile-worker would keep the job locked for hours: the heartbeat (`WorkerLiveness`) of every
 * other process releases it once this one has not been seen for a lease, and another process of
 * the same worker takes the step over, while the message's budget lasts; past it, the supervisor
 * has handed off already and the step is not started again.
 */
export class StepService {
  readonly #o: StepServiceOptions;
  readonly #log: Logger;
  readonly #store: StepStore;
  readonly #probe: DatabaseProbe;
  #runner: Runner | undefined;
  #pool: WorkerPool | undefined;
  #liveness: WorkerLiveness | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;

  constructor(options: StepServiceOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "step-service", workers: options.steps.names });
    this.#store = new StepStore(options.pool);
    this.#probe = new DatabaseProbe(options.pool);
  }

  /** The graphile-worker id (what `claimed_by` records). */
  get workerId(): string | undefined {
    return this.#pool?.id;
  }

  get workers(): string[] {
    return this.#o.steps.names;
  }

  async start(): Promise<void> {
    if (this.#runner) throw new Error("the step service is already started");
    const events: WorkerEvents = new EventEmitter() as WorkerEvents;
    events.on("pool:create", ({ workerPool }) => {
      this.#pool = workerPool;
    });
    events.on("job:error", ({ job, error }) => this.#log.warn({ jobId: job.id, err: errorMessage(error) }, "step job failed; graphile-worker retries it"));
    const task: Task = (payload, helpers) => this.#runStep(Payload.parse(payload).stepId, helpers.job.attempts);
    this.#runner = await run({
      pgPool: this.#o.pool,
      concurrency: this.#o.concurrency ?? 8,
      pollInterval: this.#o.pollIntervalMs ?? 2000,
      noHandleSignals: true,
      logger: graphileLogger(this.#log),
      events,
      parsedCronItems: [],
      taskList: Object.fromEntries(this.#o.steps.names.map((w) => [stepTask(w), task])),
    });
    if (!this.#pool) throw new Error("graphile-worker started no worker pool");
    this.#liveness = new WorkerLiveness({ pool: this.#o.pool, logger: this.#log, workerId: this.#pool.id, leaseMs: this.#o.leaseMs ?? 30_000 });
    await this.#liveness.start();
    // Any service may sweep: deleting rows twice deletes nothing the second time.
    const prune = () => void this.prune().catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, "could not delete old step rows; trying again later"));
    prune();
    this.#pruneTimer = setInterval(prune, PRUNE_EVERY_MS).unref();
    this.#log.info({ workerId: this.#pool.id }, "taking steps");
  }

  /** No new steps; running ones finish (within their budget, which bounds them anyway). */
  async stop(): Promise<void> {
    const runner = this.#runner;
    this.#runner = undefined;
    clearInterval(this.#pruneTimer);
    if (!runner) return;
    await runner.stop().catch((err: unknown) => this.#log.debug({ err: errorMessage(err) }, "step service stop"));
    await this.#liveness?.stop();
  }

  /** Deletes the rows of steps finished long ago (see `StepStore.prune`); returns how many. */
  async prune(): Promise<number> {
    const n = await this.#store.prune(this.#o.keepStepsMs ?? 60 * 60_000);
    if (n) this.#log.debug({ deleted: n }, "deleted old step rows");
    return n;
  }

  /** Whether the database answers and the service takes steps (`/healthz`). */
  async healthy(): Promise<boolean> {
    return Boolean(this.#runner) && (await this.#probe.reachable());
  }

  async #runStep(id: string, jobAttempt: number): Promise<void> {
    const me = this.workerId ?? "unknown";
    const step = await this.#store.claim(id, me, process.pid);
    if (!step) {
      this.#log.debug({ stepId: id }, "step no longer wanted (given up, finished, or past its budget); not run");
      return;
    }
    const log = this.#log.child({ stepId: id, worker: step.worker, conversationId: step.input.caller.conversationId });
    if (step.attempts > 1) log.warn({ attempt: step.attempts, jobAttempt }, "taking over a step another worker process did not finish");
    // What is left of the message's budget bounds the run here too: tools stop acting when it ends.
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(new Error(`the message's budget ran out in the ${step.worker} service`)), Math.max(0, step.deadline - Date.now()));
    let outcome: { result: WorkerResult } | { error: string };
    try {
      const callbacks = this.#o.modelCalls ? [recordModelCalls(this.#o.modelCalls, [], { worker: step.worker, messageId: step.messageId })] : undefined;
      outcome = { result: await this.#o.steps.run(step.worker, step.input, budget.signal, step.deadline, step.messageId ?? undefined, callbacks) };
    } catch (err) {
      outcome = { error: errorMessage(err) };
    } finally {
      clearTimeout(timer);
    }
    // A lost connection here throws: graphile-worker retries the job, and the row is still
    // `running` under this process, so the retry runs the step again while the budget lasts.
    const recorded = await this.#store.finish(id, me, outcome);
    if (!recorded) log.info("step finished after the supervisor gave up on it; result ignored");
    else log.debug({ ok: "result" in outcome }, "step finished");
  }
}
