import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe("the console's Approve / Reject on a handoff that waits for a refund (over HTTP)", () => {
  let s: RunningApp;
  let cookie: string;

  beforeAll(async () => {
    s = await startTestApp();
    const { token } = await s.app.agents.add("Dana");
    const res = await fetch(`${s.url}/console/login`, { method: "POST", headers: FORM, body: form({ agent: "Dana", token }), redirect: "manual" });
    cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  });
  afterAll(async () => s?.close());

  const page = async (path: string, extraCookie = "") => (await fetch(`${s.url}${path}`, { headers: { cookie: `${cookie}${extraCookie}` } })).text();
  const post = (path: string, fields: Record<string, string>) =>
    fetch(`${s.url}${path}`, { method: "POST", headers: { ...FORM, cookie }, body: form(fields), redirect: "manual" });
  const flashAfter = async (res: Response) => {
    const flash = res.headers.get("set-cookie")!.split(";")[0]!;
    const next = await page(res.headers.get("location")!, `; ${flash}`);
    return /<p class="flash (\w+)" role="status" data-testid="flash">([^<]*)<\/p>/.exec(next)?.slice(1);
  };

  it("shows the refund with Approve and Reject behind the session's CSRF token; approving tells the user once, deciding again says who did", async () => {
    const { body } = await postJson(`${s.url}/api/messages`, { userId: "u2", text: "I was charged twice for my subscription" });
    const handoffId = body.handoff.id as string;
    const [refund] = await s.app.refunds.list({ handoffId });
    const html = await page(`/console/handoffs/${handoffId}`);
    expect(html).toContain('data-testid="refunds"');
    expect(html).toContain("$250.00</strong> for Priya Shah");
    expect(html).toContain(`action="/console/refunds/${refund!.id}/approve"`);
    expect(html).toContain(`action="/console/refunds/${refund!.id}/reject"`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;

    const forged = await post(`/console/refunds/${refund!.id}/approve`, { handoff: handoffId });
    expect(forged.status).toBe(403);
    expect((await s.app.refunds.list({ handoffId }))[0]?.status).toBe("awaiting_approval");

    const approve = await post(`/console/refunds/${refund!.id}/approve`, { csrf, handoff: handoffId });
    expect(approve.status).toBe(303);
    expect(approve.headers.get("location")).toBe(`/console/handoffs/${handoffId}`);
    expect(await flashAfter(approve)).toEqual(["ok", "Refund of $250.00 approved. The user was told."]);
    expect((await s.app.refunds.list({ handoffId }))[0]).toMatchObject({ status: "approved", decidedBy: "Dana" });

    const after = await page(`/console/handoffs/${handoffId}`);
    expect(after).toContain('data-testid="refund-status">approved</span> by Dana');
    expect(after).not.toContain(`/console/refunds/${refund!.id}/approve`);
    expect(after).toContain("approved the refund");

    const again = await post(`/console/refunds/${refund!.id}/reject`, { csrf, handoff: handoffId, reason: "no" });
    expect(again.status).toBe(303);
    const [kind, text] = (await flashAfter(again))!;
    expect(kind).toBe("error");
    expect(text).toContain("approved by Dana");
    const told = await s.app.db.pool.query("select count(*)::int as n from messages where conversation_id = $1 and author_kind = 'agent'", [body.conversationId]);
    expect(told.rows[0].n).toBe(1);
  });

  it("the queue names the linked customer and what they asked; bot replies are rendered (safely); the reason reads as words", async () => {
    const [item] = await s.app.handoffService.list({ status: "active" });
    expect(item).toMatchObject({ customerName: "Priya Shah", preview: "I was charged twice for my subscription" });
    const queue = await page("/console");
    const row = new RegExp(`<tr data-handoff="${item!.id}"[\\s\\S]*?</tr>`).exec(queue)![0];
    expect(row).toContain('<td class="who" data-testid="customer"><strong>Priya Shah</strong> <span class="meta">u2</span></td>');
    expect(row).toContain('<span data-testid="preview">I was charged twice for my subscription</span>');

    await s.app.outbox.send({
      conversationId: item!.conversationId,
      inReplyTo: null,
      author: { kind: "bot" },
      text: "**Refunds** take a while:\n- see [the policy](https://example.com/refunds)\n- <script>window.x=1</script> shown as text\n- [bad](javascript:void0) and [worse](data:text/html,x)",
      idempotencyKey: "test:markdown",
    });
    const html = await page(`/console/handoffs/${item!.id}`);
    expect(html).toContain("<strong>Refunds</strong> take a while:");
    expect(html).toContain('<a href="https://example.com/refunds" rel="noopener noreferrer">the policy</a>');
    expect(html).toContain("<li>&lt;script&gt;window.x=1&lt;/script&gt; shown as text</li>");
    expect(html).toContain("<li>bad and worse</li>");
    expect(html).not.toContain("<script>");
    expect(html).not.toMatch(/href="(javascript|data):/);
    // The history's "opened" line names the reason, not its code.
    expect(html).toMatch(/opened: <span class="text">Needs approval — Refund rf_\w+ of \$250\.00/);
    expect(html).not.toContain("needs_approval:");
  });
});
