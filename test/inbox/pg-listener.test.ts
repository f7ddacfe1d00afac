import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHANNELS, PgListener } from "../../src/db/pg-listener.ts";
import { OutcomeWaiter } from "../../src/inbox/outcome-waiter.ts";
import { silentLogger } from "../../src/logger.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { skipWithoutServer } from "../helpers/requirements.ts";
import { waitFor } from "./harness.ts";

const SERVER = process.env["TEST_DATABASE_URL"];

// Postgres 15 wakes every backend that LISTENs in a database for every NOTIFY in it, whatever the
// channel, and each wake-up is a transaction of that backend's: a channel nobody waits on must
// not be LISTENed.
describe.skipIf(skipWithoutServer("test/inbox/pg-listener.test.ts"))("notifications on one Postgres", () => {
  let fresh: Awaited<ReturnType<typeof freshServerDatabase>>;
  beforeAll(async () => {
    fresh = await freshServerDatabase(SERVER!);
  });
  afterAll(async () => {
    await fresh?.drop();
  });

  describe("the LISTEN connection listens only while someone waits", () => {
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
      const N = 40;
      // A database of its own, where nothing else runs (an earlier test's backends report their
      // commits late); its counters are read from a connection to another database.
      const own = await freshServerDatabase(SERVER!);
      const name = new URL(own.url).pathname.slice(1);
      const monitor = new pg.Client({ connectionString: fresh.url });
      await monitor.connect();
      const commits = async () => Number((await monitor.query("select xact_commit from pg_stat_database where datname = $1", [name])).rows[0].xact_commit);
      const backends = async () => (await monitor.query("select count(*)::int as n from pg_stat_activity where datname = $1", [name])).rows[0].n as number;
      // Its commits while N notifications are sent, the listener's backend gone at the end (a
      // backend reports its counts when it exits).
      const commitsWith = async (listen: boolean) => {
        const baseline = await backends();
        const listener = new PgListener({ url: own.url, logger: silentLogger(), channels: [CHANNELS.messageFinished, CHANNELS.stepFinished], lingerMs: 0 });
        await listener.start();
        const ready: unknown[] = [];
        if (listen) listener.on(CHANNELS.stepFinished, (p) => ready.push(p));
        if (listen) await waitFor(async () => ready.length === 1, "the LISTEN");
        const before = await commits();
        const sender = new pg.Client({ connectionString: own.url });
        await sender.connect();
        for (let i = 0; i < N; i++) {
          await sender.query("select pg_notify($1, $2)", [CHANNELS.messageFinished, `x${i}`]);
          // One at a time, so the listening backend reads each (under load it reads several at once).
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await sender.end();
        await listener.stop();
        await waitFor(async () => (await backends()) === baseline, "the backends to exit", 10_000, 50);
        return (await commits()) - before;
      };
      try {
        const idle = await commitsWith(false);
        const listening = await commitsWith(true);
        // The sender's N, and a few of connections starting (not one per notification).
        expect(idle - N, `commits with nobody waiting: ${idle}, listening: ${listening}`).toBeLessThan(N / 2);
        // A loaded machine's backend reads several notifications at one wake-up.
        expect(listening - idle, `commits with nobody waiting: ${idle}, listening: ${listening}`).toBeGreaterThan(N / 4);
      } finally {
        await monitor.end();
        await own.drop();
      }
    });
  });

  describe("a message's finish NOTIFYs only when someone waits for it", () => {
    async function inbound(): Promise<{ id: string; conversationId: string }> {
      const c = await fresh.db.pool.query("insert into conversations (platform, conversation_key, user_id) values ('http', gen_random_uuid()::text, 'u1') returning id");
      const conversationId = c.rows[0].id as string;
      const m = await fresh.db.pool.query("insert into messages (conversation_id, direction, author_kind, text, platform, status) values ($1, 'in', 'user', 'hi', 'http', 'processing') returning id", [conversationId]);
      return { id: m.rows[0].id as string, conversationId };
    }
    const finish = (id: string) => fresh.db.pool.query("update messages set status = 'done', processed_at = now() where id = $1", [id]);

    it("nobody waits: no notification; a waiter marks it awaited and is answered by the notification, not a poll; one asked after the finish is read at once", async () => {
      // A bare LISTEN, to see every notification on the channel.
      const spy = new pg.Client({ connectionString: fresh.url });
      await spy.connect();
      const heard: string[] = [];
      spy.on("notification", (n) => heard.push(n.payload ?? ""));
      await spy.query(`listen ${CHANNELS.messageFinished}`);
      const listener = new PgListener({ url: fresh.url, logger: silentLogger(), channels: [CHANNELS.messageFinished] });
      await listener.start();
      const waiter = new OutcomeWaiter({ pool: fresh.db.pool, logger: silentLogger(), listener, pollMs: 600_000 });
      await waiter.start();
      try {
        const unwatched = await inbound();
        await finish(unwatched.id);

        const watched = await inbound();
        const outcome = waiter.wait(watched.id, watched.conversationId);
        await waitFor(async () => (await fresh.db.pool.query("select outcome_awaited from messages where id = $1", [watched.id])).rows[0].outcome_awaited === true, "the mark");
        await finish(watched.id);
        await expect(outcome).resolves.toMatchObject({ kind: "relayed", messageId: watched.id });
        await waitFor(async () => heard.includes(watched.id), "the notification");
        expect(heard).toEqual([watched.id]);

        // Finished before anyone asked: the mark's statement says so, and the outcome is read then.
        const late = await inbound();
        await finish(late.id);
        await expect(waiter.wait(late.id, late.conversationId, 5000)).resolves.toMatchObject({ messageId: late.id });
        expect(heard).toEqual([watched.id]);
      } finally {
        await waiter.stop();
        await listener.stop();
        await spy.end();
      }
    });
  });
});
