import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { StorageError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { applyMigrations, migrationsHash, readMigrations, type MigrationClient } from "./migrate.ts";
import { useSequencedQueue } from "./wire-queue.ts";

/**
 * Embedded Postgres: PGlite (Postgres compiled to WebAssembly) with its data in a folder, served
 * on a loopback port over the Postgres wire protocol so the rest of Switchboard talks `pg` to it
 * exactly as it would to a server.
 *
 * PGlite is single-process: two processes opening one folder corrupt it. The first process
 * writes `switchboard.lock` (pid and port); a second process connects to the first one's port
 * instead of opening the folder.
 *
 * The port takes connections with the folder's password only (`wire-password`, made at first
 * start): the lock file says where the port is, and any local user could otherwise read every
 * customer's data through it. Both files are readable by their owner only.
 */
export interface EmbeddedPostgres {
  /** `postgres://` URL of the wire-protocol port. */
  readonly url: string;
  /** True when this process opened a folder that had no database before. */
  readonly created: boolean;
  /** False when another process owns the folder and this one only connected to it. */
  readonly owner: boolean;
  /**
   * The migrations a new folder came with, copied from the migrated template (see
   * `EmbeddedOptions.cacheDir`): applied to this database before it opened. Empty otherwise.
   */
  readonly seededMigrations: readonly string[];
  stop(): Promise<void>;
}

interface LockInfo {
  pid: number;
  port: number;
}

const LOCK_FILE = "switchboard.lock";
const PASSWORD_FILE = "wire-password";

/**
 * Data folders this process has open, with their wire port. The lock file cannot say so: a lock
 * with this process's own pid is taken for stale (after a crash a new process can get the same
 * pid, as pid 1 in a container does), so a second open in one process is caught here instead.
 */
const openHere = new Map<string, number>();

/**
 * Postgres settings of the embedded database, for a small footprint. PGlite runs Postgres as one
 * single-user backend: there is no replication to feed, so WAL is written at the `minimal` level;
 * there is no checkpointer process, so the backend checkpoints itself whenever `max_wal_size` of
 * WAL has been written, and only then are WAL segments recycled: a small `max_wal_size` keeps
 * `pg_wal` at a few MB instead of growing towards Postgres' 1 GB default. `shared_buffers` is
 * memory inside the WebAssembly heap (which never shrinks): PGlite's default is 128 MB.
 */
const EMBEDDED_SETTINGS = ["wal_level = minimal", "max_wal_senders = 0", "shared_buffers = 16MB"] as const;

/** A new data folder gets 1 MB WAL segments (Postgres' default is 16 MB): WAL is kept and recycled in smaller steps. */
const WAL_SEGMENT_MB = 1;

/** `max_wal_size` / `min_wal_size` in WAL segments (Postgres needs at least two). */
const MAX_WAL_SEGMENTS = 8;
const MIN_WAL_SEGMENTS = 2;

/**
 * The WAL settings for a data folder: its segment size is fixed when it was created (folders
 * from before this setting have 16 MB segments; it is read from a segment file's size).
 */
function walSettings(pgDir: string): string[] {
  let segmentMb = WAL_SEGMENT_MB;
  try {
    const segment = fs.readdirSync(path.join(pgDir, "pg_wal")).find((f) => /^[0-9A-F]{24}$/.test(f));
    if (segment) segmentMb = Math.max(1, Math.round(fs.statSync(path.join(pgDir, "pg_wal", segment)).size / (1024 * 1024)));
  } catch {
    // A new folder: the segment size below.
  }
  return [`max_wal_size = ${MAX_WAL_SEGMENTS * segmentMb}MB`, `min_wal_size = ${MIN_WAL_SEGMENTS * segmentMb}MB`];
}

/** Max concurrent wire connections; the pool stays below it so a second process fits. */
const MAX_CONNECTIONS = 32;

export interface EmbeddedOptions {
  /**
   * A folder for a freshly initialised database cluster with every migration applied (`initdb`
   * costs about 3 s of CPU in WebAssembly, the migrations about 1.5 s more), copied into each new
   * data folder instead of running both there again. Default: none (every new folder runs
   * `initdb`, and the migrations run when the app migrates).
   */
  cacheDir?: string | undefined;
  /**
   * Run PGlite and its wire server on a worker thread of their own (`switchboard serve`): Postgres
   * then has a core of its own instead of sharing the main thread with HTTP and the turns. One-shot
   * commands leave it off: a second thread costs them a start and memory and buys nothing.
   * Default false.
   */
  thread?: boolean | undefined;
}

export async function startEmbeddedPostgres(dataDir: string, logger: Logger, opts: EmbeddedOptions = {}): Promise<EmbeddedPostgres> {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, LOCK_FILE);
  const pgDir = path.join(dataDir, "pgdata");
  const password = readOrCreatePassword(path.join(dataDir, PASSWORD_FILE));

  // This process has it open already (an embedder opening it twice): connect, never a second PGlite.
  const here = openHere.get(path.resolve(dataDir));
  if (here !== undefined) {
    logger.info({ port: here }, "embedded database is already open in this process; connecting to it");
    return { url: urlFor(here, password), created: false, owner: false, seededMigrations: [], stop: async () => {} };
  }
  const held = readLiveLock(lockPath);
  if (held) {
    if (held.port > 0) {
      logger.info({ pid: held.pid, port: held.port }, "embedded database is owned by another process; connecting to it");
      return { url: urlFor(held.port, password), created: false, owner: false, seededMigrations: [], stop: async () => {} };
    }
    throw new StorageError(
      `The data folder ${dataDir} is in use by process ${held.pid}. Stop it, use another DATA_DIR, or set DATABASE_URL.`,
    );
  }

  // Claim the folder before opening it; `wx` fails if another process won the race.
  writeLock(lockPath, { pid: process.pid, port: 0 }, "wx");
  const created = !fs.existsSync(path.join(pgDir, "PG_VERSION"));
  let served: Served | undefined;
  try {
    const seededMigrations = created && opts.cacheDir ? await seedFromTemplate(pgDir, opts.cacheDir, logger) : [];
    const serveOptions: ServeOptions = {
      pgDir,
      password,
      postgresqlconf: [...EMBEDDED_SETTINGS, ...walSettings(pgDir)],
      initDbStartParams: [`--wal-segsize=${WAL_SEGMENT_MB}`],
    };
    served = opts.thread ? await startOnThread(serveOptions, logger) : await servePglite(serveOptions);
    const { port } = served;
    writeLock(lockPath, { pid: process.pid, port }, "w");
    openHere.set(path.resolve(dataDir), port);
    logger.debug({ port, dataDir, thread: Boolean(opts.thread) }, "embedded postgres listening");
    const started = served;
    return {
      url: urlFor(port, password),
      created,
      owner: true,
      seededMigrations,
      stop: async () => {
        openHere.delete(path.resolve(dataDir));
        await started.stop();
        fs.rmSync(lockPath, { force: true });
      },
    };
  } catch (err) {
    await served?.stop().catch(() => {});
    fs.rmSync(lockPath, { force: true });
    throw new StorageError(`Could not open the embedded database in ${pgDir}: ${String(err)}`, { cause: err });
  }
}

