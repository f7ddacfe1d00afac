import pg from "pg";
import { StorageError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded.ts";

/** The open database: a `pg` pool, whichever Postgres is behind it. */
export interface Database {
  readonly pool: pg.Pool;
  readonly url: string;
  /** `server`: DATABASE_URL; `embedded`: PGlite in DATA_DIR owned by this process; `embedded-shared`: owned by another. */
  readonly mode: "server" | "embedded" | "embedded-shared";
  /** True when the embedded folder was empty before this start (a new database: demo data goes in). */
  readonly created: boolean;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  logger: Logger;
  /**
   * Pool size. Default 10; embedded: 1. PGlite runs one statement at a time anyway, and its socket
   * server interleaves extended-protocol messages of concurrent connections
   * (electric-sql/pglite#1046: "unnamed prepared statement does not exist", then a stuck queue),
   * so one connection is both correct and no slower.
   */
  max?: number;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url: string;
  if (opts.databaseUrl) {
    url = opts.databaseUrl;
  } else {
    embedded = await startEmbeddedPostgres(opts.dataDir, opts.logger);
    url = embedded.url;
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? (embedded ? 1 : 10),
    connectionTimeoutMillis: 10_000,
  });
  // An idle client erroring (server restart) must not crash the process; the pool replaces it.
  pool.on("error", (err) => opts.logger.warn({ err: errorMessage(err) }, "idle database connection failed"));
  try {
    await pool.query("select 1");
  } catch (err) {
    await pool.end().catch(() => {});
    await embedded?.stop();
    throw new StorageError(
      opts.databaseUrl
        ? `Cannot reach the database at DATABASE_URL (${redactUrl(url)}): ${errorMessage(err)}. Check DATABASE_URL, or unset it to use the embedded database.`
        : `Cannot reach the embedded database in ${opts.dataDir}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  return {
    pool,
    url,
    mode: embedded ? (embedded.owner ? "embedded" : "embedded-shared") : "server",
    created: embedded?.created ?? false,
    close: async () => {
      await pool.end();
      await embedded?.stop();
    },
  };
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
