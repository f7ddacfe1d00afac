/**
 * A bounded set of recently seen ids (oldest evicted first). Used to not hand a gateway replay
 * (after a RESUME) to the core twice; the core's dedupe by message id is the durable guarantee,
 * this only saves the round trip and keeps a replayed `/support` from being acknowledged twice.
 */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #capacity: number;

  /** @param capacity - how many ids to remember; default 10,000. */
  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  /** Adds the id; `false` when it was already there. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) {
      const oldest = this.#ids.values().next();
      if (!oldest.done) this.#ids.delete(oldest.value);
    }
    return true;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  delete(id: string): void {
    this.#ids.delete(id);
  }
}
