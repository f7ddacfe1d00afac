import type pg from "pg";

export interface DatabaseProbeOptions {
  /** A `select 1` not answered within this long counts as unreachable, in ms. Default 2000. */
  timeoutMs?: number;
  /** Longest pause between two tries of `waitUntilReachable`, in ms. Default 2000. */
  maxRetryMs?: number;
}

/**
 * Asks whether the database answers (`select 1`, with a time limit: a connect to a host that is
 * gone can hang much longer than a health check may take), and waits until it does again, with
 * backoff. Concurrent waiters share one loop, so a worker with many jobs interrupted by an outage
 * does not hammer a database that is starting up.
 */
export class DatabaseProbe {
  readonly #pool: pg.Pool;
  readonly #timeoutMs: number;
  readonly #maxRetryMs: number;
  #waiting: Promise<void> | undefined;

  constructor(pool: pg.Pool, options: DatabaseProbeOptions = {}) {
    this.#pool = pool;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#maxRetryMs = options.maxRetryMs ?? 2000;
  }

  /** True when the database answered `select 1` in time. */
  async reachable(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#timeoutMs);
    });
    const answered = this.#pool.query("select 1").then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([answered, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves true once the database answers; false if `signal` aborts first (the process is
   * shutting down).
   */
  async waitUntilReachable(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    this.#waiting ??= this.#loop().finally(() => {
      this.#waiting = undefined;
    });
    if (!signal) {
      await this.#waiting;
      return true;
    }
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<false>((resolve) => {
      onAbort = () => resolve(false);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([this.#waiting.then(() => true), aborted]);
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }

  async #loop(): Promise<void> {
    for (let delay = 100; !(await this.reachable()); delay = Math.min(delay * 2, this.#maxRetryMs)) {
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    }
  }
}
