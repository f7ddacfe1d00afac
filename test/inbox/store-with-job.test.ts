import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgConversationLog } from "../../src/conversations/pg-conversation-log.ts";
import type { Database } from "../../src/db/database.ts";
import { GraphileJobQueue } from "../../src/inbox/graphile-queue.ts";
import { silentLogger } from "../../src/logger.ts";
import type { InboundMessage } from "../../src/types.ts";
import { queueDatabases } from "../helpers/queue-databases.ts";

/**
 * The intake's store of a message with its job (`JobQueue.addPart`): one statement, so no
 * transaction is held open around round trips, and what the queue sees is what `ENQUEUE` in a
 * transaction around the store made: the conversation's first message is due, the next one
 * parked behind it in the claim, a redelivery adds nothing.
 */
const logger = silentLogger();
const targets = queueDatabases("test/inbox/store-with-job.test.ts");

/** `pool` that counts what reaches it: statements, and connections checked out (a transaction needs one). */
function counting(pool: pg.Pool): { pool: pg.Pool; statements: () => number; checkouts: () => number } {
  let statements = 0;
  let checkouts = 0;
  const wrapped = new Proxy(pool, {
    get(target, prop) {
      if (prop === "query") return (...args: unknown[]) => (statements++, (target.query as (...a: unknown[]) => unknown)(...args));
      if (prop === "connect") return (...args: unknown[]) => (checkouts++, (target.connect as (...a: unknown[]) => unknown)(...args));
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { pool: wrapped, statements: () => statements, checkouts: () => checkouts };
}

describe.each(targets)("a message stored with its job in one statement: $name", (target) => {
  let db: Database;
  let drop: () => Promise<void>;
  let queue: GraphileJobQueue;

  beforeAll(async () => {
    ({ db, drop } = await target.setup());
    await GraphileJobQueue.installSchema(db.pool, logger, target.embedded);
    queue = new GraphileJobQueue({ pool: db.pool, logger, embedded: target.embedded, maxAttempts: 3 });
  });
  afterAll(async () => {
    await drop();
  });

  const message = (conversationKey: string, receivedAt?: Date): InboundMessage => ({
    platform: "slack",
    conversationKey,
    userId: "U1",
    text: "where is my invoice?",
    platformMessageId: randomUUID(),
    ...(receivedAt ? { receivedAt } : {}),
  });
  const jobs = async (conversationId: string) =>
    (
      await db.pool.query<{ message_id: string; parked: boolean; run_at: Date; flags: Record<string, boolean> }>(
        `select payload->>'messageId' as message_id, run_at = 'infinity' as parked, run_at, flags from graphile_worker._private_jobs
         where payload->>'conversationId' = $1 order by id`,
        [conversationId],
      )
    ).rows;
  const claim = async (conversationId: string) =>
    (await db.pool.query<{ head: string; head_platform: string; waiting: unknown }>("select head, head_platform, waiting from conversation_claims where conversation_id = $1", [conversationId])).rows[0];

  it("stores the message and queues its job in one statement: due when first, parked behind the head after; a redelivery adds nothing", async () => {
    const counted = counting(db.pool);
    const log = new PgConversationLog(counted.pool, { preparedStatements: !target.embedded });
    const key = `C1:${randomUUID()}`;
    const arrived = new Date(Date.now() - 60_000);
    const first = message(key, arrived);
    const stored = await log.receive(first, { part: queue.addPart("slack") });
    expect(stored.status).toBe("accepted");
    expect({ statements: counted.statements(), checkouts: counted.checkouts() }).toEqual({ statements: 1, checkouts: 0 });
    const conversationId = stored.conversation.id;
    // Due when the message arrived (graphile-worker takes jobs in run_at order).
    const [job] = await jobs(conversationId);
    expect(job).toMatchObject({ message_id: stored.messageId, parked: false, flags: { "platform:slack": true } });
    expect(job!.run_at.getTime()).toBe(arrived.getTime());
    expect(await claim(conversationId)).toEqual({ head: stored.messageId, head_platform: "slack", waiting: [] });

    const second = await log.receive(message(key), { part: queue.addPart("slack") });
    expect(second.status).toBe("accepted");
    expect(second.conversation.id).toBe(conversationId);
    expect((await jobs(conversationId)).map((j) => ({ message: j.message_id, parked: j.parked }))).toEqual([
      { message: stored.messageId, parked: false },
      { message: second.messageId, parked: true },
    ]);
    expect(await claim(conversationId)).toEqual({ head: stored.messageId, head_platform: "slack", waiting: [{ messageId: second.messageId, platform: "slack" }] });

    // A redelivery of the first message: the same message, no job, the claim as it was.
    const again = await log.receive(first, { part: queue.addPart("slack") });
    expect(again).toMatchObject({ status: "duplicate", messageId: stored.messageId });
    expect(await jobs(conversationId)).toHaveLength(2);
    expect(await claim(conversationId)).toEqual({ head: stored.messageId, head_platform: "slack", waiting: [{ messageId: second.messageId, platform: "slack" }] });
  });
});
