import { randomUUID } from "node:crypto";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgConversationLog } from "../../src/conversations/pg-conversation-log.ts";
import { LatestCheckpointSaver } from "../../src/db/checkpoint-saver.ts";
import type { Database } from "../../src/db/database.ts";
import { ConversationLeases } from "../../src/inbox/conversation-leases.ts";
import { silentLogger } from "../../src/logger.ts";
import type { FirstTurn } from "../../src/turns/turn-store.ts";
import { TurnStore } from "../../src/turns/turn-store.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { waitFor } from "../inbox/harness.ts";

/** A one-step graph compiled like the supervisor (a fresh run per turn, saved at its end). */
function graph(saver: LatestCheckpointSaver) {
  return new StateGraph(MessagesAnnotation)
    .addNode("answer", (s: typeof MessagesAnnotation.State) => ({ messages: [new AIMessage(`echo ${String(s.messages.at(-1)?.content)}`)] }))
    .addEdge(START, "answer")
    .addEdge("answer", END)
    .compile({ checkpointer: saver })
    .withConfig({ durability: "exit" });
}

/** Counts the statements a pool runs. */
function counting(pool: pg.Pool): { pool: pg.Pool; count: () => number } {
  let n = 0;
  const wrapped = new Proxy(pool, {
    get(target, key, receiver) {
      if (key === "query") return (...args: unknown[]) => (n++, (target.query as (...a: unknown[]) => unknown).apply(target, args));
      return Reflect.get(target, key, receiver);
    },
  });
  return { pool: wrapped, count: () => n };
}

describe.each(databaseTargets())("a job's first statement ($name)", (target) => {
  let db: Database;
  let drop: () => Promise<void>;
  let log: PgConversationLog;
  let store: TurnStore;
  let leases: ConversationLeases;

  beforeAll(async () => {
    ({ db, drop } = await target.open());
    await new LatestCheckpointSaver(db.pool).setup();
    log = new PgConversationLog(db.pool);
    store = new TurnStore(db.pool, target.name === "server");
    leases = new ConversationLeases({ pool: db.pool, logger: silentLogger(), retryMs: 10, waitMs: 10_000 });
  });
  afterAll(async () => {
    leases.close();
    await drop();
  });

  const receive = async (text: string) => {
    const r = await log.receive({ platform: "http", conversationKey: `http:${randomUUID()}`, userId: "u1", text, platformMessageId: randomUUID() });
    return { messageId: r.messageId, conversationId: r.conversation.id };
  };

  it("takes the lease, begins the message and reads the conversation's memory, which the graph run then needs no query for", async () => {
    const { messageId, conversationId } = await receive("hello");
    const saver = new LatestCheckpointSaver(db.pool);
    await graph(saver).invoke({ messages: [new HumanMessage("earlier")] }, { configurable: { thread_id: conversationId } });

    const first = await leases.run(conversationId, async (lease) => lease.alongside as FirstTurn, (lease) => store.beginFirst(lease, { messageId, workerId: "w1", attempt: 1, checkpoint: true }));
    expect(first.unfinished).toEqual([messageId]);
    expect(first.first?.message?.id).toBe(messageId);
    expect(first.first?.attemptId).toBeDefined();
    expect(first.first?.checkpoint).not.toBeNull();
    expect((await db.pool.query("select status from messages where id = $1", [messageId])).rows[0].status).toBe("processing");

    // The run reads its memory from the row read with the lease: no statement of its own.
    const counted = counting(db.pool);
    const prefetchedSaver = new LatestCheckpointSaver(counted.pool);
    const { result, held } = await prefetchedSaver.deferring(
      () => graph(prefetchedSaver).invoke({ messages: [new HumanMessage("now")] }, { configurable: { thread_id: conversationId } }),
      { threadId: conversationId, row: first.first!.checkpoint! },
    );
    expect(counted.count()).toBe(0);
    expect(result.messages.map((m) => String(m.content))).toEqual(["earlier", "echo earlier", "now", "echo now"]);
    await held.write(db.pool);
  });

  it("reads no memory for a conversation that has none, and the run starts empty", async () => {
    const { messageId, conversationId } = await receive("first ever");
    const first = await leases.run(conversationId, async (lease) => lease.alongside as FirstTurn, (lease) => store.beginFirst(lease, { messageId, workerId: "w1", attempt: 1, checkpoint: true }));
    expect(first.first?.checkpoint).toBeNull();
    const counted = counting(db.pool);
    const saver = new LatestCheckpointSaver(counted.pool);
    const { result } = await saver.deferring(() => graph(saver).invoke({ messages: [new HumanMessage("hi")] }, { configurable: { thread_id: conversationId } }), { threadId: conversationId, row: null });
    expect(counted.count()).toBe(0);
    expect(result.messages.map((m) => String(m.content))).toEqual(["hi", "echo hi"]);
  });

  // Embedded Postgres serializes a transaction against the other connections: the race below cannot happen there.
  it.skipIf(target.name !== "server")("begins nothing when it took the lease from a holder releasing it while the statement waited (its snapshot is older than the release)", async () => {
    const { messageId, conversationId } = await receive("racing");
    await db.pool.query("insert into conversation_leases (conversation_id, holder, expires_at) values ($1, 'someone else', now() + interval '1 minute')", [conversationId]);
    // The holder releases in a transaction that commits only once our statement waits for it.
    const holder = await db.pool.connect();
    try {
      await holder.query("begin");
      await holder.query("delete from conversation_leases where conversation_id = $1", [conversationId]);
      const started = leases.run(conversationId, async (lease) => lease.alongside as FirstTurn, (lease) => store.beginFirst(lease, { messageId, workerId: "w1", attempt: 1, checkpoint: true }));
      await waitFor(async () => (await db.pool.query("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%conversation_leases%'")).rows[0].n > 0, "the lease statement waiting");
      await holder.query("commit");
      const first = await started;
      expect(first.unfinished).toEqual([messageId]);
      expect(first.first).toBeUndefined();
      // Nothing begun on the stale snapshot: the runner begins it again, holding the lease.
      expect((await db.pool.query("select status from messages where id = $1", [messageId])).rows[0].status).toBe("received");
      expect((await db.pool.query("select count(*)::int as n from processing_attempts where message_id = $1", [messageId])).rows[0].n).toBe(0);
    } finally {
      holder.release();
    }
  });
});
