import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type pg from "pg";
import { StorageError, errorMessage } from "../errors.ts";

/** Numbered SQL files, `NNN_name.sql`, applied in order. */
export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, "../../migrations");

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .map((f) => ({
      version: Number(f.split("_")[0]),
      name: f.replace(/\.sql$/, ""),
      sql: fs.readFileSync(path.join(dir, f), "utf8"),
    }))
    .sort((a, b) => a.version - b.version);
}

/** An arbitrary constant: the advisory lock that keeps two processes from migrating at once. */
const MIGRATION_LOCK = 727_001;

/** What applying migrations needs of a connection: a `pg` client, or PGlite through an adapter (src/db/embedded.ts). */
export interface MigrationClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, each in its own transaction.
 * Returns the names applied. Safe to run from several processes at once.
 */
export async function migrate(pool: pg.Pool, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const client = await pool.connect();
  try {
    return await applyMigrations(client, readMigrations(dir));
  } finally {
    client.release();
  }
}

/** {@link migrate} on one connection. */
export async function applyMigrations(client: MigrationClient, migrations: readonly Migration[]): Promise<string[]> {
  const applied: string[] = [];
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await client.query(`create table if not exists schema_migrations (
      version integer primary key,
      name text not null,
      applied_at timestamptz not null default now())`);
    const done = new Set(((await client.query("select version from schema_migrations")).rows as Array<{ version: number }>).map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        await client.query("begin");
        await client.query(m.sql);
        await client.query("insert into schema_migrations (version, name) values ($1, $2)", [m.version, m.name]);
        await client.query("commit");
        applied.push(m.name);
      } catch (err) {
        await client.query("rollback").catch(() => {});
        throw new StorageError(`Migration ${m.name} failed: ${errorMessage(err)}`, { cause: err });
      }
    }
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
  }
  return applied;
}

/** SHA-256 (hex) over the migrations' names and SQL: names a database made with exactly these. */
export function migrationsHash(migrations: readonly Migration[]): string {
  const hash = createHash("sha256");
  for (const m of migrations) hash.update(m.name).update("\0").update(m.sql).update("\0");
  return hash.digest("hex");
}
