import { LRUCache } from "lru-cache";

/**
 * A bounded set of recently seen ids (oldest evicted first; an LRU cache from lru-cache). Used to
 * not hand a gateway replay (after a RESUME) to the core twice; the core's dedupe by message id is
 * the durable guarantee, this only saves the round trip and keeps a replayed `/support` from being
 * acknowledged twice.
 */
export class RecentIds {
  readonly #ids: LRUCache<string, true>;

  /** @param capacity - how many ids to remember; default 10,000. */
  constructor(capacity = 10_000) {
    this.#ids = new LRUCache({ max: Math.max(1, capacity) });
  }

  /** Adds the id; `false` when it was already there (then it keeps its place: first seen, first evicted). */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.set(id, true);
    return true;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  delete(id: string): void {
    this.#ids.delete(id);
  }
}
