import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgConversationLog } from "../../src/conversations/pg-conversation-log.ts";
import type { Database } from "../../src/db/database.ts";
import { silentLogger } from "../../src/logger.ts";
import { Metrics } from "../../src/metrics.ts";
import { DeliveryRefused } from "../../src/outbox/delivery-refused.ts";
import { Outbox } from "../../src/outbox/outbox.ts";
import type { ChannelAdapter, DeliveryProgress } from "../../src/ports.ts";
import type { OutboundReply } from "../../src/types.ts";
import { databaseTargets } from "../helpers/databases.ts";

/** A chat platform whose posts are scripted: each part is posted, or fails, or waits for a release. */
class ScriptedPlatform implements ChannelAdapter {
  readonly platform = "slack" as const;
  /** Every part the platform accepted, in order. */
  readonly posted: string[] = [];
  /** Parts (by text) that fail this many more times. */
  readonly failures = new Map<string, number>();
  /** Parts (by text) that refuse for good. */
  readonly refuse = new Set<string>();
  /** Deliveries wait on this while set. */
  gate: Promise<void> | undefined;
  calls = 0;

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async deliver(message: OutboundReply, progress?: DeliveryProgress): Promise<void> {
    this.calls++;
    await this.gate;
    const parts = message.text.split(" | ");
    for (let i = progress?.partsSent ?? 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (this.refuse.has(part)) throw new DeliveryRefused("slack", `channel_not_found on ${part}`);
      const left = this.failures.get(part) ?? 0;
      if (left > 0) {
        this.failures.set(part, left - 1);
        throw new Error(`fatal_error on ${part}`);
      }
      this.posted.push(part);
      await progress?.partSent(i);
    }
  }
}

describe.each(databaseTargets())("outbox on $name Postgres", (target) => {
  let db: Database;
  let drop: () => Promise<void>;
  let log: PgConversationLog;
  let n = 0;

  beforeAll(async () => {
    ({ db, drop } = await target.open());
    log = new PgConversationLog(db.pool);
  });
  afterAll(async () => drop());

  const outbox = () => new Outbox({ pool: db.pool, logger: silentLogger(), metrics: new Metrics(), sweepMs: 0, graceMs: 0 });
  const conversation = async () => {
    n++;
    const r = await log.receive({ platform: "slack", conversationKey: `slack:T1:C1:${n}.0`, userId: "U1", text: "hi", platformMessageId: `m-${n}-${Math.random()}` });
    return { conversationId: r.conversation.id, inReplyTo: r.messageId };
  };
  const status = async (id: string) => (await db.pool.query<{ status: string; parts_sent: number }>("select status, parts_sent from messages where id = $1", [id])).rows[0];
  const message = (c: { conversationId: string; inReplyTo: string }, text: string, key = `k-${Math.random()}`) => ({ ...c, author: { kind: "bot" as const }, text, idempotencyKey: key });

  it("sends once per key: a second send of the same key while the first is in flight does not post again", async () => {
    const box = outbox();
    const platform = new ScriptedPlatform();
    box.attach(platform);
    let release!: () => void;
    platform.gate = new Promise((r) => (release = r));
    const c = await conversation();
    const first = box.send(message(c, "hello", "once"));
    // Wait until the first send holds the message, then send the same key again.
    while (platform.calls === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await box.send(message(c, "hello", "once"));
    expect(second).toMatchObject({ created: false, status: "sending" });
    release();
    expect(await first).toMatchObject({ created: true, status: "sent" });
    expect(await box.send(message(c, "hello", "once"))).toMatchObject({ created: false, status: "sent" });
    expect(platform.posted).toEqual(["hello"]);
    await box.close();
  });

  it("resumes a multi-part message after the parts the platform accepted, and delivers a conversation's messages in order", async () => {
    const box = outbox();
    const platform = new ScriptedPlatform();
    box.attach(platform);
    platform.failures.set("part 3", 1);
    const c = await conversation();
    const long = await box.send(message(c, "part 1 | part 2 | part 3 | part 4"));
    expect(long.status).toBe("retry");
    expect(await status(long.messageId)).toEqual({ status: "retry", parts_sent: 2 });
    // A later message of the same conversation waits for the earlier one.
    const next = await box.send(message(c, "after"));
    expect(next.status).toBe("queued");
    // The retry (by the job, or the sweep when due) sends parts 3 and 4 only, then the next message.
    expect((await box.deliver(long.messageId)).status).toBe("sent");
    await box.close();
    expect(platform.posted).toEqual(["part 1", "part 2", "part 3", "part 4", "after"]);
    expect(await status(long.messageId)).toEqual({ status: "sent", parts_sent: 4 });
    expect((await status(next.messageId))?.status).toBe("sent");
  });

  it("gives up at once on a refusal, and the conversation's next message goes out", async () => {
    const box = outbox();
    const platform = new ScriptedPlatform();
    box.attach(platform);
    platform.refuse.add("never");
    const c = await conversation();
    const refused = await box.send(message(c, "never"));
    expect(refused).toMatchObject({ status: "failed", error: expect.stringMatching(/channel_not_found/) });
    // The failure flushes the conversation in the background: that flush or this send delivers
    // "later" (this send then says "sending": in flight elsewhere), once either way.
    const later = await box.send(message(c, "later"));
    expect(["sent", "sending"]).toContain(later.status);
    await box.close();
    expect(platform.posted).toEqual(["later"]);
    expect((await status(later.messageId))?.status).toBe("sent");
  });

  it("keeps a message for a platform without an adapter undelivered and visible, and delivers it once one is attached", async () => {
    const box = outbox();
    const c = await conversation();
    const waiting = await box.send(message(c, "for later"));
    expect(waiting).toMatchObject({ status: "no_adapter", error: expect.stringMatching(/no slack adapter/) });
    expect((await status(waiting.messageId))?.status).toBe("no_adapter");
    const platform = new ScriptedPlatform();
    box.attach(platform);
    await box.sweep();
    await box.close();
    expect(platform.posted).toEqual(["for later"]);
    expect((await status(waiting.messageId))?.status).toBe("sent");
  });

  it("a retry is left to the sweep until its backoff is over", async () => {
    const box = outbox();
    const platform = new ScriptedPlatform();
    box.attach(platform);
    platform.failures.set("flaky", 1);
    const c = await conversation();
    const clock = async () => (await db.pool.query<{ t: Date }>("select clock_timestamp() as t")).rows[0]!.t.getTime();
    const before = await clock();
    const r = await box.send(message(c, "flaky"));
    const after = await clock();
    expect(r.status).toBe("retry");
    // The retry waits backoffMs(1) = 2 s from the failed attempt.
    const next = (await db.pool.query<{ t: Date }>("select next_attempt_at as t from messages where id = $1", [r.messageId])).rows[0]!.t.getTime();
    expect(next).toBeGreaterThanOrEqual(before + 2000);
    expect(next).toBeLessThanOrEqual(after + 2000);
    // A loaded machine can take those 2 s before the sweep below runs: the backoff is made longer
    // (still not over) so the check does not depend on how fast the machine is.
    await db.pool.query("update messages set next_attempt_at = next_attempt_at + interval '1 hour' where id = $1", [r.messageId]);
    await box.sweep();
    expect(platform.posted).toEqual([]);
    await db.pool.query("update messages set next_attempt_at = now() - interval '1 second' where id = $1", [r.messageId]);
    await box.sweep();
    await box.close();
    expect(platform.posted).toEqual(["flaky"]);
  });
});
