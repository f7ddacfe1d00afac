import os from "node:os";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { Inbox } from "./inbox.ts";
import { DEFAULT_MAX_ATTEMPTS, backoffMs, type JobHandler, type JobQueue, type MessageJob, type QueueDepth } from "./job-queue.ts";

export interface InProcessQueueOptions {
  logger: Logger;
  /** Conversations processed at once. Default 8. */
  concurrency?: number;
  /** Attempts per job. Default `DEFAULT_MAX_ATTEMPTS`. */
  maxAttempts?: number;
  /** Wait before retry n+1 after n attempts, in ms. Default graphile-worker's e^n seconds. */
  backoff?: (attemptsSoFar: number) => number;
}

/**
 * The inbox in one process: `Inbox` chains each conversation's jobs; a failed job waits out its
 * backoff in its place in the chain, so later messages of the conversation wait too (strict
 * order), without holding one of the `concurrency` slots meanwhile. Durability comes from the conversation log: the message is stored before it is queued,
 * and `recover` queues what a crash left unfinished.
 */
export class InProcessJobQueue implements JobQueue {
  readonly kind = "memory" as const;
  readonly addWrites = false;
  /** Chains per conversation, unbounded: the slots below bound the work, not the waiting. */
  readonly #inbox = new Inbox(Number.POSITIVE_INFINITY);
  readonly #slots: Slots;
  readonly #log: Logger;
  readonly #maxAttempts: number;
  readonly #backoff: (attemptsSoFar: number) => number;
  readonly #queued = new Set<string>();
  /** Jobs added before `start`, run once it is called. */
  readonly #pending: MessageJob[] = [];
  #handler: JobHandler | undefined;
  #stopping = false;
  #running = 0;
  #scheduled = 0;
  readonly #timers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  #workerId: string | undefined;

  constructor(options: InProcessQueueOptions) {
    this.#slots = new Slots(options.concurrency ?? 8);
    this.#log = options.logger.child({ component: "inbox" });
    this.#maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.#backoff = options.backoff ?? backoffMs;
  }

  get workerId(): string | undefined {
    return this.#workerId;
  }

  async add(): Promise<void> {
    // Nothing to store: the message row is the job (see `recover`).
  }

  added(job: MessageJob): void {
    if (this.#queued.has(job.messageId) || this.#stopping) return;
    this.#queued.add(job.messageId);
    if (this.#handler) this.#run(job, this.#handler);
    else this.#pending.push(job);
  }

  #run(job: MessageJob, handler: JobHandler): void {
    void this.#inbox
      .enqueue(job.conversationId, () => this.#attempts(job, handler))
      .catch((err: unknown) => this.#log.error({ messageId: job.messageId, err: errorMessage(err) }, "job failed for good"))
      .finally(() => this.#queued.delete(job.messageId));
  }

  async recover(jobs: readonly MessageJob[]): Promise<number> {
    let queued = 0;
    for (const job of jobs) {
      if (this.#queued.has(job.messageId)) continue;
      this.added(job);
      queued++;
    }
    return queued;
  }

  async start(handler: JobHandler): Promise<void> {
    this.#handler = handler;
    this.#workerId = `${os.hostname()}:${process.pid}:memory`;
    for (const job of this.#pending.splice(0)) this.#run(job, handler);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    // Jobs waiting for their turn or out a backoff do not run now; their messages stay
    // unfinished in the log and `recover` queues them at the next start.
    for (const t of this.#timers) {
      clearTimeout(t.timer);
      t.wake();
    }
    await this.#inbox.drain();
  }

  /** Always: the queue lives in this process (the database is the health check's to probe). */
  async healthy(): Promise<boolean> {
    return true;
  }

  async depth(): Promise<QueueDepth> {
    const waiting = this.#queued.size - this.#running - this.#scheduled;
    return { ready: Math.max(0, waiting), scheduled: this.#scheduled, running: this.#running, failed: 0 };
  }

  async #attempts(job: MessageJob, handler: JobHandler): Promise<void> {
    for (let number = 1; ; number++) {
      // Stopping: a job not started stays unfinished in the log; `recover` queues it at the next start.
      if (this.#stopping) return;
      const final = number >= this.#maxAttempts;
      await this.#slots.take();
      this.#running++;
      try {
        await handler(job, { number, max: this.#maxAttempts, final });
        return;
      } catch (err) {
        if (final) throw err;
        this.#log.warn({ messageId: job.messageId, attempt: number, err: errorMessage(err) }, "job failed; retrying after a backoff");
      } finally {
        this.#running--;
        this.#slots.give();
      }
      await this.#wait(this.#backoff(number));
    }
  }

  #wait(ms: number): Promise<void> {
    this.#scheduled++;
    return new Promise<void>((resolve) => {
      const entry = {
        wake: () => {
          this.#timers.delete(entry);
          this.#scheduled--;
          resolve();
        },
        timer: setTimeout(() => entry.wake(), ms),
      };
      this.#timers.add(entry);
    });
  }
}

/** A counting semaphore: at most `size` holders at once, the rest wait in order. */
class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  async take(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  give(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