/** What `servePglite` needs: plain data, so that it crosses to a worker thread as `workerData`. */
export interface ServeOptions {
  pgDir: string;
  password: string;
  postgresqlconf: string[];
  initDbStartParams: string[];
}

/** A PGlite served on a loopback port. */
interface Served {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Opens PGlite on `pgDir` and serves it on a free loopback port, in the calling thread (the
 * folder's lock is the caller's business). Exported for embedded-thread.ts.
 */
export async function servePglite(o: ServeOptions): Promise<Served> {
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    db = await PGlite.create(o.pgDir, { postgresqlconf: o.postgresqlconf, initDbStartParams: o.initDbStartParams });
    server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: MAX_CONNECTIONS });
    // Concurrent queries from several connections must not interleave (see wire-queue.ts).
    useSequencedQueue(server, db, { password: o.password });
    await server.start();
    sendAtOnce(server);
    const started = { db, server };
    return {
      port: Number(server.getServerConn().split(":").pop()),
      stop: async () => {
        await started.server.stop();
        await started.db.close();
      },
    };
  } catch (err) {
    await server?.stop().catch(() => {});
    await db?.close().catch(() => {});
    throw err;
  }
}

/**
 * `servePglite` on a worker thread of its own (embedded-thread.ts). The thread belongs to this
 * process: it ends with it (a crash, SIGKILL), so nothing is left running. If it dies while
 * serving, the database is gone and the process with it: the error is thrown where nothing
 * catches it, as PGlite's own failure on the main thread would be, and the next start recovers
 * the unfinished messages.
 */
