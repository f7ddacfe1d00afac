import pg from "pg";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Database } from "./database.ts";

export interface SessionLockOptions {
  db: Database;
  /** What the lock guards, e.g. `gateway:discord`; hashed into the advisory lock key. */
  name: string;
  logger: Logger;
  /** How often a waiting process asks again, in ms. Default 5000. */
  retryMs?: number;
}

/**
 * A Postgres session advisory lock held on a connection of its own: while this process holds it,
 * no other process can; if this process dies, its connection closes and the lock is free. Used so
 * that one process at a time holds a platform connection that must be unique (the Discord
 * gateway, Slack Socket Mode), while others wait to take over.
 *
 * Embedded Postgres shares one session among all connections, where advisory locks exclude
 * nobody; there the process that owns the data folder is the only possible holder.
 */
export class SessionLock {
  readonly #o: SessionLockOptions;
  readonly #log: Logger;
  #client: pg.Client | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #lost: (() => void) | undefined;

  constructor(options: SessionLockOptions) {
    this.#o = options;
    this.#log = options.logger.child({ lock: options.name });
  }

  /** Takes the lock now if it is free. */
  async tryAcquire(): Promise<boolean> {
    if (this.#o.db.mode === "embedded") return true;
    if (this.#o.db.mode === "embedded-shared") return false;
    const client = new pg.Client({ connectionString: this.#o.db.url });
    client.on("error", (err) => this.#dropped(client, err));
    client.on("end", () => this.#dropped(client, new Error("connection ended")));
    try {
      await client.connect();
      const r = await client.query<{ ok: boolean }>("select pg_try_advisory_lock(hashtext($1)) as ok", [`switchboard:${this.#o.name}`]);
      if (r.rows[0]?.ok) {
        this.#client = client;
        return true;
      }
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, "could not ask for the lock");
    }
    await client.end().catch(() => {});
    return false;
  }

  /**
   * Waits until the lock is ours; false if `release` was called first. `onLost` runs if the
   * connection holding it breaks (another process may take the lock then).
   */
  async acquire(onLost?: () => void): Promise<boolean> {
    this.#lost = onLost;
    let told = false;
    while (!this.#stopped) {
      if (await this.tryAcquire()) return !this.#stopped;
      if (!told) this.#log.info("another process holds this connection; waiting to take over");
      told = true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#o.retryMs ?? 5000);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return false;
  }

  async release(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  #dropped(client: pg.Client, err: unknown): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => {});
    if (this.#stopped) return;
    this.#log.error({ err: errorMessage(err) }, "lost the connection holding the lock");
    this.#lost?.();
  }
}
