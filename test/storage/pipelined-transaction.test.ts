import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgConversationLog } from "../../src/conversations/pg-conversation-log.ts";
import type { Database } from "../../src/db/database.ts";
import { pipelinedTransaction } from "../../src/db/pipelined-transaction.ts";
import { silentLogger } from "../../src/logger.ts";
import { Metrics } from "../../src/metrics.ts";
import { Outbox } from "../../src/outbox/outbox.ts";
import { databaseTargets } from "../helpers/databases.ts";

/**
 * The embedded database's one PGlite session serves every connection: a transaction holds it from
 * its `begin` to its `commit`. When each statement of a transaction waited for the answer of the
 * one before it, the session stayed held while this thread got round to sending the next one
 * (behind whatever else it was running), and every other connection waited that long. So the hot
 * path's transactions send all their statements before waiting for any answer: these tests watch
 * the order of "sent" and "answered" on the connection.
 */

/** Records, on each client the pool hands out, when a statement is issued and when its answer came. */
function watched(pool: pg.Pool): { events: string[]; pool: pg.Pool } {
  const events: string[] = [];
  const label = (config: unknown) => (typeof config === "string" ? config : String((config as { text?: string }).text ?? "")).trim().split(/\s+/).slice(0, 2).join(" ");
  const wrap = (client: pg.PoolClient): pg.PoolClient => {
    const query = client.query.bind(client) as (...a: unknown[]) => Promise<pg.QueryResult>;
    return new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== "query") return Reflect.get(target, prop, receiver);
        return (...args: unknown[]) => {
          const name = label(args[0]);
          events.push(`sent ${name}`);
          const answered = query(...args);
          return answered.then(
            (r) => (events.push(`answered ${name}`), r),
            (err: unknown) => {
              events.push(`failed ${name}`);
              throw err;
            },
          );
        };
      },
    });
  };
  const proxy = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === "connect") return async () => wrap(await target.connect());
      if (prop === "query") {
        return async (...args: unknown[]) => {
          const client = await target.connect();
          try {
            return await (wrap(client).query as (...a: unknown[]) => Promise<pg.QueryResult>)(...args);
          } finally {
            client.release();
          }
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  return { events, pool: proxy };
}

const sentBeforeFirstAnswer = (events: string[]) => events.slice(0, events.findIndex((e) => !e.startsWith("sent ")));

describe.each(databaseTargets())("pipelined transactions ($name)", (target) => {
  let db: Database;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, drop } = await target.open());
    await db.pool.query("create table if not exists pipelined_probe (id text primary key, n int not null)");
  });
  afterAll(async () => drop());

  it("sends begin, every statement and the commit before any answer comes back", async () => {
    const w = watched(db.pool);
    const id = randomUUID();
    const n = await pipelinedTransaction(w.pool, async (tx) => {
      const a = tx.query("insert into pipelined_probe (id, n) values ($1, 1)", [id]);
      const b = tx.query("update pipelined_probe set n = n + 1 where id = $1 returning n", [id]);
      await a;
      return (await b).rows[0].n as number;
    });
    expect(n).toBe(2);
    expect(sentBeforeFirstAnswer(w.events)).toEqual(["sent begin", "sent insert into", "sent update pipelined_probe", "sent commit"]);
    expect((await db.pool.query("select n from pipelined_probe where id = $1", [id])).rows[0].n).toBe(2);
  });

  it("commits nothing when a statement fails, throws its error, and the connection goes on", async () => {
    const id = randomUUID();
    await expect(
      pipelinedTransaction(db.pool, async (tx) => {
        const a = tx.query("insert into pipelined_probe (id, n) values ($1, 1)", [id]);
        const b = tx.query("insert into pipelined_probe (id, n) values ($1, null)", [`${id}-null`]);
        const c = tx.query("update pipelined_probe set n = 5 where id = $1", [id]);
        await Promise.all([a, b, c]);
      }),
    ).rejects.toThrow(/null value/);
    expect((await db.pool.query("select count(*)::int as n from pipelined_probe where id like $1", [`${id}%`])).rows[0].n).toBe(0);
    // Every connection of the pool is usable afterwards (none is left inside a failed transaction).
    await Promise.all(Array.from({ length: 6 }, () => db.pool.query("select 1")));
    expect((await db.pool.query("insert into pipelined_probe (id, n) values ($1, 3) returning n", [id])).rows[0].n).toBe(3);
  });

  it("refuses a statement issued after the first await (it would run after the commit)", async () => {
    const id = randomUUID();
    await expect(
      pipelinedTransaction(db.pool, async (tx) => {
        await tx.query("insert into pipelined_probe (id, n) values ($1, 1)", [id]);
        await tx.query("update pipelined_probe set n = 2 where id = $1", [id]);
      }),
    ).rejects.toThrow(/issued after its commit/);
    expect((await db.pool.query("select n from pipelined_probe where id = $1", [id])).rows[0].n).toBe(1);
  });

  it("records a reply and claims it for delivery without waiting between the two (the turn's transaction)", async () => {
    const log = new PgConversationLog(db.pool);
    const r = await log.receive({ platform: "http", conversationKey: `http:${randomUUID()}`, userId: "u1", text: "hi", platformMessageId: randomUUID() });
    const w = watched(db.pool);
    const outbox = new Outbox({ pool: w.pool, logger: silentLogger(), metrics: new Metrics(), sweepMs: 0 });
    const recorded = await pipelinedTransaction(w.pool, (tx) => outbox.recordIn(tx, { conversationId: r.conversation.id, inReplyTo: r.messageId, author: { kind: "bot" }, text: "hello", idempotencyKey: `reply:${r.messageId}` }));
    expect(sentBeforeFirstAnswer(w.events)).toEqual(["sent begin", "sent with inserted", "sent update messages", "sent commit"]);
    expect(recorded.created).toBe(true);
    const row = (await db.pool.query("select status, attempts from messages where id = $1", [recorded.id])).rows[0];
    expect(row).toEqual({ status: "sending", attempts: 1 });
    // Recorded again under its key (a retried turn): the same message, found in the same statement.
    const again = await pipelinedTransaction(db.pool, (tx) => outbox.recordIn(tx, { conversationId: r.conversation.id, inReplyTo: r.messageId, author: { kind: "bot" }, text: "hello", idempotencyKey: `reply:${r.messageId}` }));
    expect(again).toMatchObject({ id: recorded.id, created: false });
    await outbox.close();
  });

  it("stores a message with nothing to commit beside it in one statement, and a redelivery changes nothing", async () => {
    const w = watched(db.pool);
    const log = new PgConversationLog(w.pool);
    const m = { platform: "http" as const, conversationKey: `http:${randomUUID()}`, userId: "u1", text: "hi", platformMessageId: randomUUID() };
    const first = await log.receive(m);
    expect(first.status).toBe("accepted");
    expect(w.events).toEqual(["sent with dup", "answered with dup"]);
    const before = (await db.pool.query("select updated_at from conversations where id = $1", [first.conversation.id])).rows[0].updated_at as Date;
    const again = await log.receive({ ...m, text: "hi (again)" });
    expect(again).toMatchObject({ status: "duplicate", messageId: first.messageId, conversation: { id: first.conversation.id } });
    const after = (await db.pool.query("select updated_at from conversations where id = $1", [first.conversation.id])).rows[0].updated_at as Date;
    expect(after.getTime()).toBe(before.getTime());
    expect((await db.pool.query("select count(*)::int as n from messages where conversation_id = $1", [first.conversation.id])).rows[0].n).toBe(1);
  });
});
