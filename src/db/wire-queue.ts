import { createHash, timingSafeEqual } from "node:crypto";
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
export interface WireQueueOptions {
  /** Every connection must give it (cleartext password auth, on loopback) before its first query. */
  password: string;
  /**
   * A connection holding the session (inside a transaction or a statement sequence) that sends
   * nothing for this long while others wait is rolled back and cut off. Default 10 000 ms.
   */
  ownerIdleMs?: number;
}

/**
 * Also the wire port's guard, since every message of every connection passes here:
 *
 * - **A password.** PGlite accepts any startup; this queue answers a startup with a password
 *   request and lets it through to PGlite only with the data folder's password.
 * - **No COPY FROM STDIN.** PGlite's single session cannot take copy-in data as messages of their
 *   own: one `psql \copy` lost the protocol sync of the session every connection shares, and the
 *   service with it. It is refused with an error before it runs; stray copy messages are dropped.
 * - **No connection holds the others.** A connection idle inside a transaction while others wait
 *   is rolled back and cut off after `ownerIdleMs`.
 */
export class SequencedWireQueue {
  readonly #db: PGlite;
  readonly #items: QueueItem[] = [];
  /** The connection whose messages go next: it is inside a transaction or an unfinished sequence. */
  #owner: number | null = null;
  readonly #inSequence = new Set<number>();
  #processing = false;
  readonly #password: Buffer;
  readonly #ownerIdleMs: number;
  /** Connections past their startup: `password` after it (the password is due), `ok`, or `closed`. */
  readonly #stage = new Map<number, { stage: "password"; startup: Uint8Array } | { stage: "ok" | "closed" }>();
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(db: PGlite, options: WireQueueOptions) {
    this.#db = db;
    this.#password = digest(Buffer.from(options.password, "utf8"));
    this.#ownerIdleMs = options.ownerIdleMs ?? 10_000;
  }

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    const state = this.#stage.get(handlerId);
    if (isStartup(message)) {
      this.#stage.set(handlerId, { stage: "password", startup: message });
      onData(AUTH_CLEARTEXT);
      return Promise.resolve(message.length);
    }
    if (state?.stage === "password") return Promise.resolve(this.#checkPassword(handlerId, state.startup, message, onData));
    if (state?.stage !== "ok") {
      onData(errorResponse("FATAL", state?.stage === "closed" ? "57P01" : "28000", state?.stage === "closed" ? "this connection was closed by the embedded database" : "authenticate first"));
      return Promise.resolve(message.length);
    }
    const type = String.fromCharCode(message[0] ?? 0);
    if (COPY_DATA.has(type)) return Promise.resolve(message.length);
    if ((type === "Q" || type === "P") && COPY_FROM_STDIN.test(queryText(message, type))) {
      onData(errorResponse("ERROR", "0A000", "COPY FROM STDIN is not supported by the embedded database (use INSERT, or a Postgres server via DATABASE_URL)"));
      if (type === "Q") onData(readyForQuery(this.#db.isInTransaction()));
      return Promise.resolve(message.length);
    }
    return this.#push(handlerId, message, onData);
  }

  #push(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#items.push({ handlerId, message, onData, resolve, reject });
      void this.#process();
    });
  }

  #checkPassword(handlerId: number, startup: Uint8Array, message: Uint8Array, onData: (data: Uint8Array) => void): number | Promise<number> {
    // PasswordMessage: 'p', int32 length, the password, NUL.
    const given = message[0] === 0x70 ? Buffer.from(message.subarray(5, Math.max(5, message.length - 1))) : Buffer.alloc(0);
    if (!timingSafeEqual(digest(given), this.#password)) {
      this.#stage.set(handlerId, { stage: "closed" });
      onData(errorResponse("FATAL", "28P01", "password authentication failed for user \"postgres\""));
      return message.length;
    }
    this.#stage.set(handlerId, { stage: "ok" });
    return this.#push(handlerId, startup, onData);
  }

  getQueueLength(): number {
    return this.#items.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.#stage.delete(handlerId);
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
        // The owner's next message is on its way: wait for it (enqueue starts this loop again),
        // but not for ever while others wait.
        if (index === -1) {
          this.#watchOwner();
          break;
        }
        this.#stopWatching();
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

  #watchOwner(): void {
    if (this.#idleTimer) return;
    const owner = this.#owner;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (owner === null || this.#owner !== owner || this.#items.every((i) => i.handlerId === owner)) return;
      void this.#evict(owner);
    }, this.#ownerIdleMs);
    this.#idleTimer.unref();
  }

  #stopWatching(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** Rolls back what `handlerId` left open and refuses its later messages: the others go on. */
  async #evict(handlerId: number): Promise<void> {
    this.#stage.set(handlerId, { stage: "closed" });
    await this.clearTransactionIfNeeded(handlerId);
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

const STARTUP_PROTOCOL = 196608; // 3.0

function isStartup(message: Uint8Array): boolean {
  return message.length >= 8 && new DataView(message.buffer, message.byteOffset, message.byteLength).getInt32(4) === STARTUP_PROTOCOL;
}

function digest(value: Buffer): Buffer {
  return createHash("sha256").update(value).digest();
}

/** The SQL of a Query ('Q': the string) or a Parse ('P': statement name, then the string). */
function queryText(message: Uint8Array, type: string): string {
  const body = Buffer.from(message.subarray(5));
  if (type === "Q") return body.toString("utf8", 0, Math.max(0, body.indexOf(0)));
  const nameEnd = body.indexOf(0);
  return body.toString("utf8", nameEnd + 1, Math.max(nameEnd + 1, body.indexOf(0, nameEnd + 1)));
}

const COPY_FROM_STDIN = /\bcopy\b[\s\S]*\bfrom\s+stdin\b/i;
/** CopyData, CopyDone, CopyFail: never forwarded (copy-in is refused before it starts). */
const COPY_DATA = new Set(["d", "c", "f"]);

/** AuthenticationCleartextPassword. Loopback only; the password itself is per data folder. */
const AUTH_CLEARTEXT = new Uint8Array([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);

function errorResponse(severity: "ERROR" | "FATAL", code: string, message: string): Uint8Array {
  const fields = Buffer.concat(
    [["S", severity], ["V", severity], ["C", code], ["M", message]].map(([k, v]) => Buffer.concat([Buffer.from(k!, "ascii"), Buffer.from(v!, "utf8"), Buffer.from([0])])),
  );
  const out = Buffer.alloc(1 + 4 + fields.length + 1);
  out.write("E", 0, "ascii");
  out.writeInt32BE(4 + fields.length + 1, 1);
  fields.copy(out, 5);
  return new Uint8Array(out);
}

function readyForQuery(inTransaction: boolean): Uint8Array {
  return new Uint8Array([0x5a, 0, 0, 0, 5, inTransaction ? 0x54 : 0x49]);
}

/** Frontend messages of an extended-protocol sequence that a Sync ends. */
const EXTENDED = new Set(["P", "B", "D", "E", "C", "H"]);
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

/** Puts the sequenced queue in the server, before it starts (its connections take the server's queue). */
export function useSequencedQueue(server: PGLiteSocketServer, db: PGlite, options: WireQueueOptions): void {
  const target = server as unknown as { queryQueue?: { enqueue?: unknown } };
  if (typeof target.queryQueue?.enqueue !== "function") {
    throw new Error("pglite-socket changed: PGLiteSocketServer has no queryQueue to replace; check src/db/wire-queue.ts against its new version");
  }
  (target as { queryQueue: unknown }).queryQueue = new SequencedWireQueue(db, options);
}
