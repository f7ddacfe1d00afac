import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { FakeNotifier } from "./fake-notifier.ts";

const CONSOLE = { authorization: "Bearer console-secret" };

async function getJson(url: string) {
  const res = await fetch(url, { headers: CONSOLE });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe("the human handoff loop through the HTTP API (offline engine)", () => {
  let s: RunningApp;
  let staff: FakeNotifier;
  const api = (path: string) => `${s.url}${path}`;
  const act = (id: string, action: string, body: unknown) => postJson(api(`/api/handoffs/${id}/${action}`), body, CONSOLE);

  beforeAll(async () => {
    s = await startTestApp();
    staff = new FakeNotifier();
    s.app.handoffService.addNotifier(staff);
  });
  afterAll(async () => s?.close());

  it("asks for a person → open → claim → reply reaches the user → user relayed, bot silent → resolve → bot answers, with a note in its memory", async () => {
    // The user asks for a person: a handoff opens and the user is told a person will reply here.
    const first = await postJson(api("/api/messages"), { userId: "u-loop", text: "I want to talk to a human" });
    expect(first.status).toBe(200);
    expect(first.body.handoff).toMatchObject({ reason: "user_request" });
    expect(first.body.reply).toMatch(/reply right here/);
    const conversationId = first.body.conversationId as string;
    const handoffId = first.body.handoff.id as string;

    const queue = await getJson(api("/api/handoffs?status=open"));
    const entry = queue.body.handoffs.find((h: { id: string }) => h.id === handoffId);
    expect(entry).toMatchObject({ status: "open", platform: "http", userId: "u-loop", routes: [{ route: "human" }] });
    expect(entry.waitingSeconds).toBeGreaterThanOrEqual(0);
    // The staff channel got one card for it.
    await staff.waitFor("announce", (c) => c.card.handoff.id === handoffId);

    // Claim: the conversation becomes human-owned by Dana.
    const claim = await act(handoffId, "claim", { agent: "Dana" });
    expect(claim.status).toBe(200);
    expect(claim.body.handoff).toMatchObject({ status: "claimed", assignee: "Dana" });
    expect((await getJson(api(`/api/conversations/${conversationId}`))).body.conversation).toMatchObject({ status: "human", assignee: "Dana" });
    await staff.waitFor("update", (c) => c.card.handoff.id === handoffId && c.card.handoff.assignee === "Dana");

    // Dana's reply is delivered to the user's conversation (http: recorded as sent, by Dana).
    const reply = await act(handoffId, "reply", { agent: "Dana", text: "Hi, Dana here. I refunded the duplicate charge." });
    expect(reply.status).toBe(200);
    const afterReply = await getJson(api(`/api/conversations/${conversationId}`));
    const sent = afterReply.body.messages.find((m: { id: string }) => m.id === reply.body.messageId);
    expect(sent).toMatchObject({ direction: "out", authorKind: "agent", authorId: "Dana", status: "sent", text: "Hi, Dana here. I refunded the duplicate charge." });

    // The user's next message goes to Dana; the bot says nothing.
    const followUp = await postJson(api("/api/messages"), { userId: "u-loop", conversationId, text: "Thanks! When will I see the money?" });
    expect(followUp.status).toBe(200);
    expect(followUp.body).toMatchObject({ relayed: true, reply: null });
    await staff.waitFor("post", (c) => c.note.kind === "user_message" && c.note.text === "Thanks! When will I see the money?");
    const outbound = (await getJson(api(`/api/conversations/${conversationId}`))).body.messages.filter((m: { direction: string }) => m.direction === "out");
    expect(outbound.map((m: { authorKind: string }) => m.authorKind)).toEqual(["bot", "agent"]);

    // Resolve: back to the bot, with a note of what Dana did in the bot's memory.
    const resolved = await act(handoffId, "resolve", { agent: "Dana", note: "Refunded the $24 duplicate charge; 5 business days." });
    expect(resolved.status).toBe(200);
    expect(resolved.body.handoff).toMatchObject({ status: "resolved", resolvedBy: "Dana", resolutionNote: "Refunded the $24 duplicate charge; 5 business days." });
    expect((await getJson(api(`/api/conversations/${conversationId}`))).body.conversation).toMatchObject({ status: "bot", assignee: null });
    const memory = await s.app.memory.messages(conversationId);
    const note = memory.find((m) => m.text.startsWith("[Support team note]"));
    expect(note?.role).toBe("ai");
    expect(note?.text).toContain("Dana");
    expect(note?.text).toContain("I refunded the duplicate charge");
    expect(note?.text).toContain("Refunded the $24 duplicate charge; 5 business days.");

    // The bot answers again.
    const next = await postJson(api("/api/messages"), { userId: "u-loop", conversationId, text: "how do I reset my password?" });
    expect(next.status).toBe(200);
    expect(next.body.reply).toMatch(/password/i);
    expect(next.body.routes[0].route).toBe("tech_support");
    // The note sits in the memory before the new turn.
    const after = await s.app.memory.messages(conversationId);
    const noteAt = after.findIndex((m) => m.text.startsWith("[Support team note]"));
    const questionAt = after.findIndex((m) => m.text === "how do I reset my password?");
    // Both are there (findIndex is -1 for a missing one, and -1 is less than anything).
    expect(noteAt).toBeGreaterThanOrEqual(0);
    expect(questionAt).toBeGreaterThanOrEqual(0);
    expect(noteAt).toBeLessThan(questionAt);

    // Every transition is logged, and the detail view has the transcript with routing traces.
    await s.app.handoffService.idle();
    const detail = await getJson(api(`/api/handoffs/${handoffId}`));
    expect(detail.status).toBe(200);
    expect(detail.body.events.map((e: { kind: string }) => e.kind)).toEqual(["opened", "claimed", "agent_reply", "user_message", "resolved"]);
    expect(detail.body.events[1]).toMatchObject({ actor: "Dana" });
    expect(detail.body.handoff).toMatchObject({ id: handoffId, status: "resolved", claimedAt: expect.any(String), resolvedAt: expect.any(String) });
    expect(detail.body.conversation).toMatchObject({ id: conversationId });
    const opener = detail.body.messages.find((m: { text: string }) => m.text === "I want to talk to a human");
    expect(opener.routing).toMatchObject({ engine: "offline", routes: [{ route: "human" }] });
    await staff.waitFor("post", (c) => c.note.kind === "status" && /Dana resolved this/.test(c.note.text));
  });

  it("gives two agents claiming at once one owner, and tells the other who has it", async () => {
    const { body } = await postJson(api("/api/messages"), { userId: "u-race", text: "can I speak to a real person please" });
    const id = body.handoff.id as string;
    const agents = ["Ana", "Ben", "Chloé", "Dev", "Eli"];
    const results = await Promise.all(agents.map((agent) => act(id, "claim", { agent })));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    const owner = winners[0]!.body.handoff.assignee as string;
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({ code: "already_claimed", message: `This handoff is already claimed by ${owner}.` });
    }
    // Claiming again as the owner changes nothing; the others still cannot reply.
    expect((await act(id, "claim", { agent: owner })).status).toBe(200);
    const other = agents.find((a) => a !== owner)!;
    const stolen = await act(id, "reply", { agent: other, text: "hello" });
    expect(stolen.status).toBe(409);
    expect(stolen.body.error.code).toBe("claimed_by_other");
    await s.app.handoffService.idle();
    const events = await s.app.handoffs.events(id);
    expect(events.filter((e) => e.kind === "claimed").map((e) => e.actor)).toEqual([owner]);
  });

  it("back to bot without a note; resolving twice is a no-op; nothing is sent after it", async () => {
    const { body } = await postJson(api("/api/messages"), { userId: "u-back", text: "I want to talk to a human" });
    const id = body.handoff.id as string;
    const back = await postJson(api(`/api/handoffs/${id}/back-to-bot`), {}, CONSOLE);
    expect(back.status).toBe(200);
    expect(back.body.handoff).toMatchObject({ status: "resolved", resolutionNote: null });
    const again = await act(id, "resolve", { agent: "Dana", note: "late" });
    expect(again.status).toBe(200);
    expect(again.body.handoff).toMatchObject({ resolutionNote: null });
    const late = await act(id, "reply", { agent: "Dana", text: "still there?" });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("already_resolved");
    expect((await s.app.handoffs.events(id)).map((e) => e.kind)).toEqual(["opened", "back_to_bot"]);
    const memory = await s.app.memory.messages(body.conversationId);
    expect(memory.at(-1)?.text).toMatch(/Nobody from the support team replied.*gave the conversation back to the bot/);
  });

  it("answers bad input with a 4xx that says what to fix", async () => {
    const { body } = await postJson(api("/api/messages"), { userId: "u-bad", text: "I want to talk to a human" });
    const id = body.handoff.id as string;
    const cases: Array<[string, unknown, number, RegExp]> = [
      [`/api/handoffs/${id}/claim`, {}, 400, /agent is required/],
      [`/api/handoffs/${id}/claim`, { agent: "   " }, 400, /agent must not be empty/],
      [`/api/handoffs/${id}/claim`, { agent: "x".repeat(81) }, 400, /longer than 80/],
      [`/api/handoffs/${id}/reply`, { agent: "Dana" }, 400, /text is required/],
      [`/api/handoffs/${id}/reply`, { agent: "Dana", text: "  " }, 400, /text must not be empty/],
      [`/api/handoffs/${id}/reply`, { agent: "Dana", text: "x".repeat(4001) }, 400, /longer than 4000/],
      [`/api/handoffs/not-a-handoff/claim`, { agent: "Dana" }, 404, /No handoff not-a-handoff/],
      [`/api/handoffs/00000000-0000-4000-8000-000000000000/reply`, { agent: "Dana", text: "hi" }, 404, /No handoff/],
    ];
    for (const [path, b, status, message] of cases) {
      const r = await postJson(api(path), b, CONSOLE);
      expect({ path, status: r.status }).toEqual({ path, status });
      expect(r.body.error.message).toMatch(message);
    }
    expect((await getJson(api("/api/handoffs?status=closed"))).status).toBe(400);
    expect((await getJson(api("/api/handoffs?route=sales"))).body.error.message).toMatch(/route must be one of/);
    expect((await getJson(api("/api/handoffs/nope"))).status).toBe(404);
    // The API takes the console token, like the rest of /api/handoffs.
    expect((await postJson(api(`/api/handoffs/${id}/claim`), { agent: "Dana" })).status).toBe(401);
    expect((await postJson(api(`/api/handoffs/${id}/claim`), { agent: "Dana" }, { authorization: "Bearer nope" })).status).toBe(401);
    // Nothing above changed the handoff.
    expect((await s.app.handoffs.get(id))?.status).toBe("open");
  });

  it("filters the queue by state, route, platform and age, oldest first", async () => {
    // Handoffs of its own, so it passes alone as well as after the tests above: three users who
    // asked for a person (one of them resolved) …
    const asked: string[] = [];
    for (const userId of ["u-filter-1", "u-filter-2", "u-filter-3"]) {
      const r = await postJson(api("/api/messages"), { userId, text: "I want to talk to a human" });
      expect(r.body.handoff).toMatchObject({ reason: "user_request" });
      asked.push(r.body.handoff.id as string);
    }
    expect((await act(asked[0]!, "resolve", { agent: "Dana" })).status).toBe(200);
    // … and a Discord conversation whose message was routed to billing and handed off (stored directly:
    // the filters are what is under test, not the workers).
    const stored = await s.app.log.receive({ platform: "discord", conversationKey: "discord:1:2", userId: "d-user", text: "refund over the limit", platformMessageId: "d-1" });
    await s.app.log.recordRouting(stored.messageId, {
      routes: [{ route: "billing", confidence: 0.91, question: "refund over the limit" }],
      scores: { billing: 0.91, tech_support: 0.02, faq: 0.05, human: 0.02 },
      unsure: false,
      engine: "offline",
      latencyMs: 1.2,
    });
    const { handoff: billing } = await s.app.handoffs.open(stored.conversation.id, stored.messageId, "needs_approval", "refund above the limit");

    const all = (await getJson(api("/api/handoffs"))).body.handoffs as Array<{ id: string; createdAt: string; status: string; platform: string }>;
    expect(all.length).toBeGreaterThan(3);
    for (const id of asked) expect(all.map((h) => h.id)).toContain(id);
    const times = all.map((h) => Date.parse(h.createdAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(all.at(-1)?.id).toBe(billing.id);

    const ids = async (query: string) => ((await getJson(api(`/api/handoffs?${query}`))).body.handoffs as typeof all).map((h) => h.id);
    expect(await ids("route=billing")).toEqual([billing.id]);
    expect(await ids("platform=discord")).toEqual([billing.id]);
    expect(await ids("route=billing&platform=http")).toEqual([]);
    expect((await ids("route=human")).length).toBe(all.length - 1);
    const active = (await getJson(api("/api/handoffs?status=active"))).body.handoffs as typeof all;
    expect(active.length).toBeGreaterThan(0);
    expect(active.every((h) => h.status !== "resolved")).toBe(true);
    expect(await ids("status=resolved")).toEqual(all.filter((h) => h.status === "resolved").map((h) => h.id));
    expect(await ids("minAge=60")).toEqual([]);
    expect((await ids("maxAge=60")).length).toBe(all.length);
  });
});
