import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHANNELS, PgListener } from "../../src/db/pg-listener.ts";
import { silentLogger } from "../../src/logger.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { skipWithoutServer } from "../helpers/requirements.ts";
import { waitFor } from "./harness.ts";

const SERVER = process.env["TEST_DATABASE_URL"];

// Postgres 15 wakes every backend that LISTENs in a database for every NOTIFY in it, whatever the
// channel, and each wake-up is a transaction of that backend's: a channel nobody waits on must
// not be LISTENed.
describe.skipIf(skipWithoutServer("test/inbox/pg-listener.test.ts"))("the LISTEN connection listens only while someone waits", () => {
  let fresh: Awaited<ReturnType<typeof freshServerDatabase>>;
  beforeAll(async () => {
    fresh = await freshServerDatabase(SERVER!);
  });
  afterAll(async () => {
    await fresh?.drop();
  });
  const notify = (channel: string, payload: string) => fresh.db.pool.query("select pg_notify($1, $2)", [channel, payload]);

  it("no channel without a handler; LISTEN with the first, a read-again signal, then every notification; UNLISTEN a while after the last left", async () => {
    const listener = new PgListener({ url: fresh.url, logger: silentLogger(), channels: [CHANNELS.messageFinished, CHANNELS.stepFinished], lingerMs: 300 });
    await listener.start();
    try {
      expect(listener.connected).toBe(true);
      expect(await listener.listening()).toEqual([]);

      const seen: Array<string | undefined> = [];
      const off = listener.on(CHANNELS.messageFinished, (payload) => seen.push(payload));
      // In place: the handler is told to read again whatever finished before.
      await waitFor(async () => seen.length === 1, "the LISTEN to be in place");
      expect(seen).toEqual([undefined]);
      expect(await listener.listening()).toEqual([CHANNELS.messageFinished]);
      await notify(CHANNELS.stepFinished, "s1");
      await notify(CHANNELS.messageFinished, "m1");
      await waitFor(async () => seen.length === 2, "the notification");
      expect(seen).toEqual([undefined, "m1"]);

      // A second handler of the channel: no second LISTEN, no read-again signal for the first.
      const other: Array<string | undefined> = [];
      const offOther = listener.on(CHANNELS.messageFinished, (payload) => other.push(payload));
      await notify(CHANNELS.messageFinished, "m2");
      await waitFor(async () => other.includes("m2"), "the second handler's notification");
      expect(seen).toEqual([undefined, "m1", "m2"]);

      off();
      offOther();
      // A wait soon after costs no LISTEN: the channel lingers, then goes.
      expect(await listener.listening()).toEqual([CHANNELS.messageFinished]);
      await waitFor(async () => (await listener.listening()).length === 0, "the UNLISTEN after the linger", 5000, 50);
      await notify(CHANNELS.messageFinished, "m3");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).toEqual([undefined, "m1", "m2"]);

      // Waiting again: LISTEN again, and read again.
      const again: Array<string | undefined> = [];
      listener.on(CHANNELS.messageFinished, (payload) => again.push(payload));
      await waitFor(async () => again.length === 1, "the LISTEN again");
      expect(again).toEqual([undefined]);
    } finally {
      await listener.stop();
    }
  });

  it("a handler added before the connection is up is LISTENed once it is", async () => {
    const listener = new PgListener({ url: fresh.url, logger: silentLogger(), channels: [CHANNELS.stepFinished] });
    const seen: Array<string | undefined> = [];
    listener.on(CHANNELS.stepFinished, (payload) => seen.push(payload));
    await listener.start();
    try {
      await waitFor(async () => seen.length === 1, "the LISTEN");
      await notify(CHANNELS.stepFinished, "s2");
      await waitFor(async () => seen.includes("s2"), "the notification");
      expect(await listener.listening()).toEqual([CHANNELS.stepFinished]);
    } finally {
      await listener.stop();
    }
  });

  it("a listener nobody waits on costs the database no transaction per notification; LISTENing on any channel, about one each", async () => {
    const N = 50;
    // The database's commits while N notifications are sent, with the listener's backend gone at
    // the end (a backend reports its counts when it exits).
    const commitsWith = async (listen: boolean) => {
      const baseline = await backends();
      const listener = new PgListener({ url: fresh.url, logger: silentLogger(), channels: [CHANNELS.messageFinished, CHANNELS.stepFinished], lingerMs: 0 });
      await listener.start();
      const ready: unknown[] = [];
      if (listen) listener.on(CHANNELS.stepFinished, (p) => ready.push(p));
      if (listen) await waitFor(async () => ready.length === 1, "the LISTEN");
      const before = await commits();
      const sender = new pg.Client({ connectionString: fresh.url });
      await sender.connect();
      for (let i = 0; i < N; i++) {
        await sender.query("select pg_notify($1, $2)", [CHANNELS.messageFinished, `x${i}`]);
        // One at a time, so the listening backend reads each (under load it reads several at once).
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await sender.end();
      await listener.stop();
      await waitFor(async () => (await backends()) === baseline, "the backends to exit", 10_000, 50);
      return (await commits()) - before;
    };
    const idle = await commitsWith(false);
    const listening = await commitsWith(true);
    // The sender's N, its connection's start, this test's reads.
    expect(idle).toBeLessThan(N + 10);
    expect(listening - idle).toBeGreaterThan(N / 2);
  });

  async function commits(): Promise<number> {
    const c = new pg.Client({ connectionString: fresh.url });
    await c.connect();
    try {
      return Number((await c.query("select xact_commit from pg_stat_database where datname = current_database()")).rows[0].xact_commit);
    } finally {
      await c.end();
    }
  }
  async function backends(): Promise<number> {
    return (await fresh.db.pool.query("select count(*)::int as n from pg_stat_activity where datname = current_database()")).rows[0].n;
  }
});
