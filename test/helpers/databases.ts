import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { skipWithoutServer } from "./requirements.ts";
import { loadConfig } from "../../src/config.ts";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { silentLogger } from "../../src/logger.ts";

/**
 * The cache folder the app uses by default (`CACHE_DIR`): new embedded folders are copied from
 * its initialised cluster instead of running `initdb` (3 s of CPU) each time.
 */
export const CACHE_DIR = loadConfig({ XDG_CACHE_HOME: process.env["XDG_CACHE_HOME"], CACHE_DIR: process.env["CACHE_DIR"] }).cacheDir;

/** A fresh, empty temporary data folder (embedded Postgres lives there). */
export function tempDataDir(prefix = "switchboard-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface DatabaseTarget {
  name: string;
  /** A migrated, empty database; `drop` removes it. */
  open(): Promise<{ db: Database; drop: () => Promise<void> }>;
}

/**
 * The Postgres implementations every storage test runs against: embedded (PGlite) always, and
 * a real server when TEST_DATABASE_URL is set (each run in a database of its own, dropped after).
 */
export function databaseTargets(): DatabaseTarget[] {
  const targets: DatabaseTarget[] = [
    {
      name: "embedded",
      async open() {
        const dir = tempDataDir();
        const db = await openDatabase({ databaseUrl: undefined, dataDir: dir, cacheDir: CACHE_DIR, logger: silentLogger() });
        await migrate(db.pool);
        return { db, drop: async () => { await db.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
      },
    },
  ];
  const server = process.env["TEST_DATABASE_URL"];
  // Without a server the suite runs on embedded Postgres only, and says so (under CI it fails instead).
  if (server) targets.push({ name: "server", open: () => freshServerDatabase(server) });
  else skipWithoutServer("the Postgres server target of this contract suite");
  return targets;
}

/** Creates `switchboard_test_<random>` on the server and returns it migrated. */
export async function freshServerDatabase(serverUrl: string): Promise<{ db: Database; drop: () => Promise<void>; url: string }> {
  const name = `switchboard_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: tempDataDir(), logger: silentLogger() });
  await migrate(db.pool);
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await db.close();
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
