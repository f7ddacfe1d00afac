import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { startService, type RunningService } from "../../bots/cli/serve.ts";
import { loadConfig } from "../../src/config.ts";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../src/db/embedded.ts";
import { StorageError } from "../../src/errors.ts";
import { silentLogger } from "../../src/logger.ts";
import { tempDataDir } from "../helpers/databases.ts";

/**
 * Runs a query that keeps PGlite busy for a while and watches this (the main) thread meanwhile:
 * the longest time its timers could not run, and how long the query took. With PGlite on this
 * thread the WebAssembly runs the query in one synchronous call, so the longest gap is about the
 * query's whole time; with PGlite on a thread of its own this thread is free throughout.
 */
async function mainThreadDuringQuery(query: (sql: string) => Promise<unknown>): Promise<{ queryMs: number; longestGapMs: number }> {
  let last = performance.now();
  let longestGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  }, 2);
  const started = performance.now();
  try {
    await query("select count(*) from generate_series(1, 3000000) g where g % 7 = 3");
  } finally {
    clearInterval(timer);
  }
  return { queryMs: performance.now() - started, longestGapMs };
}

describe("embedded Postgres on a thread of its own (serve)", () => {
  const dirs: string[] = [];
  let service: RunningService | undefined;
  let embedded: EmbeddedPostgres | undefined;
  afterEach(async () => {
    await service?.stop();
    await embedded?.stop();
    service = undefined;
    embedded = undefined;
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it("serve's database works while its main thread stays free for HTTP and the turns", { timeout: 120_000 }, async () => {
    const dataDir = tempDataDir("switchboard-thread-");
    dirs.push(dataDir);
    service = await startService(loadConfig({ DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "error" }), silentLogger());
    const pool = service.app.db.pool;
    const { queryMs, longestGapMs } = await mainThreadDuringQuery((sql) => pool.query(sql));
    expect(longestGapMs).toBeLessThan(queryMs / 2);
    // And it answers a message through it, as serve does.
    const res = await fetch(`${service.address}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "thread-user", text: "How do I reset my password?" }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { reply: string }).reply).toMatch(/password/i);
  });

  it("a one-shot opening (no thread) keeps PGlite on the calling thread", { timeout: 120_000 }, async () => {
    const dataDir = tempDataDir("switchboard-thread-");
    dirs.push(dataDir);
    embedded = await startEmbeddedPostgres(dataDir, silentLogger());
    const client = new pg.Client({ connectionString: embedded.url });
    await client.connect();
    try {
      const { queryMs, longestGapMs } = await mainThreadDuringQuery((sql) => client.query(sql));
      expect(longestGapMs).toBeGreaterThan(queryMs / 2);
    } finally {
      await client.end();
    }
  });

  it("stops the thread and frees the folder: what it wrote is there at the next opening", { timeout: 120_000 }, async () => {
    const dataDir = tempDataDir("switchboard-thread-");
    dirs.push(dataDir);
    const first = await startEmbeddedPostgres(dataDir, silentLogger(), { thread: true });
    const c1 = new pg.Client({ connectionString: first.url });
    await c1.connect();
    await c1.query("create table kept (v text); insert into kept values ('written on the thread')");
    await c1.end();
    await first.stop();
    expect(fs.existsSync(path.join(dataDir, "switchboard.lock"))).toBe(false);
    // The folder is free: this opening owns it (a live thread would still hold it).
    embedded = await startEmbeddedPostgres(dataDir, silentLogger());
    expect(embedded.owner).toBe(true);
    const c2 = new pg.Client({ connectionString: embedded.url });
    await c2.connect();
    try {
      expect((await c2.query("select v from kept")).rows).toEqual([{ v: "written on the thread" }]);
    } finally {
      await c2.end();
    }
  });

  it("a thread that cannot open the folder fails the start with the reason, and leaves no lock", { timeout: 120_000 }, async () => {
    const dataDir = tempDataDir("switchboard-thread-");
    dirs.push(dataDir);
    // A file where the cluster's folder goes: PGlite cannot open it.
    fs.writeFileSync(path.join(dataDir, "pgdata"), "not a folder");
    const err = await startEmbeddedPostgres(dataDir, silentLogger(), { thread: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorageError);
    expect(String((err as Error).message)).toContain("Could not open the embedded database");
    expect(fs.existsSync(path.join(dataDir, "switchboard.lock"))).toBe(false);
  });
});
