import pg from "pg";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";

export interface PgListenerOptions {
  /** A Postgres server's connection string (embedded Postgres carries no NOTIFY across connections). */
  url: string;
  logger: Logger;
  /** Channels to LISTEN on. */
  channels: readonly string[];
}

/** Told of a notification on a channel (its payload), or, with `payload` undefined, that notifications may have been missed. */
export type NotificationHandler = (payload: string | undefined) => void;

/**
 * One LISTEN connection per process, shared by everyone who waits for something another process
 * finishes (a message's outcome, a delegated step's result). It reconnects by itself, waiting
 * longer each time (at most 5 s); every time it is (back) in place, each channel's handlers are
 * called with `undefined`: whatever finished while there was no connection must be read again.
 */
export class PgListener {
  readonly #o: PgListenerOptions;
  readonly #log: Logger;
  readonly #handlers = new Map<string, Set<NotificationHandler>>();
  #client: pg.Client | undefined;
  #stopped = false;
  /** The wait before the next connection attempt; 0 while connected. */
  #retryMs = 0;
  #connected = false;

  constructor(options: PgListenerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "listen" });
    for (const channel of options.channels) this.#handlers.set(channel, new Set());
  }

  /** Whether the connection is in place now (waiters poll more often while it is not). */
  get connected(): boolean {
    return this.#connected;
  }

  /** Calls `handler` with every notification on `channel` (one of the channels given at construction). Returns the unsubscribe. */
  on(channel: string, handler: NotificationHandler): () => void {
    const set = this.#handlers.get(channel);
    if (!set) throw new Error(`PgListener: not listening on ${channel}`);
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Connects; a failure is logged and retried in the background, not thrown. */
  async start(): Promise<void> {
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#connected = false;
    await this.#client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ connectionString: this.#o.url, connectionTimeoutMillis: 10_000 });
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      this.#connected = false;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => {});
      if (this.#stopped) return;
      // Once per outage, not once per try.
      if (this.#retryMs === 0) this.#log.warn({ err: errorMessage(err) }, "no LISTEN connection; polling until it is back");
      this.#retryMs = Math.min(Math.max(500, this.#retryMs * 2), 5000);
      setTimeout(() => void this.#connect(), this.#retryMs).unref();
    };
    client.on("error", fail);
    client.on("end", () => fail(new Error("connection ended")));
    client.on("notification", (n) => this.#emit(n.channel, n.payload ?? ""));
    this.#client = client;
    try {
      await client.connect();
      for (const channel of this.#handlers.keys()) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      fail(err);
      return;
    }
    if (this.#retryMs > 0) this.#log.info("LISTEN connection back");
    this.#retryMs = 0;
    this.#connected = true;
    // Anything that finished while there was no connection.
    for (const channel of this.#handlers.keys()) this.#emit(channel, undefined);
  }

  #emit(channel: string, payload: string | undefined): void {
    for (const handler of this.#handlers.get(channel) ?? []) {
      try {
        handler(payload);
      } catch (err) {
        this.#log.error({ channel, err: errorMessage(err) }, "a notification handler failed");
      }
    }
  }
}

/** The channels Switchboard's waiters listen on (NOTIFYed by triggers in migrations/). */
export const CHANNELS = {
  /** An inbound message was finished (done or failed): payload its id. */
  messageFinished: "switchboard_message_finished",
  /** A delegated step was finished by its worker process: payload its id. */
  stepFinished: "switchboard_step_finished",
} as const;
