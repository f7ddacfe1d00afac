import type { PGlite } from "@electric-sql/pglite";
import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/**
 * The query queue of the embedded wire server: every connection's protocol messages go through
 * it, one at a time, into the single PGlite session they all share.
 *
 * pglite-socket 0.2.17's own queue keeps a connection's messages together only inside an explicit
 * transaction. A query with parameters is several messages (Parse, Bind, Describe, Execute, Sync);
 * another connection's BEGIN or query could run between them and replace the unnamed statement,
 * so concurrent queries failed with "unnamed prepared statement does not exist", "portal does not
 * exist" or the parameters of another query. This queue also keeps an extended-protocol sequence
 * together, up to its Sync.
 */
export class SequencedWireQueue {
  readonly #db: PGlite;
  readonly #items: QueueItem[] = [];
  /** The connection whose messages go next: it is inside a transaction or an unfinished sequence. */
  #owner: number | null = null;
  readonly #inSequence = new Set<number>();
  #processing = false;

  constructor(db: PGlite) {
    this.#db = db;
  }

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#items.push({ handlerId, message, onData, resolve, reject });
      void this.#process();
    });
  }

  getQueueLength(): number {
    return this.#items.length;
  }

  clearQueueForHandler(handlerId: number): void {
    for (let i = this.#items.length - 1; i >= 0; i--) {
      const item = this.#items[i]!;
      if (item.handlerId !== handlerId) continue;
      this.#items.splice(i, 1);
      item.reject(new Error("Handler disconnected"));
    }
  }

  /** A connection went away: undo what it left open, so the others are not stuck behind it. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.#owner !== handlerId) return;
    if (this.#inSequence.delete(handlerId)) await this.#db.runExclusive(() => this.#db.execProtocolRaw(SYNC));
    if (this.#db.isInTransaction()) await this.#db.exec("rollback");
    this.#owner = null;
    void this.#process();
  }

  async #process(): Promise<void> {
    if (this.#processing) return;
    this.#processing = true;
    try {
      while (this.#items.length > 0) {
        const index = this.#owner === null ? 0 : this.#items.findIndex((i) => i.handlerId === this.#owner);
        // The owner's next message is on its way: wait for it (enqueue starts this loop again).
        if (index === -1) break;
        const item = this.#items.splice(index, 1)[0]!;
        let bytes = 0;
        try {
          await this.#db.runExclusive(() =>
            this.#db.execProtocolRawStream(item.message, {
              onRawData: (data) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (err) {
          this.#track(item);
          item.reject(err);
          continue;
        }
        this.#track(item);
        item.resolve(bytes);
      }
    } finally {
      this.#processing = false;
    }
  }

  #track(item: QueueItem): void {
    const type = String.fromCharCode(item.message[0] ?? 0);
    if (EXTENDED.has(type)) this.#inSequence.add(item.handlerId);
    else if (type === "S") this.#inSequence.delete(item.handlerId);
    this.#owner = this.#db.isInTransaction() || this.#inSequence.has(item.handlerId) ? item.handlerId : null;
  }
}

interface QueueItem {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (err: unknown) => void;
}

/** Frontend messages of an extended-protocol sequence that a Sync ends. */
const EXTENDED = new Set(["P", "B", "D", "E", "C", "H"]);
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

/** Puts the sequenced queue in the server, before it starts (its connections take the server's queue). */
export function useSequencedQueue(server: PGLiteSocketServer, db: PGlite): void {
  const target = server as unknown as { queryQueue?: { enqueue?: unknown } };
  if (typeof target.queryQueue?.enqueue !== "function") {
    throw new Error("pglite-socket changed: PGLiteSocketServer has no queryQueue to replace; check src/db/wire-queue.ts against its new version");
  }
  (target as { queryQueue: unknown }).queryQueue = new SequencedWireQueue(db);
}
