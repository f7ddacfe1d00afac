/**
 * Waiting on state that changes, without sleeping: whoever changes the state calls `notify()`, and
 * `until` re-checks its condition then. The timeout only turns a hang into a readable failure.
 */
export class Changes {
  readonly #waiters = new Set<() => void>();

  notify(): void {
    for (const check of [...this.#waiters]) check();
  }

  until<T>(check: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
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
