import pg from "pg";
import { StorageError, errorMessage } from "../errors.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import { DatabaseUnavailableError, guardClientErrors, guardConnectionErrors } from "./connection-errors.ts";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded.ts";

/** The open database: a `pg` pool, whichever Postgres is behind it. */
export interface Database {
  readonly pool: pg.Pool;
  readonly url: string;
  /** `server`: DATABASE_URL; `embedded`: PGlite in DATA_DIR owned by this process; `embedded-shared`: owned by another. */
  readonly mode: "server" | "embedded" | "embedded-shared";
  /** True when the embedded folder was empty before this start (a new database: demo data goes in). */
  readonly created: boolean;
  /** Migrations a new embedded folder came with (copied from the migrated template): applied before it opened. */
  readonly seededMigrations: readonly string[];
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  logger: Logger;
  /**
   * Pool size. Default 10; embedded: 4. PGlite runs one statement at a time whatever the pool,
   * but with one connection every statement waited for the answer of the one before it to come
   * back to this thread and be read (each turn's statements and the HTTP intake's took turns):
   * the database sat idle while this thread was busy and this thread while it ran. Several
   * connections keep statements queued at the database (its wire queue keeps each connection's
   * messages together, see wire-queue.ts); the transactions on the hot path are pipelined so
   * that they hold its one session only while it runs them (`pipelinedTransaction`).
   */
  max?: number;
  /** How long a query waits for a free connection of the pool, in ms. Default 60000. */
  poolWaitMs?: number;
  /** How long a connection attempt may take before the database counts as unreachable, in ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Where a new embedded folder's cluster is copied from (see `EmbeddedOptions.cacheDir`). Default: none. */
  cacheDir?: string | undefined;
  /** Embedded: PGlite on a worker thread of its own (see `EmbeddedOptions.thread`; `serve` asks for it). Default false. */
  embeddedThread?: boolean;
  /** How often the owner of an embedded database vacuums its memory tables, in ms; every 5th time the whole database, and checkpoints it. Default 3000. */
  maintenanceMs?: number;
  /** Session settings of every connection (libpq `options`, e.g. `-c synchronous_commit=off`). Default: none. */
  sessionOptions?: string | undefined;
}

/** A client class whose connection attempts give up after `ms` (an unreachable server), whatever the pool's wait. */
function connectingWithin(ms: number): typeof pg.Client {
  return class extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(typeof config === "string" ? { connectionString: config, connectionTimeoutMillis: ms } : { ...config, connectionTimeoutMillis: ms });
    }
  };
}

/**
 * How the app opens the configured database (`createApp`, and the CLI, which starts opening it
 * while the rest of the app's modules load). `poolMax` overrides the pool size.
 */
