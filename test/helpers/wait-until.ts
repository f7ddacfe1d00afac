/**
 * How long a wait may take before the test calls it a hang, in ms: never a speed check. Generous,
 * because on a loaded machine (other test runs, builds, Postgres) a step that takes 200 ms alone
 * can take 20 s; a wait that is met returns at once, so only a real hang pays it.
 */
export const HANG_GUARD_MS = 60_000;

/**
 * Waiting on state that changes, without sleeping: whoever changes the state calls `notify()`, and
 * `until` re-checks its condition then. The timeout only turns a hang into a readable failure.
 */
export class Changes {
  readonly #waiters = new Set<() => void>();

  notify(): void {
    for (const check of [...this.#waiters]) check();
  }

  until<T>(check: () => T | undefined | false, what: string, timeoutMs = HANG_GUARD_MS): Promise<T> {
    const first = check();
    if (first !== undefined && first !== false) return Promise.resolve(first);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter = () => {
        const value = check();
        if (value === undefined || value === false) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(value);
      };
      this.#waiters.add(waiter);
    });
  }
}
