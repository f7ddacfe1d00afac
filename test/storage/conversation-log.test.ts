import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgConversationLog } from "../../src/conversations/pg-conversation-log.ts";
import type { Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { HandoffStore } from "../../src/handoffs/handoff-store.ts";
import { OutboxStore } from "../../src/outbox/outbox-store.ts";
import type { InboundMessage } from "../../src/types.ts";
import { databaseTargets } from "../helpers/databases.ts";

const msg = (over: Partial<InboundMessage> = {}): InboundMessage => ({
  platform: "slack",
  conversationKey: "slack:T1:C1:1700000000.0001",
  userId: "U1",
  text: "hello",
  platformMessageId: `ev-${Math.random().toString(36).slice(2)}`,
  ...over,
});

describe.each(databaseTargets())("conversation log contract on $name Postgres", (target) => {
  let db: Database;
  let drop: () => Promise<void>;
  let log: PgConversationLog;
  let handoffs: HandoffStore;

  beforeAll(async () => {
    ({ db, drop } = await target.open());
    log = new PgConversationLog(db.pool);
    handoffs = new HandoffStore(db.pool);
  });
  afterAll(async () => drop());

  it("migrations are recorded and a second run applies nothing", async () => {
    expect(await migrate(db.pool)).toEqual([]);
    const r = await db.pool.query("select name from schema_migrations order by version");
    expect(r.rows.map((x) => x.name)).toContain("001_init");
  });

  it("stores a message with its conversation, and drops a redelivery by platform message id", async () => {
    const m = msg({ replyContext: { responseUrl: "http://127.0.0.1/x" } });
    const first = await log.receive(m);
    expect(first.status).toBe("accepted");
    const again = await log.receive({ ...m, text: "hello (retry)" });
    expect(again).toMatchObject({ status: "duplicate", messageId: first.messageId });
    expect(again.conversation.id).toBe(first.conversation.id);
    const stored = await log.getMessage(first.messageId);
    expect(stored).toMatchObject({ text: "hello", status: "received", replyContext: { responseUrl: "http://127.0.0.1/x" } });
    // The same platform id on another platform is another message.
    expect((await log.receive({ ...m, platform: "discord", conversationKey: "discord:G:C" })).status).toBe("accepted");
  });

  it("keeps one conversation per platform key, and lists unfinished messages oldest first", async () => {
    const key = "slack:T1:C9:1";
    const a = await log.receive(msg({ conversationKey: key, text: "a" }));
    const b = await log.receive(msg({ conversationKey: key, text: "b" }));
    expect(b.conversation.id).toBe(a.conversation.id);
    await log.setMessageStatus(a.messageId, "done");
    const pending = (await log.unfinishedMessages()).filter((m) => m.conversationId === a.conversation.id);
    expect(pending.map((m) => m.text)).toEqual(["b"]);
  });

  it("records routing and worker runs into the transcript", async () => {
    const r = await log.receive(msg({ conversationKey: "slack:T1:C2:1" }));
    await log.recordRouting(r.messageId, {
      routes: [{ route: "billing", confidence: 0.91, question: "hello" }],
      scores: { billing: 0.91, tech_support: 0.05, faq: 0.03, human: 0.01 },
      unsure: false,
      engine: "offline",
      latencyMs: 0.4,
    });
    await log.recordWorkerRun(r.messageId, { worker: "billing", question: "hello", status: "ok", reply: "hi", sources: [], toolCalls: [{ name: "account_summary", args: {}, result: "…" }], error: null, latencyMs: 12, engine: "llm->offline" });
    const outbox = new OutboxStore(db.pool, { claimMs: 60_000, graceMs: 5000 });
    const reply = { conversationId: r.conversation.id, inReplyTo: r.messageId, text: "hi", author: { kind: "bot" as const }, idempotencyKey: `reply:${r.messageId}` };
    expect((await outbox.record(reply)).created).toBe(true);
    expect((await outbox.record(reply)).created).toBe(false);
    const t = await log.transcript(r.conversation.id);
    expect(t.map((e) => e.direction)).toEqual(["in", "out"]);
    expect(t[0]?.routing?.routes[0]?.route).toBe("billing");
    expect(t[0]?.workerRuns[0]).toMatchObject({ worker: "billing", status: "ok", engine: "llm->offline", toolCalls: [{ name: "account_summary" }] });
  });

  it("records a turn in one write: its routing decision, its worker runs in order, the unclear streak", async () => {
    const r = await log.receive(msg({ conversationKey: "slack:T1:C2:turn" }));
    const run = (worker: string, status: "ok" | "timeout") => ({ worker, question: `${worker}?`, status, reply: status === "ok" ? `${worker} says hi` : null, sources: [{ id: "doc", title: "Doc", url: "https://help.example/doc" }], toolCalls: [{ name: "t", args: { n: 1 }, result: "r" }], error: status === "ok" ? null : "too slow", latencyMs: 7.5, engine: "offline" });
    await log.recordTurn(r.messageId, r.conversation.id, {
      decision: { routes: [{ route: "tech_support", confidence: 0.8, question: "q" }], scores: { billing: 0.1, tech_support: 0.8, faq: 0.6, human: 0 }, unsure: false, engine: "offline", latencyMs: 0.7, error: "e" },
      runs: [run("tech_support", "ok"), run("faq", "timeout"), run("billing", "ok")],
      unclearStreak: 2,
    });
    const [entry] = await log.transcript(r.conversation.id);
    expect(entry?.routing).toEqual({ routes: [{ route: "tech_support", confidence: 0.8, question: "q" }], scores: { billing: 0.1, tech_support: 0.8, faq: 0.6, human: 0 }, unsure: false, engine: "offline", latencyMs: expect.closeTo(0.7, 5), error: "e" });
    expect(entry?.workerRuns.map(({ id: _id, ...w }) => w)).toEqual([run("tech_support", "ok"), run("faq", "timeout"), run("billing", "ok")]);
    expect((await log.getConversation(r.conversation.id))?.unclearStreak).toBe(2);

    // A turn that did not route (a person owns the conversation) records no decision and no runs.
    const quiet = await log.receive(msg({ conversationKey: "slack:T1:C2:quiet" }));
    await log.recordTurn(quiet.messageId, quiet.conversation.id, { decision: null, runs: [], unclearStreak: 0 });
    const [q] = await log.transcript(quiet.conversation.id);
    expect([q?.routing, q?.workerRuns]).toEqual([null, []]);
  });

  it("opens at most one handoff per conversation and marks it waiting", async () => {
    const r = await log.receive(msg({ conversationKey: "slack:T1:C3:1" }));
    const [a, b] = await Promise.all([
      handoffs.open(r.conversation.id, r.messageId, "user_request", "asked"),
      handoffs.open(r.conversation.id, r.messageId, "worker_failed", "boom"),
    ]);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(a.handoff.id).toBe(b.handoff.id);
    expect((await log.getConversation(r.conversation.id))?.status).toBe("waiting");
  });

  it("resolves linked identities and finds conversations by text", async () => {
    await db.pool.query("insert into customers (id, name, email, plan) values ('cus_t', 'T', 't@example.com', 'Pro') on conflict do nothing");
    expect(await log.linkedCustomer("slack", "U-link")).toBeUndefined();
    await log.linkIdentity("slack", "U-link", "cus_t");
    expect(await log.linkedCustomer("slack", "U-link")).toBe("cus_t");
    const r = await log.receive(msg({ conversationKey: "slack:T1:C4:1", text: "my zebra invoice" }));
    const found = await log.searchConversations({ text: "ZEBRA" });
    expect(found.map((c) => c.id)).toContain(r.conversation.id);
    expect(await log.searchConversations({ text: "50%_" })).toEqual([]);
    expect(await log.getConversation("not-a-uuid")).toBeUndefined();
  });
});
