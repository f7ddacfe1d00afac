import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate, readMigrations } from "../../src/db/migrate.ts";
import { silentLogger } from "../../src/logger.ts";
import { tempDataDir } from "../helpers/databases.ts";

/** The embedded database's settings for a small footprint (issue 13): little WAL, small buffers. */
describe("embedded Postgres footprint", () => {
  let db: Database | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await db?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    db = undefined;
    dir = undefined;
  });

  const settings = async (d: Database) =>
    Object.fromEntries(
      (await d.pool.query<{ name: string; value: string }>(
        "select name, current_setting(name) as value from pg_settings where name in ('wal_level', 'shared_buffers', 'max_wal_size', 'min_wal_size', 'wal_segment_size')",
      )).rows.map((r) => [r.name, r.value]),
    );
  const segmentSizes = (d: string) => {
    const wal = path.join(d, "pgdata", "pg_wal");
    return [...new Set(fs.readdirSync(wal).filter((f) => /^[0-9A-F]{24}$/.test(f)).map((f) => fs.statSync(path.join(wal, f)).size))];
  };

  it("creates a new folder with 1 MB WAL segments, minimal WAL, 16 MB of shared buffers and a few MB of WAL kept", async () => {
    dir = tempDataDir();
    db = await openDatabase({ databaseUrl: undefined, dataDir: dir, logger: silentLogger() });
    expect(await settings(db)).toEqual({ wal_level: "minimal", shared_buffers: "16MB", max_wal_size: "8MB", min_wal_size: "2MB", wal_segment_size: "1MB" });
    expect(segmentSizes(dir)).toEqual([1024 * 1024]);
  });

  // A hang guard for a loaded machine: two templates made at once (initdb and the migrations, ~5 s of CPU each) and four opens.
  it("copies a new folder from the cache's initialised and migrated cluster: the same settings, every migration, a new database of its own", { timeout: 300_000 }, async () => {
    const cacheDir = tempDataDir("switchboard-cache-test-");
    const dirs = [tempDataDir(), tempDataDir(), tempDataDir()];
    const opened: Database[] = [];
    try {
      // Two at once on an empty cache both make the template; each ends with a whole one.
      opened.push(...(await Promise.all(dirs.slice(0, 2).map((d) => openDatabase({ databaseUrl: undefined, dataDir: d, cacheDir, logger: silentLogger() })))));
      expect(fs.readdirSync(cacheDir).filter((f) => f.startsWith("pglite-"))).toEqual([expect.stringMatching(/^pglite-[\d.]+-wal1mb-schema-[0-9a-f]{16}$/)]);
      opened.push(await openDatabase({ databaseUrl: undefined, dataDir: dirs[2]!, cacheDir, logger: silentLogger() }));
      const names = readMigrations().map((m) => m.name);
      for (const [i, d] of opened.entries()) {
        expect(d.created).toBe(true);
        // It came migrated: the migrations are recorded as applied, and migrating applies nothing.
        expect(d.seededMigrations).toEqual(names);
        expect((await d.pool.query("select name from schema_migrations order by version")).rows.map((r) => r.name)).toEqual(names);
        expect(await migrate(d.pool)).toEqual([]);
        expect(await settings(d)).toEqual({ wal_level: "minimal", shared_buffers: "16MB", max_wal_size: "8MB", min_wal_size: "2MB", wal_segment_size: "1MB" });
        expect(segmentSizes(dirs[i]!)).toEqual([1024 * 1024]);
      }
      await opened[0]!.pool.query("create table mine (v text)");
      expect((await opened[2]!.pool.query("select to_regclass('mine') as t")).rows).toEqual([{ t: null }]);
      // Reopened, a copied folder is an existing database with what was written in it.
      await opened[0]!.close();
      opened[0] = await openDatabase({ databaseUrl: undefined, dataDir: dirs[0]!, cacheDir, logger: silentLogger() });
      expect(opened[0].created).toBe(false);
      expect(opened[0].seededMigrations).toEqual([]);
      expect((await opened[0].pool.query("select to_regclass('mine')::text as t")).rows).toEqual([{ t: "mine" }]);
    } finally {
      for (const d of opened) await d.close();
      for (const d of [cacheDir, ...dirs]) fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it("keeps pg_wal near max_wal_size while it runs: it checkpoints, which PGlite never does by itself", async () => {
    dir = tempDataDir();
    db = await openDatabase({ databaseUrl: undefined, dataDir: dir, logger: silentLogger(), maintenanceMs: 100 });
    const walFiles = () => fs.readdirSync(path.join(dir!, "pgdata", "pg_wal")).filter((f) => /^[0-9A-F]{24}$/.test(f)).length;
    await db.pool.query("create table filler (v text)");
    const start = (await db.pool.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0]!.lsn;
    // About 20 MB of WAL (1 MB segments), well over max_wal_size (8 MB).
    for (let i = 0; i < 10; i++) await db.pool.query("insert into filler select repeat(md5(g::text), 60) from generate_series(1, 1000) g");
    await db.pool.query("delete from filler");
    for (let i = 0; i < 10; i++) await db.pool.query("insert into filler select repeat(md5(g::text), 60) from generate_series(1, 1000) g");
    // From the WAL position itself: pg_stat_wal's counters are flushed at most once a second, so they can lag.
    const written = Number((await db.pool.query<{ b: string }>("select pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text as b", [start])).rows[0]!.b);
    expect(written).toBeGreaterThan(16 * 1024 * 1024);
    // Recycled at the checkpoints: 8 MB of segments kept, and the one being written.
    await expect.poll(walFiles, { timeout: 60_000, interval: 200 }).toBeLessThanOrEqual(11);
  });

  it("opens a folder made with 16 MB segments (before this setting) with WAL limits that fit them", async () => {
    dir = tempDataDir();
    const old = await PGlite.create(path.join(dir, "pgdata"));
    await old.query("create table kept (v text)");
    await old.query("insert into kept values ('from before')");
    await old.close();
    expect(segmentSizes(dir)).toEqual([16 * 1024 * 1024]);

    db = await openDatabase({ databaseUrl: undefined, dataDir: dir, logger: silentLogger() });
    expect(await settings(db)).toMatchObject({ wal_level: "minimal", max_wal_size: "128MB", min_wal_size: "32MB", wal_segment_size: "16MB" });
    expect((await db.pool.query("select v from kept")).rows).toEqual([{ v: "from before" }]);
  });
});
