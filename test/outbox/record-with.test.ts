import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgConversationLog } from "../../src/conversations/pg-conversation-log.ts";
import type { Database } from "../../src/db/database.ts";
import type { StatementPart } from "../../src/db/prepared.ts";
import { silentLogger } from "../../src/logger.ts";
import { Metrics } from "../../src/metrics.ts";
import { Outbox } from "../../src/outbox/outbox.ts";
import type { ChannelAdapter } from "../../src/ports.ts";
import type { OutboundReply } from "../../src/types.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { Changes } from "../helpers/wait-until.ts";

/** Slack that takes every post and remembers its text. */
class Platform implements ChannelAdapter {
  readonly platform = "slack" as const;
  readonly posted: string[] = [];
  readonly changes = new Changes();
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async deliver(reply: OutboundReply): Promise<void> {
    this.posted.push(reply.text);
    this.changes.notify();
  }
}

describe.each(databaseTargets())("a reply recorded in one statement with the turn's other writes ($name)", (target) => {
  let db: Database;
  let drop: () => Promise<void>;
  let log: PgConversationLog;

  beforeAll(async () => {
    ({ db, drop } = await target.open());
    log = new PgConversationLog(db.pool);
  });
  afterAll(async () => drop());

  const newOutbox = () => {
    const outbox = new Outbox({ pool: db.pool, logger: silentLogger(), metrics: new Metrics(), sweepMs: 0, graceMs: 0, preparedStatements: target.name === "server" });
    const platform = new Platform();
    outbox.attach(platform);
    return { outbox, platform };
  };
  const received = async () => {
    const thread = `${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
    return log.receive({ platform: "slack", conversationKey: `slack:T1:C1:${thread}`, userId: "U1", text: "hi", platformMessageId: randomUUID(), replyContext: { channel: "C1", threadTs: thread } });
  };
  /** A part that marks the inbound message, or one whose SQL fails when `broken`. */
  const marking = (messageId: string, broken = false): StatementPart => ({
    ctes: (first) => `marked as (update messages set error = ${broken ? "1 / 0" : "'marked'"}::text where id = $${first}::uuid returning id)`,
    values: [messageId],
    result: "(select count(*) from marked)::int",
  });
  const reply = (conversationId: string, messageId: string, key = `reply:${messageId}`) => ({ conversationId, inReplyTo: messageId, author: { kind: "bot" as const }, text: `answer to ${messageId}`, idempotencyKey: key });
  const statusOf = async (key: string) => (await db.pool.query("select status from messages where idempotency_key = $1", [key])).rows[0]?.status;

  it("commits the parts with the message, claimed for delivery, and delivers it", async () => {
    const { outbox, platform } = newOutbox();
    const r = await received();
    const recorded = await outbox.recordWith(reply(r.conversation.id, r.messageId), [marking(r.messageId)]);
    expect(recorded.created).toBe(true);
    expect(await statusOf(`reply:${r.messageId}`)).toBe("sending");
    expect((await db.pool.query("select error from messages where id = $1", [r.messageId])).rows[0].error).toBe("marked");
    expect((await recorded.deliver()).status).toBe("sent");
    expect(platform.posted).toEqual([`answer to ${r.messageId}`]);
    await outbox.close();
  });

  it("records nothing when a part fails: one statement, all or nothing", async () => {
    const { outbox } = newOutbox();
    const r = await received();
    await expect(outbox.recordWith(reply(r.conversation.id, r.messageId), [marking(r.messageId, true)])).rejects.toThrow();
    expect(await statusOf(`reply:${r.messageId}`)).toBeUndefined();
    await outbox.close();
  });

  it("leaves the message pending behind an earlier undelivered one of its conversation, and delivers them in order", async () => {
    const { outbox, platform } = newOutbox();
    const r = await received();
    const earlier = await outbox.record(reply(r.conversation.id, r.messageId, `earlier:${r.messageId}`));
    const recorded = await outbox.recordWith(reply(r.conversation.id, r.messageId), []);
    expect(await statusOf(`reply:${r.messageId}`)).toBe("pending");
    expect((await recorded.deliver()).status).toBe("queued");
    expect((await outbox.deliver(earlier.id)).status).toBe("sent");
    // The earlier one's sent mark hands the delivery on to the next.
    await platform.changes.until(() => platform.posted.length === 2, "the second message posted");
    expect(platform.posted).toEqual([`answer to ${r.messageId}`, `answer to ${r.messageId}`]);
    await outbox.close();
  });

  it("claims nothing for a key recorded before: the same message, not a second one", async () => {
    const { outbox } = newOutbox();
    const r = await received();
    const first = await outbox.record(reply(r.conversation.id, r.messageId));
    const again = await outbox.recordWith(reply(r.conversation.id, r.messageId), [marking(r.messageId)]);
    expect(again).toMatchObject({ id: first.id, created: false });
    expect(await statusOf(`reply:${r.messageId}`)).toBe("pending");
    expect((await db.pool.query("select count(*)::int as n from messages where idempotency_key = $1", [`reply:${r.messageId}`])).rows[0].n).toBe(1);
    await outbox.close();
  });
});
