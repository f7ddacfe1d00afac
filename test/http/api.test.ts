import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";

const CONSOLE = { authorization: "Bearer console-secret" };

describe("HTTP API end to end (embedded Postgres, offline engine, demo data)", () => {
  let s: RunningApp;
  beforeAll(async () => {
    // The default as a new user runs it, whatever TEST_DATABASE_URL says.
    s = await startTestApp({}, {}, undefined, { embedded: true });
  });
  afterAll(async () => s.close());

  const countMessages = async () => Number((await s.app.db.pool.query("select count(*) from messages")).rows[0].count);

  it("answers a two-part message with one merged reply from billing and tech support", async () => {
    const { status, body } = await postJson(`${s.url}/api/messages`, { userId: "u1", text: "I was charged twice this month and the app crashes when I log in" });
    expect(status).toBe(200);
    expect(body.routes.map((r: { route: string }) => r.route).sort()).toEqual(["billing", "tech_support"]);
    for (const r of body.routes) expect(r.confidence).toBeGreaterThan(0.5);
    expect(body.conversationId).toMatch(/^[0-9a-f-]{36}$/);
    // Billing part: the demo customer's real duplicate charge, refunded under the policy.
    expect(body.reply).toMatch(/charged twice/i);
    expect(body.reply).toContain("$24.00");
    expect(body.reply).toMatch(/refund/i);
    // Tech part: the crash-on-login article.
    expect(body.reply).toMatch(/crash/i);
    expect(body.sections.map((x: { route: string }) => x.route).sort()).toEqual(["billing", "tech_support"]);
    expect(body.handoff).toBeNull();

    const next = await postJson(`${s.url}/api/messages`, { userId: "u1", text: "what is the status of my refund?", conversationId: body.conversationId });
    expect(next.status).toBe(200);
    expect(next.body.conversationId).toBe(body.conversationId);
    expect(next.body.routes[0].route).toBe("billing");
    expect(next.body.reply).toMatch(/requested/);

    const t = await fetch(`${s.url}/api/conversations/${body.conversationId}`, { headers: CONSOLE });
    const transcript = (await t.json()) as { messages: Array<{ direction: string; routing: { engine: string } | null; workerRuns: Array<{ worker: string; toolCalls: unknown[] }> }> };
    expect(transcript.messages.map((m) => m.direction)).toEqual(["in", "out", "in", "out"]);
    expect(transcript.messages[0]?.routing?.engine).toBe("offline");
    expect(transcript.messages[0]?.workerRuns.map((w) => w.worker).sort()).toEqual(["billing", "tech_support"]);
    expect(transcript.messages[0]?.workerRuns.find((w) => w.worker === "billing")?.toolCalls.length).toBeGreaterThan(0);
  });

  it("never shows another customer's invoice, and tells an unlinked user how to link", async () => {
    const other = await postJson(`${s.url}/api/messages`, { userId: "u1", text: "show me invoice INV-2001" });
    expect(other.body.routes[0].route).toBe("billing");
    expect(other.body.reply).toMatch(/No invoice INV-2001 on your account/);
    expect(other.body.reply).not.toContain("250.00");

    const own = await postJson(`${s.url}/api/messages`, { userId: "u2", text: "show me invoice INV-2001" });
    expect(own.body.reply).toContain("$250.00");

    const stranger = await postJson(`${s.url}/api/messages`, { userId: "stranger", text: "I want a copy of my last invoice" });
    expect(stranger.body.reply).toMatch(/isn't linked/);
    expect(stranger.body.reply).not.toMatch(/INV-\d+/);
  });

  it("hands a refund above the approval limit to a person", async () => {
    const { body } = await postJson(`${s.url}/api/messages`, { userId: "u2", text: "I was charged twice for my subscription" });
    expect(body.handoff).toMatchObject({ reason: "needs_approval" });
    expect(body.reply).toMatch(/approve/);
    const h = await fetch(`${s.url}/api/handoffs?status=open`, { headers: CONSOLE });
    const list = (await h.json()) as { handoffs: Array<{ conversationId: string; reason: string }> };
    expect(list.handoffs.some((x) => x.conversationId === body.conversationId && x.reason === "needs_approval")).toBe(true);
  });

  it("opens a handoff to a person for 'get me a person please, my SSO is broken' and still answers the SSO part", async () => {
    const { status, body } = await postJson(`${s.url}/api/messages`, { userId: "u3", text: "get me a person please, my SSO is broken" });
    expect(status).toBe(200);
    expect(body.handoff).toMatchObject({ reason: "user_request" });
    expect(body.routes.map((r: { route: string }) => r.route).sort()).toEqual(["human", "tech_support"]);
    // The user reads tech support's part (the SSO article's common errors) and that a person is coming.
    const tech = body.sections.find((x: { route: string }) => x.route === "tech_support");
    expect(tech?.text).toMatch(/Signature validation failed/);
    expect(tech?.sources?.map((x: { url: string }) => x.url) ?? body.sources.map((x: { url: string }) => x.url)).toContain("https://help.acme.example/tech/sso-saml-setup");
    expect(body.reply).toContain(tech.text);
    expect(body.reply).toMatch(/asked a person/i);
    const h = await fetch(`${s.url}/api/handoffs?status=open`, { headers: CONSOLE });
    const list = (await h.json()) as { handoffs: Array<{ conversationId: string; reason: string }> };
    expect(list.handoffs.some((x) => x.conversationId === body.conversationId && x.reason === "user_request")).toBe(true);
  });

  it("rejects bad input with a 4xx that says what to fix, and writes nothing", async () => {
    const before = await countMessages();
    const cases: Array<[unknown, number, RegExp]> = [
      [{ userId: "u1", text: "   " }, 400, /empty/],
      [{ userId: "u1", text: "x".repeat(4001) }, 400, /4000/],
      [{ userId: 5, text: "hi" }, 400, /userId/],
      [{ text: "hi" }, 400, /userId/],
      ['{"userId": "u1", "text": ', 400, /not valid JSON/],
      [{ userId: "u1", text: "hi", conversationId: "nope" }, 400, /conversationId/],
      [{ userId: "u1", text: "hi", conversationId: "00000000-0000-4000-8000-000000000000" }, 404, /No conversation/],
      // A NUL byte used to reach Postgres and come back as a 500.
      [{ userId: "u1", text: "my invoice\u0000please" }, 400, /text contains a control character \(U\+0000\)/],
      [{ userId: "u1", text: "bell\u0007" }, 400, /U\+0007/],
      [{ userId: "u1\u0000", text: "hi" }, 400, /userId contains a control character/],
      [{ userId: "u1", text: "hi", messageId: "m\u001b[31m" }, 400, /messageId contains a control character/],
    ];
    for (const [body, status, message] of cases) {
      const r = await postJson(`${s.url}/api/messages`, body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(status);
      expect(r.body.error.message).toMatch(message);
    }
    expect(await countMessages()).toBe(before);
    // Tabs and line breaks are text.
    expect((await postJson(`${s.url}/api/messages`, { userId: "u1", text: "line one\n\tline two\r\n" })).status).toBe(200);
  });

  it("answers a resent client message id once", async () => {
    const first = await postJson(`${s.url}/api/messages`, { userId: "u1", text: "what plans do you offer", messageId: "client-1" });
    expect(first.status).toBe(200);
    // The FAQ answers from the pricing article and cites it, rather than saying it does not know.
    expect(first.body.reply).toMatch(/Free, Pro and Business/);
    expect(first.body.sections[0].sources[0].url).toMatch(/plans-and-pricing/);
    const again = await postJson(`${s.url}/api/messages`, { userId: "u1", text: "what plans do you offer", messageId: "client-1" });
    expect(again.status).toBe(409);
    expect(again.body.conversationId).toBe(first.body.conversationId);
  });

  it("guards the console API with CONSOLE_TOKEN", async () => {
    expect((await fetch(`${s.url}/api/handoffs`)).status).toBe(401);
    expect((await fetch(`${s.url}/api/handoffs`, { headers: { authorization: "Bearer wrong-token!" } })).status).toBe(401);
    expect((await fetch(`${s.url}/api/handoffs`, { headers: CONSOLE })).status).toBe(200);
    expect((await fetch(`${s.url}/api/conversations/00000000-0000-4000-8000-000000000000`, { headers: CONSOLE })).status).toBe(404);
  });

  it("reports health and Prometheus metrics", async () => {
    const h = await fetch(`${s.url}/healthz`);
    expect(await h.json()).toEqual({ ok: true, database: "ok", databaseMode: "embedded", queue: "in-process", model: "off" });
    const m = await (await fetch(`${s.url}/metrics`)).text();
    expect(m).toMatch(/switchboard_messages_total\{platform="http",outcome="reply"\} \d+/);
    expect(m).toMatch(/switchboard_routes_total\{route="billing",engine="offline"\}/);
    expect(m).toMatch(/switchboard_worker_latency_seconds_bucket\{le="[^"]+",worker="billing",status="ok"\}/);
  });
});

describe("API_TOKEN", () => {
  it("requires the token on /api/messages when set", async () => {
    const s = await startTestApp({ API_TOKEN: "api-secret" });
    try {
      expect((await postJson(`${s.url}/api/messages`, { userId: "u1", text: "hi" })).status).toBe(401);
      const ok = await postJson(`${s.url}/api/messages`, { userId: "u1", text: "what plans do you offer" }, { authorization: "Bearer api-secret" });
      expect(ok.status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe("restart", () => {
  it("keeps conversations and the bot's memory across a stop and start", async () => {
    // On the same embedded data folder, as a restart of the default.
    const first = await startTestApp({}, {}, undefined, { embedded: true });
    const { body } = await postJson(`${first.url}/api/messages`, { userId: "u1", text: "what plans do you offer" });
    await first.close();

    const second = await startTestApp({ DATA_DIR: first.dataDir }, {}, undefined, { embedded: true });
    try {
      const t = await fetch(`${second.url}/api/conversations/${body.conversationId}`, { headers: CONSOLE });
      expect(t.status).toBe(200);
      const next = await postJson(`${second.url}/api/messages`, { userId: "u1", text: "do you ship to Canada", conversationId: body.conversationId });
      expect(next.status).toBe(200);
      const state = await second.app.db.pool.query("select count(*) from checkpoints where thread_id = $1", [body.conversationId]);
      expect(Number(state.rows[0].count)).toBeGreaterThan(0);
      // The memory the second process answered with still holds the first process's turn.
      const remembered = (await second.app.memory.messages(body.conversationId)).filter((m) => m.role === "human").map((m) => m.text);
      expect(remembered).toEqual(["what plans do you offer", "do you ship to Canada"]);
      const transcript = await second.app.log.transcript(body.conversationId);
      expect(transcript).toHaveLength(4);
      // Demo data is loaded once, into the new database only.
      const customers = await second.app.db.pool.query("select count(*) from customers");
      expect(Number(customers.rows[0].count)).toBe(2);
    } finally {
      await second.close();
    }
  });
});
