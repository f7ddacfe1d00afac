import pg from "pg";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";

export interface PgListenerOptions {
  /** A Postgres server's connection string (embedded Postgres carries no NOTIFY across connections). */
  url: string;
  logger: Logger;
  /** The channels handlers may subscribe to. */
  channels: readonly string[];
  /** How long a channel stays LISTENed after its last handler left, in ms (a new wait soon after costs no LISTEN). Default 30000. */
  lingerMs?: number;
}

/** Told of a notification on a channel (its payload), or, with `payload` undefined, that notifications may have been missed. */
export type NotificationHandler = (payload: string | undefined) => void;

/**
 * One LISTEN connection per process, shared by everyone who waits for something another process
 * finishes (a message's outcome, a delegated step's result). It reconnects by itself, waiting
 * longer each time (at most 5 s).
 *
 * A channel is LISTENed only while someone waits on it (and `lingerMs` after): Postgres 15 wakes
 * every backend that LISTENs in a database for every NOTIFY in it, whatever the channel, and each
 * wake-up is a transaction of that backend's. A gateway of Slack traffic, where nobody waits for
 * an outcome, then costs the database nothing per message; LISTENing for nothing, it cost about a
 * transaction per message. Each time a channel's LISTEN is (back) in place its handlers are
 * called with `undefined`: whatever finished before must be read again.
 */
export class PgListener {
  readonly #o: PgListenerOptions;
  readonly #log: Logger;
  readonly #handlers = new Map<string, Set<NotificationHandler>>();
  /** Channels LISTENed on the current connection. */
  readonly #listening = new Set<string>();
  /** Channels without handlers that stay LISTENed a while (their timers). */
  readonly #lingering = new Map<string, NodeJS.Timeout>();
  /** LISTEN and UNLISTEN statements, one after the other. */
  #statements: Promise<unknown> = Promise.resolve();
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

  /**
   * Calls `handler` with every notification on `channel` (one of the channels given at
   * construction), and with `undefined` once the channel's LISTEN is in place. Returns the
   * unsubscribe.
   */
  on(channel: string, handler: NotificationHandler): () => void {
    const set = this.#handlers.get(channel);
    if (!set) throw new Error(`PgListener: not listening on ${channel}`);
    set.add(handler);
    clearTimeout(this.#lingering.get(channel));
    this.#lingering.delete(channel);
    void this.#sync(channel);
    return () => {
      if (!set.delete(handler) || set.size > 0 || this.#stopped) return;
      const timer = setTimeout(() => {
        this.#lingering.delete(channel);
        void this.#sync(channel);
      }, this.#o.lingerMs ?? 30_000);
      timer.unref();
      this.#lingering.set(channel, timer);
    };
  }

  /** The channels this connection LISTENs on, as the server says (`pg_listening_channels()`); for tests and diagnostics. */
  async listening(): Promise<string[]> {
    return this.#serially(async (client) => (await client.query<{ c: string }>("select pg_listening_channels() as c")).rows.map((r) => r.c).sort());
  }

  /** Connects; a failure is logged and retried in the background, not thrown. */
  async start(): Promise<void> {
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#connected = false;
    for (const timer of this.#lingering.values()) clearTimeout(timer);
    this.#lingering.clear();
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
      this.#listening.clear();
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
    } catch (err) {
      fail(err);
      return;
    }
    if (this.#retryMs > 0) this.#log.info("LISTEN connection back");
    this.#retryMs = 0;
    this.#connected = true;
    // The channels someone waits on (and with them, anything that finished while there was no connection).
    for (const channel of this.#handlers.keys()) void this.#sync(channel);
  }

  /** LISTENs on `channel` when someone waits on it (or it lingers), UNLISTENs when nobody does. */
  #sync(channel: string): Promise<void> {
    return this.#serially(async (client) => {
      const wanted = (this.#handlers.get(channel)?.size ?? 0) > 0 || this.#lingering.has(channel);
      if (wanted === this.#listening.has(channel)) return;
      await client.query(`${wanted ? "listen" : "unlisten"} ${pg.escapeIdentifier(channel)}`);
      if (!wanted) {
        this.#listening.delete(channel);
        return;
      }
      this.#listening.add(channel);
      this.#emit(channel, undefined);
    }).catch((err: unknown) => {
      // The connection failed under it (its `error` handler reconnects, and LISTENs again then).
      this.#log.debug({ channel, err: errorMessage(err) }, "LISTEN/UNLISTEN not sent");
    });
  }

  /** Runs `statement` on the connection after the ones before it; nothing while there is no connection. */
  #serially<T>(statement: (client: pg.Client) => Promise<T>): Promise<T> {
    const run = this.#statements.then(() => {
      const client = this.#client;
      if (!client || !this.#connected) throw new Error("no LISTEN connection");
      return statement(client);
    });
    this.#statements = run.catch(() => {});
    return run;
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

/**
 * A channel's notifications for a waiter that keeps its open waits by id (`waiting`): subscribed
 * while a wait is open, so that the listener LISTENs only then. A notification of an open wait's
 * id calls `check` with it; the read-again signal (`undefined`) with every open one.
 */
export class WaitsListener {
  #unlisten: (() => void) | undefined;
  #closed = false;

  constructor(
    private readonly listener: PgListener | undefined,
    private readonly channel: string,
    private readonly waiting: ReadonlyMap<string, unknown>,
    private readonly check: (ids: string[]) => void,
  ) {}

  /** A wait was opened: subscribe, unless subscribed already. */
  opened(): void {
    if (this.#unlisten || !this.listener || this.#closed) return;
    this.#unlisten = this.listener.on(this.channel, (id) => {
      if (id === undefined) this.check([...this.waiting.keys()]);
      else if (this.waiting.has(id)) this.check([id]);
    });
  }

  /** A wait ended: unsubscribe when none is left open. */
  settled(): void {
    if (this.waiting.size === 0) this.#drop();
  }

  /** The waiter stops: unsubscribe for good. */
  close(): void {
    this.#closed = true;
    this.#drop();
  }

  #drop(): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
  }
}

/** The channels Switchboard's waiters listen on (NOTIFYed by triggers in migrations/). */
export const CHANNELS = {
  /** An inbound message was finished (done or failed): payload its id. */
  messageFinished: "switchboard_message_finished",
  /** A delegated step was finished by its worker process: payload its id. */
  stepFinished: "switchboard_step_finished",
} as const;