async function startOnThread(o: ServeOptions, logger: Logger): Promise<Served> {
  const source = import.meta.url.endsWith(".ts");
  const entry = new URL(source ? "./embedded-thread.ts" : "./embedded-thread.js", import.meta.url);
  // From the sources (tests, `tsx`) the thread reads TypeScript through tsx's loader (a worker
  // does not take `--import` loaders in its execArgv on Node 20); dist/ is JavaScript.
  const worker = source
    ? new Worker(`import(${JSON.stringify(pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/esm/api/index.mjs")).href)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)}))`, { eval: true, workerData: o, name: "switchboard-embedded-postgres" })
    : new Worker(entry, { workerData: o, name: "switchboard-embedded-postgres" });
  let stopping = false;
  const port = await new Promise<number>((resolve, reject) => {
    const failed = (err: unknown) => reject(err instanceof Error ? err : new Error(String(err)));
    worker.once("error", failed);
    worker.once("exit", (code) => failed(new Error(`the embedded database's thread ended (exit code ${code}) before it listened`)));
    worker.once("message", (m: { port?: number; error?: string }) => {
      if (typeof m.port === "number") resolve(m.port);
      else failed(new Error(m.error ?? "the embedded database's thread failed to start"));
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  worker.removeAllListeners();
  let exited = false;
  worker.once("exit", () => (exited = true));
  const died = (why: string) => {
    if (stopping) return;
    logger.fatal({ why }, "the embedded database's thread died; stopping");
    setImmediate(() => {
      throw new StorageError(`The embedded database's thread died: ${why}`);
    });
  };
  worker.on("error", (err) => died(errorMessage(err)));
  worker.on("exit", (code) => died(`exit code ${code}`));
  return {
    port,
    stop: async () => {
      if (stopping) return;
      stopping = true;
      if (exited) return;
      const ended = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      const answer = new Promise<void>((resolve, reject) => {
        worker.on("message", (m: unknown) => (m === "stopped" ? resolve() : reject(new Error((m as { error?: string }).error ?? String(m)))));
        worker.once("exit", () => resolve());
      });
      worker.postMessage("stop");
      try {
        await answer;
      } finally {
        await ended;
      }
    },
  };
}

/**
 * Fills a new `pgDir` with a copy of a cluster `initdb` made once, with every migration applied
 * (with this PGlite, the WAL segment size above and these migrations: the template's name says
 * all three), so a new data folder costs a copy instead of `initdb` and the migrations. Returns
 * the migrations the copy holds. The template is made in a folder of its own and renamed into
 * place, so two processes making it at once both end with a whole one. Any failure falls back to
 * `initdb` (and the migrations then run as on any database).
 */
async function seedFromTemplate(pgDir: string, cacheDir: string, logger: Logger): Promise<string[]> {
  if (fs.existsSync(pgDir) && fs.readdirSync(pgDir).length > 0) return [];
  const migrations = readMigrations();
  const template = path.join(cacheDir, `pglite-${pgliteVersion()}-wal${WAL_SEGMENT_MB}mb-schema-${migrationsHash(migrations).slice(0, 16)}`);
  try {
    if (!fs.existsSync(path.join(template, "PG_VERSION"))) {
      const making = `${template}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
      fs.mkdirSync(cacheDir, { recursive: true });
      try {
        const db = await PGlite.create(making, { initDbStartParams: [`--wal-segsize=${WAL_SEGMENT_MB}`] });
        try {
          await applyMigrations(migrationClient(db), migrations);
        } finally {
          await db.close();
        }
        fs.renameSync(making, template);
        logger.debug({ template }, "made the embedded database template");
      } catch (err) {
        // Another process renamed its template into place first: use that one.
        if (!fs.existsSync(path.join(template, "PG_VERSION"))) throw err;
      } finally {
        fs.rmSync(making, { recursive: true, force: true });
      }
    }
    fs.cpSync(template, pgDir, { recursive: true });
    return migrations.map((m) => m.name);
  } catch (err) {
    logger.debug({ err: String(err), template }, "no embedded database template; running initdb");
    fs.rmSync(pgDir, { recursive: true, force: true });
    return [];
  }
}

/** PGlite as {@link applyMigrations} wants it: a statement with parameters, or a script of several (a migration file). */
function migrationClient(db: PGlite): MigrationClient {
  return {
    query: async (sql, params) => (params ? db.query(sql, params) : ((await db.exec(sql)).at(-1) ?? { rows: [] })),
  };
}

let pgliteVersionRead: string | undefined;
function pgliteVersion(): string {
  if (pgliteVersionRead) return pgliteVersionRead;
  // The package does not export its package.json; it sits two folders above the entry point.
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(entry), "..", "package.json"), "utf8")) as { version: string };
  return (pgliteVersionRead = pkg.version);
}

function urlFor(port: number, password: string): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/** The folder's wire password: made once (owner-only), read by every later process on the folder. */
function readOrCreatePassword(file: string): string {
  try {
    fs.writeFileSync(file, randomBytes(24).toString("base64url"), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const password = fs.readFileSync(file, "utf8").trim();
  if (password === "") throw new StorageError(`${file} is empty; delete it and start again to make a new one.`);
  return password;
}

function readLiveLock(lockPath: string): LockInfo | undefined {
  let info: LockInfo;
  try {
    info = JSON.parse(fs.readFileSync(lockPath, "utf8")) as LockInfo;
  } catch {
    return undefined;
  }
  if (info.pid !== process.pid && isAlive(info.pid)) return info;
  // The owner crashed: the lock is stale and the folder is free.
  fs.rmSync(lockPath, { force: true });
  return undefined;
}

/** Whether a process with this pid runs (one of another user counts: signalling it is refused, not unknown). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function writeLock(lockPath: string, info: LockInfo, flag: "w" | "wx"): void {
  try {
    fs.writeFileSync(lockPath, JSON.stringify(info), { flag, mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new StorageError(`The data folder ${path.dirname(lockPath)} was just claimed by another process; try again.`);
    }
    throw err;
  }
}

/**
 * Turns Nagle's algorithm off on the server's connections (pglite-socket leaves it on; `pg` turns
 * it off on its side). PGlite's answer to one message goes out in several small writes: with
 * Nagle a write waits for the ACK of the previous one, which loopback's delayed ACK holds back
 * for up to 40–200 ms, so a connection's first query took ~0.5 s and every reply of several
 * parts waited as well. pglite-socket gives no option for it: this reaches its `net.Server`.
 */
function sendAtOnce(server: PGLiteSocketServer): void {
  const inner = (server as unknown as { server?: unknown }).server;
  if (!(inner instanceof net.Server)) {
    throw new Error("pglite-socket changed: PGLiteSocketServer has no net.Server in `server` once started; check sendAtOnce in src/db/embedded.ts against its new version");
  }
  inner.on("connection", (socket: net.Socket) => socket.setNoDelay(true));
}
