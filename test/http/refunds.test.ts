import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("refund approvals through the HTTP API (demo data, offline engine)", () => {
  let s: RunningApp;
  let dana: string;
  const api = (path: string) => `${s.url}${path}`;
  const get = async (path: string, token: string) => {
    const res = await fetch(api(path), { headers: bearer(token) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const outbound = async (conversationId: string) =>
    (await s.app.db.pool.query("select author_kind, author_id, text from messages where conversation_id = $1 and direction = 'out' order by created_at", [conversationId])).rows as Array<{ author_kind: string; author_id: string | null; text: string }>;

  beforeAll(async () => {
    s = await startTestApp();
    dana = (await s.app.agents.add("Dana")).token;
  });
  afterAll(async () => s?.close());

  it("a $250 duplicate charge waits for approval; an agent approves it: the refund moves, the user is told once, the handoff records who", async () => {
    const first = await postJson(api("/api/messages"), { userId: "u2", text: "I was charged twice for my subscription" });
    expect(first.body.handoff).toMatchObject({ reason: "needs_approval" });
    const conversationId = first.body.conversationId as string;
    const handoffId = first.body.handoff.id as string;

    expect((await fetch(api("/api/refunds"))).status).toBe(401);
    const waiting = await get("/api/refunds?status=awaiting_approval", dana);
    expect(waiting.status).toBe(200);
    expect(waiting.body.refunds).toHaveLength(1);
    const refund = waiting.body.refunds[0];
    expect(refund).toMatchObject({ customerName: "Priya Shah", amountCents: 25000, currency: "USD", status: "awaiting_approval", handoffId, conversationId, decidedBy: null });
    expect((await get("/api/refunds?status=nope", dana)).status).toBe(400);

    // Deciding as someone else is refused, and changes nothing.
    const asSam = await postJson(api(`/api/refunds/${refund.id}/approve`), { agent: "Sam" }, bearer(dana));
    expect(asSam.status).toBe(403);
    expect(asSam.body.error).toMatchObject({ code: "not_you" });

    const approved = await postJson(api(`/api/refunds/${refund.id}/approve`), {}, bearer(dana));
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ refund: { id: refund.id, status: "approved", decidedBy: "Dana" }, delivery: "sent" });
    const row = (await s.app.db.pool.query("select status, decided_by, decided_at from refunds where id = $1", [refund.id])).rows[0];
    expect(row).toMatchObject({ status: "approved", decided_by: "Dana" });
    expect(row.decided_at).toBeInstanceOf(Date);

    const told = (await outbound(conversationId)).filter((m) => m.author_kind === "agent");
    expect(told).toEqual([{ author_kind: "agent", author_id: "Dana", text: expect.stringContaining("Your refund of $250.00 is approved") }]);
    const events = (await s.app.handoffs.events(handoffId)).map((e) => [e.kind, e.actor, e.text]);
    expect(events).toContainEqual(["refund_approved", "Dana", `${refund.id} of $250.00`]);

    // Twice: a clear 409 naming who decided, and no second message.
    for (const action of ["approve", "reject"]) {
      const again = await postJson(api(`/api/refunds/${refund.id}/${action}`), { reason: "changed my mind" }, bearer(dana));
      expect(again.status, action).toBe(409);
      expect(again.body.error).toMatchObject({ code: "already_decided" });
      expect(again.body.error.message).toContain("approved by Dana");
    }
    expect((await outbound(conversationId)).filter((m) => m.author_kind === "agent")).toHaveLength(1);
    expect((await get("/api/refunds?status=awaiting_approval", dana)).body.refunds).toEqual([]);
    expect((await postJson(api("/api/refunds/rf_nope/approve"), {}, bearer(dana))).status).toBe(404);
  });

  it("a rejection needs a reason, and the user is told it (CONSOLE_TOKEN: the body names the lead)", async () => {
    const hello = await postJson(api("/api/messages"), { userId: "u1", text: "hello" });
    const conversationId = hello.body.conversationId as string;
    const id = (await s.app.db.pool.query("insert into refunds (customer_id, payment_id, amount_cents, status, reason) values ('cus_jordan', 'pay_j1', 2400, 'awaiting_approval', 'test') returning id")).rows[0].id as string;
    const { handoff } = await s.app.handoffs.open(conversationId, null, "needs_approval", `Refund ${id} of $24.00 for payment pay_j1 is above the limit.`);

    const noReason = await postJson(api(`/api/refunds/${id}/reject`), { agent: "Morgan" }, bearer("console-secret"));
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.message).toContain("reason");
    const noName = await postJson(api(`/api/refunds/${id}/reject`), { reason: "outside the window" }, bearer("console-secret"));
    expect(noName.status).toBe(400);

    const rejected = await postJson(api(`/api/refunds/${id}/reject`), { agent: "Morgan", reason: "the charge is older than 30 days" }, bearer("console-secret"));
    expect(rejected.status).toBe(200);
    expect(rejected.body.refund).toMatchObject({ status: "rejected", decidedBy: "Morgan", decisionReason: "the charge is older than 30 days" });
    expect((await outbound(conversationId)).at(-1)).toEqual({ author_kind: "agent", author_id: "Morgan", text: expect.stringContaining("was not approved: the charge is older than 30 days") });
    expect((await s.app.handoffs.events(handoff.id)).map((e) => [e.kind, e.actor])).toContainEqual(["refund_rejected", "Morgan"]);
    expect((await get("/api/refunds?status=rejected", dana)).body.refunds.map((r: { id: string }) => r.id)).toEqual([id]);
  });
});
