import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { skipWithoutServer } from "./requirements.ts";
import { loadConfig } from "../../src/config.ts";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate, readMigrations } from "../../src/db/migrate.ts";
import { silentLogger } from "../../src/logger.ts";
import { isAlive } from "../../src/db/embedded.ts";

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

/**
 * The server database every `freshServerDatabase` is cloned from (`create database … template`):
 * migrated once per test run by test/global-setup.ts instead of running every migration in each
 * new database. Its name carries a hash of the migrations, so a changed migration makes a new one
 * and test runs of other checkouts on the same server (other migrations) do not share it.
 */
export function templateDatabaseName(): string {
  const hash = createHash("sha256");
  for (const m of readMigrations()) hash.update(`${m.name}\n${m.sql}\n`);
  return `switchboard_tmpl_${hash.digest("hex").slice(0, 12)}`;
}

/** A connection URL for database `name` on the server of `serverUrl`. */
function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(serverUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** An arbitrary constant: the advisory lock under which a test run makes the template database. */
const TEMPLATE_LOCK = 727_017;

/**
 * Makes the migrated template database on the server unless it is there (test/global-setup.ts).
 * It is built under another name and renamed when whole, under an advisory lock: test runs of
 * this and other checkouts may start at once, and none may clone a half-migrated template.
 */
export async function ensureTemplateDatabase(serverUrl: string): Promise<string> {
  const name = templateDatabaseName();
  await withAdmin(serverUrl, async (admin) => {
    await admin.query("select pg_advisory_lock($1)", [TEMPLATE_LOCK]);
    try {
      if ((await admin.query("select 1 from pg_database where datname = $1", [name])).rowCount) return;
      const building = `${name}_building`;
      await admin.query(`drop database if exists ${building} with (force)`);
      await admin.query(`create database ${building}`);
      const db = await openDatabase({ databaseUrl: databaseUrl(serverUrl, building), dataDir: tempDataDir(), logger: silentLogger() });
      try {
        await migrate(db.pool);
      } finally {
        await db.close();
      }
      await admin.query(`alter database ${building} rename to ${name}`);
    } finally {
      await admin.query("select pg_advisory_unlock($1)", [TEMPLATE_LOCK]);
    }
  });
  return name;
}

/** Creates an empty database `<prefix><random>` on the server (a clone of `template` when given). */
async function createServerDatabase(serverUrl: string, template?: string, prefix = `switchboard_test_${process.pid}_`): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}${Math.random().toString(36).slice(2, 8)}`;
  await withAdmin(serverUrl, (admin) => admin.query(`create database ${name}${template ? ` template ${template}` : ""}`));
  return {
    name,
    url: databaseUrl(serverUrl, name),
    drop: () => withAdmin(serverUrl, async (admin) => void (await admin.query(`drop database if exists ${name} with (force)`))),
  };
}

/**
 * Creates `switchboard_test_<random>` on the server and returns it migrated: a clone of the
 * template database (test/global-setup.ts makes it), or, when there is none (a test run without
 * the global setup), an empty database migrated here. `migrate` runs either way: on a clone it
 * finds every migration applied.
 */
export async function freshServerDatabase(serverUrl: string): Promise<{ db: Database; drop: () => Promise<void>; url: string }> {
  const created = await createServerDatabase(serverUrl, templateDatabaseName()).catch((err: unknown) => {
    // 3D000: the template does not exist.
    if ((err as { code?: string }).code === "3D000") return createServerDatabase(serverUrl);
    throw err;
  });
  const db = await openDatabase({ databaseUrl: created.url, dataDir: tempDataDir(), logger: silentLogger() });
  await migrate(db.pool);
  return {
    db,
    url: created.url,
    drop: async () => {
      await db.close();
      await created.drop();
    },
  };
}

/** Where a command-line test's `switchboard` commands keep their data: `env` to start them with. */
export interface CommandStorage {
  env: Record<string, string>;
  /** DATABASE_URL when it is a server database; undefined on embedded Postgres (DATA_DIR). */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Removes the server database (nothing to do on embedded: the temp folder stays with the others). */
  drop(): Promise<void>;
}

/**
 * Storage for commands a test starts as child processes (`bin/switchboard.js`): a new, empty
 * (unmigrated, as a new deployment's) database on the Postgres server when TEST_DATABASE_URL is
 * set — each start then connects instead of opening embedded Postgres, about 1.5 s of CPU less a
 * start — else a new embedded data folder. Tests about the embedded default itself use
 * `tempDataDir()` and no DATABASE_URL, whatever TEST_DATABASE_URL says.
 */
export async function commandStorage(): Promise<CommandStorage> {
  const dataDir = tempDataDir();
  const server = process.env["TEST_DATABASE_URL"];
  if (!server) return { env: { DATA_DIR: dataDir }, databaseUrl: undefined, dataDir, drop: async () => {} };
  const created = await createServerDatabase(server);
  return { env: { DATA_DIR: dataDir, DATABASE_URL: created.url }, databaseUrl: created.url, dataDir, drop: created.drop };
}

/**
 * The prefix of the databases `createAppDatabase` makes in a test run: the pid of the vitest
 * process (the parent of its worker processes, where test/global-setup.ts runs).
 */
export const appDatabasePrefix = (vitestPid: number) => `switchboard_test_app_${vitestPid}_`;

/**
 * A migrated server database for `startTestApp`, left in place when the app closes (a restart may
 * open it again) and dropped by the global setup's teardown (`dropAppDatabases`).
 */
export async function createAppDatabase(serverUrl: string): Promise<string> {
  const prefix = appDatabasePrefix(process.ppid);
  const created = await createServerDatabase(serverUrl, templateDatabaseName(), prefix).catch(async (err: unknown) => {
    if ((err as { code?: string }).code !== "3D000") throw err;
    // No template (a run without the global setup): migrate an empty one.
    const empty = await createServerDatabase(serverUrl, undefined, prefix);
    const db = await openDatabase({ databaseUrl: empty.url, dataDir: tempDataDir(), logger: silentLogger() });
    try {
      await migrate(db.pool);
    } finally {
      await db.close();
    }
    return empty;
  });
  return created.url;
}

/**
 * Drops the app databases of the test run of `vitestPid`, and those left by runs that were killed
 * before their teardown (their vitest process is gone).
 */
export async function dropAppDatabases(serverUrl: string, vitestPid: number): Promise<void> {
  await withAdmin(serverUrl, async (admin) => {
    const names = (await admin.query<{ datname: string }>("select datname from pg_database where datname like 'switchboard\\_test\\_app\\_%'")).rows.map((r) => r.datname);
    for (const name of names) {
      const pid = Number(/^switchboard_test_app_(\d+)_/.exec(name)?.[1]);
      if (pid !== vitestPid && isAlive(pid)) continue;
      await admin.query(`drop database if exists ${name} with (force)`);
    }
  });
}
