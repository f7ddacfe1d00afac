import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgConversationLog } from "../../src/conversations/pg-conversation-log.ts";
import type { Database } from "../../src/db/database.ts";
import type { StatementPart } from "../../src/db/prepared.ts";
import { silentLogger } from "../../src/logger.ts";
import { Metrics } from "../../src/metrics.ts";
import { Outbox } from "../../src/outbox/outbox.ts";
import type { ChannelAdapter } from "../../src/ports.ts";
import { databaseTargets } from "../helpers/databases.ts";

/** Slack that takes every post, or fails each while `failing`. */
class Platform implements ChannelAdapter {
  readonly platform = "slack" as const;
  failing = false;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async deliver(): Promise<void> {
    if (this.failing) throw new Error("fatal_error");
  }
}

describe.each(databaseTargets())("the caller's statement with the sent mark ($name)", (target) => {
  let db: Database;
  let drop: () => Promise<void>;
  let log: PgConversationLog;

  beforeAll(async () => {
    ({ db, drop } = await target.open());
    log = new PgConversationLog(db.pool);
  });
  afterAll(async () => drop());

  /** A part that marks the inbound message (as the turn's end marks it done). */
  const ending = (messageId: string): StatementPart => ({
    ctes: (first) => `ended as (update messages set error = 'ended with the sent mark' where id = $${first}::uuid returning id)`,
    values: [messageId],
    result: "(select count(*) from ended)::int",
  });

  const recordReply = async (outbox: Outbox) => {
    const thread = `${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
    const r = await log.receive({ platform: "slack", conversationKey: `slack:T1:C1:${thread}`, userId: "U1", text: "hi", platformMessageId: randomUUID(), replyContext: { channel: "C1", threadTs: thread } });
    const client = await db.pool.connect();
    try {
      await client.query("begin");
      const recorded = await outbox.recordIn(client, { conversationId: r.conversation.id, inReplyTo: r.messageId, author: { kind: "bot" }, text: "hello", idempotencyKey: `reply:${r.messageId}` });
      await client.query("commit");
      return { recorded, messageId: r.messageId };
    } finally {
      client.release();
    }
  };
  const inboundError = async (id: string) => (await db.pool.query("select error from messages where id = $1", [id])).rows[0].error;

  it("commits with the sent mark and brings its result back", async () => {
    const outbox = new Outbox({ pool: db.pool, logger: silentLogger(), metrics: new Metrics(), sweepMs: 0, graceMs: 0, preparedStatements: target.name === "server" });
    outbox.attach(new Platform());
    const { recorded, messageId } = await recordReply(outbox);
    const delivered = await recorded.deliver(ending(messageId));
    expect(delivered).toMatchObject({ status: "sent", withSent: { result: 1 } });
    expect(await inboundError(messageId)).toBe("ended with the sent mark");
    await outbox.close();
  });

  it("does not run when the platform did not take the message: the caller's end stays the caller's", async () => {
    const outbox = new Outbox({ pool: db.pool, logger: silentLogger(), metrics: new Metrics(), sweepMs: 0, graceMs: 0 });
    const platform = new Platform();
    platform.failing = true;
    outbox.attach(platform);
    const { recorded, messageId } = await recordReply(outbox);
    const delivered = await recorded.deliver(ending(messageId));
    expect(delivered.status).toBe("retry");
    expect(delivered.withSent).toBeUndefined();
    expect(await inboundError(messageId)).toBeNull();
    await outbox.close();
  });
});
