import fs from "node:fs";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { silentLogger } from "../../src/logger.ts";
import { CACHE_DIR, freshServerDatabase, tempDataDir } from "./databases.ts";
import { skipWithoutServer } from "./requirements.ts";

/** A database the shared job queue runs on, for `describe.each`. */
export interface QueueDatabase {
  name: string;
  embedded: boolean;
  setup(): Promise<{ db: Database; drop(): Promise<void> }>;
}

/**
 * A new migrated embedded database, and with TEST_DATABASE_URL a new database on that server
 * (without it, `file`'s server cases are reported skipped).
 */
export function queueDatabases(file: string): QueueDatabase[] {
  const targets: QueueDatabase[] = [
    {
      name: "embedded Postgres",
      embedded: true,
      setup: async () => {
        const dir = tempDataDir();
        const db = await openDatabase({ databaseUrl: undefined, dataDir: dir, cacheDir: CACHE_DIR, logger: silentLogger(), max: 8 });
        await migrate(db.pool);
        return { db, drop: async () => { await db.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
      },
    },
  ];
  const server = process.env["TEST_DATABASE_URL"];
  if (server) targets.push({ name: "a Postgres server", embedded: false, setup: () => freshServerDatabase(server) });
  else skipWithoutServer(`${file} (on a Postgres server)`);
  return targets;
}