export function appDatabaseOptions(config: Config, logger: Logger, poolMax?: number): DatabaseOptions {
  return {
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    cacheDir: config.cacheDir,
    logger: logger.child({ component: "db" }),
    // graphile-worker keeps a connection for LISTEN and runs its workers' queries beside the
    // app's: on embedded Postgres it needs more than the few connections used there otherwise
    // (`EMBEDDED_POOL_MAX`).
    ...(!config.databaseUrl && config.jobQueue === "postgres" ? { max: 8 } : {}),
    ...(poolMax !== undefined ? { max: poolMax } : {}),
  };
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url: string;
  if (opts.databaseUrl) {
    url = opts.databaseUrl;
  } else {
    embedded = await startEmbeddedPostgres(opts.dataDir, opts.logger, { cacheDir: opts.cacheDir, thread: opts.embeddedThread });
    url = embedded.url;
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? (embedded ? EMBEDDED_POOL_MAX : 10),
    // Embedded: statements issued together (a pipelined transaction) go out together.
    ...(embedded ? { pipeline: true } : {}),
    // pg-pool counts the wait for a free connection against this too: a burst of messages queued
    // behind a full pool (a few connections, embedded) is busy, not "the database is unreachable".
    // So the queue may wait a minute, and a connection attempt itself still gives up after 10 s.
    connectionTimeoutMillis: opts.poolWaitMs ?? 60_000,
    Client: connectingWithin(opts.connectTimeoutMs ?? 10_000),
    ...(opts.sessionOptions ? { options: opts.sessionOptions } : {}),
  });
  handleConnectionErrors(pool, opts.logger);
  try {
    await pool.query("select 1");
  } catch (thrown) {
    await pool.end().catch(() => {});
    await embedded?.stop();
    const err = thrown instanceof DatabaseUnavailableError ? thrown.cause : thrown;
    throw new StorageError(
      opts.databaseUrl
        ? `Cannot reach the database at DATABASE_URL (${redactUrl(url)}): ${errorMessage(err)}. Check DATABASE_URL, or unset it to use the embedded database.`
        : `Cannot reach the embedded database in ${opts.dataDir}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  const vacuum = embedded?.owner ? vacuumEvery(pool, opts.logger, opts.maintenanceMs ?? EMBEDDED_VACUUM_MS) : undefined;
  return {
    pool,
    url,
    mode: embedded ? (embedded.owner ? "embedded" : "embedded-shared") : "server",
    created: embedded?.created ?? false,
    seededMigrations: embedded?.seededMigrations ?? [],
    close: async () => {
      await vacuum?.stop();
      await pool.end();
      await embedded?.stop();
    },
  };
}

/** The embedded database's pool size (see `DatabaseOptions.max`). */
const EMBEDDED_POOL_MAX = 4;

/** How often the embedded database's memory tables are vacuumed, in ms; the whole database every 5th time, and checkpointed. */
const EMBEDDED_VACUUM_MS = 3_000;
const MEMORY_VACUUMS_PER_VACUUM = 5;
/** LangGraph's checkpoint tables: the conversations' memories. */
const MEMORY_TABLES = "checkpoint_blobs, checkpoints, checkpoint_writes";

/**
 * PGlite runs no autovacuum and no checkpointer (it is one single-user backend), so the rows
 * every message updates or deletes (statuses, leases, the replaced checkpoint) would stay as dead
 * tuples and the data folder would grow with them; and it never checkpoints on its own while it
 * runs (`pg_stat_checkpointer` stays at 0 however much WAL is written), so `pg_wal` kept every
 * segment until the next restart: about 20 KB of WAL per message, without end. The owner of an
 * embedded database vacuums it every few seconds, so the dead rows' space is used again before
 * much of it piles up, and checkpoints after each vacuum, so WAL segments are recycled and
 * `pg_wal` stays near `max_wal_size`.
 */
function vacuumEvery(pool: pg.Pool, logger: Logger, everyMs: number): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let ticks = 0;
  const timer = setInterval(() => {
    if (running) return;
    // The memory's rows are rewritten whole at every turn (a conversation's last 40 messages):
    // between two vacuums of the whole database their dead copies would take some MB, so they
    // are vacuumed more often (a few ms: the tables hold one live memory per conversation).
    const whole = ticks++ % MEMORY_VACUUMS_PER_VACUUM === 0;
    running = (whole ? pool.query("vacuum").then(() => pool.query("checkpoint")) : pool.query(`vacuum ${MEMORY_TABLES}`))
      .then(
        () => {},
        (err: unknown) => logger.debug({ err: errorMessage(err) }, "vacuum or checkpoint of the embedded database failed; tried again later"),
      )
      .finally(() => (running = undefined));
  }, everyMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * A database that goes away (restart, crash, network) must not take the process with it: every
 * client gets an 'error' listener the moment the pool makes it (the pool's 'connect' event comes
 * before the client is first handed out), so a connection that breaks while checked out — whoever
 * holds it: the app, graphile-worker, the checkpointer — only fails the query it was running; an
 * idle one is dropped and replaced by the pool. Connection failures are thrown as
 * `DatabaseUnavailableError` (a `StorageError`).
 */
function handleConnectionErrors(pool: pg.Pool, logger: Logger): void {
  pool.on("error", (err) => logger.warn({ err: errorMessage(err) }, "idle database connection failed; the pool replaces it"));
  pool.on("connect", (client) => {
    client.on("error", (err) => logger.warn({ err: errorMessage(err) }, "database connection failed"));
    guardClientErrors(client);
  });
  guardConnectionErrors(pool);
}

/** Hides the password of a connection URL for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
