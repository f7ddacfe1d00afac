import fs from "node:fs";
import net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";
import { StorageError } from "../../src/errors.ts";
import { silentLogger } from "../../src/logger.ts";
import { tempDataDir } from "../helpers/databases.ts";

/**
 * A full pool is busy, not down. pg-pool counts the wait for a free connection against its
 * connection timeout, so a burst of messages queued behind the embedded database's one connection
 * failed with "the database is unreachable" (seen in test/inbox/scale-out.test.ts under load: 1000
 * messages at once). The wait for a free connection and a connection attempt now have limits of
 * their own.
 */
describe("the pool: waiting for a free connection is not an outage", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a query queued behind a busy connection for longer than the connect timeout still runs", async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    // One connection, as embedded runs; a connection attempt may take 200 ms, the queue 60 s.
    const db = await openDatabase({ databaseUrl: undefined, dataDir: dir, logger: silentLogger(), max: 1, connectTimeoutMs: 200, poolWaitMs: 60_000 });
    try {
      const held = await db.pool.connect();
      const queued = db.pool.query<{ n: number }>("select 1 as n");
      // Held well past the connect timeout: before, the queued query failed with "timeout exceeded when trying to connect".
      await new Promise((r) => setTimeout(r, 800));
      held.release();
      expect((await queued).rows[0]?.n).toBe(1);
    } finally {
      await db.close();
    }
  });

  it("a server that takes the connection and never answers is unreachable after the connect timeout (not the queue's minute)", async () => {
    // Accepts TCP connections and says nothing: a connection attempt can only time out.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const dir = tempDataDir();
    dirs.push(dir);
    try {
      const err = await openDatabase({ databaseUrl: `postgres://nobody@127.0.0.1:${port}/none`, dataDir: dir, logger: silentLogger(), connectTimeoutMs: 300, poolWaitMs: 60_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageError);
      expect((err as Error).message).toMatch(/Cannot reach the database at DATABASE_URL/);
      // The connection attempt's own timer gave up ("timeout expired"); the pool's 60 s one would say "timeout exceeded".
      expect((err as Error).message).toMatch(/timeout expired/);
      expect((err as Error).message).not.toMatch(/timeout exceeded/);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
