import { LRUCache } from "lru-cache";

/**
 * A set that forgets its least recently added entries past `max` (an LRU cache from lru-cache).
 * The adapter's only state: which threads it takes part in and which platform message ids it has
 * just handled. Losing it (a restart) is safe: the core dedupes by platform message id, and a
 * thread the bot answered before is recognised again by its parent (`parent_user_id`), by the
 * core's conversation log, or by a new mention.
 */
export class BoundedSet {
  readonly #items: LRUCache<string, true>;

  constructor(max: number) {
    this.#items = new LRUCache({ max: Math.max(1, max) });
  }

  /** Whether the key is there; asking does not make it recent. */
  has(key: string): boolean {
    return this.#items.has(key);
  }

  /** Adds the key, or makes it the most recent one. */
  add(key: string): void {
    this.#items.set(key, true);
  }

  get size(): number {
    return this.#items.size;
  }
}

/**
 * Runs a task once per key. A second call while the first runs waits for it and reports a repeat;
 * a call after it succeeded reports a repeat without running. A failed task is forgotten so a
 * redelivery can try again.
 */
export class OnceGuard {
  readonly #running = new Map<string, Promise<unknown>>();
  readonly #done: BoundedSet;

  constructor(max: number) {
    this.#done = new BoundedSet(max);
  }

  async run<T>(key: string, task: () => Promise<T>): Promise<{ repeat: false; result: T } | { repeat: true }> {
    if (this.#done.has(key)) return { repeat: true };
    const running = this.#running.get(key);
    if (running) {
      await running.catch(() => undefined);
      return { repeat: true };
    }
    const promise = task();
    this.#running.set(key, promise);
    try {
      const result = await promise;
      this.#done.add(key);
      return { repeat: false, result };
    } finally {
      this.#running.delete(key);
    }
  }
}
