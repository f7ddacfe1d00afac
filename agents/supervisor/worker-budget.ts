import type { WorkerResult } from "../workers/types.ts";

/** A worker did not finish within the message's time budget. */
export class WorkerTimeoutError extends Error {
  readonly elapsedMs: number;

  /** @param what - what did not happen in time. Default "did not finish". */
  constructor(budgetMs: number, elapsedMs: number, what = "did not finish") {
    super(`${what} within the message's ${budgetMs} ms budget`);
    this.name = "WorkerTimeoutError";
    this.elapsedMs = elapsedMs;
  }
}

export interface BudgetOptions {
  /** When the message's budget runs out (epoch ms); every worker of the message shares it. */
  deadline: number;
  /** The budget's length, for messages. */
  budgetMs: number;
  /** The graph run's own signal (the whole turn cancelled): passed on, and never retried. */
  parent?: AbortSignal | undefined;
  /** Attempts at most, while the budget lasts. Default 2. */
  maxAttempts?: number;
  /** Pause before a retry, in ms. Default 200. */
  retryDelayMs?: number;
  /** What a timeout did not do, for its reason ("the billing service did not answer"). Default "did not finish". */
  timeoutText?: string | undefined;
}

/**
 * Runs one worker within the message's budget. Its `signal` aborts when the budget runs out (or
 * the turn is cancelled): it reaches the model call and every tool, and tools refuse to start
 * once it fired, so a run that timed out stops acting. A failure is retried only while the budget
 * lasts; a timeout never (it used the budget up). Resolves as soon as the budget is over, with
 * what happened; throws only when the turn itself was cancelled.
 */
export async function runWithinBudget(run: (signal: AbortSignal) => Promise<WorkerResult>, failed: (status: "failed" | "timeout", error: unknown, latencyMs: number) => WorkerResult, o: BudgetOptions): Promise<WorkerResult> {
  const started = Date.now();
  const attempts = o.maxAttempts ?? 2;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const remaining = o.deadline - Date.now();
    if (remaining <= 0) break;
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(new WorkerTimeoutError(o.budgetMs, Date.now() - started, o.timeoutText)), remaining);
    const signal = o.parent ? AbortSignal.any([o.parent, budget.signal]) : budget.signal;
    const over = new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
    try {
      return await Promise.race([run(signal), over]);
    } catch (err) {
      if (o.parent?.aborted) throw err;
      if (budget.signal.aborted) return failed("timeout", budget.signal.reason, Date.now() - started);
      lastError = err;
    } finally {
      clearTimeout(timer);
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, Math.min(o.retryDelayMs ?? 200, Math.max(0, o.deadline - Date.now()))));
  }
  // Out of attempts, or of the budget before a retry: the last failure is the reason.
  if (lastError === undefined) return failed("timeout", new WorkerTimeoutError(o.budgetMs, Date.now() - started, o.timeoutText), Date.now() - started);
  return failed("failed", lastError, Date.now() - started);
}
