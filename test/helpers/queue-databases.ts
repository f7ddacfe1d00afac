import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { afterAll, afterEach, beforeAll } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { GraphileJobQueue } from "../../src/inbox/graphile-queue.ts";
import type { JobQueue, MessageJob } from "../../src/inbox/job-queue.ts";
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

/** What a describe block over one `QueueDatabase` shares (`queueSuite`). */
export interface QueueSuite {
  /** The block's database, graphile-worker's schema installed (from `beforeAll` on). */
  readonly db: Database;
  /** The queue the running test started: stopped after it (a test that stops it itself sets it back to undefined). */
  queue: JobQueue | undefined;
}

/** Registers a describe block's hooks over `target`: its database for the block, and the test's queue stopped after each test. */
export function queueSuite(target: QueueDatabase): QueueSuite {
  let opened: { db: Database; drop(): Promise<void> } | undefined;
  const suite: QueueSuite = {
    get db() {
      if (!opened) throw new Error("the queue database is open from beforeAll on");
      return opened.db;
    },
    queue: undefined,
  };
  beforeAll(async () => {
    opened = await target.setup();
    await GraphileJobQueue.installSchema(opened.db.pool, silentLogger(), target.embedded);
  });
  afterEach(async () => {
    await suite.queue?.stop();
    suite.queue = undefined;
  });
  afterAll(async () => {
    await opened?.drop();
  });
  return suite;
}

/** A job of a new message in `conversationId` (HTTP). */
export const messageJob = (conversationId: string): MessageJob => ({ messageId: randomUUID(), conversationId, platform: "http" });
