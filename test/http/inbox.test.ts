import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { skipWithoutServer } from "../helpers/requirements.ts";
import { openEventStream, type SseEvent } from "./sse-client.ts";

const CONSOLE = { authorization: "Bearer console-secret" };
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A console session cookie for `agent` (signed in with their token). */
async function consoleSession(url: string, agent: string, token: string): Promise<string> {
  const res = await fetch(`${url}/console/login`, { method: "POST", headers: FORM, body: form({ agent, token }), redirect: "manual" });
  expect(res.status).toBe(303);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

describe("the inbox API: internal notes and saved replies", () => {
  let s: RunningApp;
  const tokens: Record<string, string> = {};
  const as = (name: string) => ({ authorization: `Bearer ${tokens[name]}` });
  let handoffId: string;
  let conversationId: string;

  beforeAll(async () => {
    s = await startTestApp();
    for (const [name, role] of [["Dana", "agent"], ["Sam", "agent"], ["Lee", "lead"]] as const) tokens[name] = (await s.app.agents.add(name, role)).token;
    const first = await postJson(`${s.url}/api/messages`, { userId: "u-inbox", text: "I want to talk to a human" });
    handoffId = first.body.handoff.id;
    conversationId = first.body.conversationId;
    expect((await postJson(`${s.url}/api/handoffs/${handoffId}/claim`, {}, as("Dana"))).status).toBe(200);
  });
  afterAll(async () => s?.close());

  it("a note is stored and listed for staff, and never reaches the user: their events stream gets the reply sent after it, not the note", async () => {
    const stream = await openEventStream(`${s.url}/api/conversations/${conversationId}/events?userId=u-inbox`);
    const note = await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, { text: "Customer is on the old plan; check with billing." }, as("Dana"));
    expect(note.status).toBe(201);
    expect(note.body.note).toMatchObject({ handoffId, author: "Dana", text: "Customer is on the old plan; check with billing." });
    const reply = await postJson(`${s.url}/api/handoffs/${handoffId}/reply`, { text: "Hi, Dana here." }, as("Dana"));
    expect(reply.status).toBe(200);

    // Everything the user is sent, in order, up to the reply written after the note.
    const seen: SseEvent[] = [];
    while (!seen.some((e) => JSON.parse(e.data).text === "Hi, Dana here.")) seen.push(await stream.next());
    stream.close();
    expect(seen.map((e) => e.data).join("\n")).not.toContain("old plan");
    const stored = await s.app.db.pool.query("select count(*)::int as n from messages where text like '%old plan%'");
    expect(stored.rows[0].n).toBe(0);

    const listed = await call("GET", `${s.url}/api/handoffs/${handoffId}/notes`, undefined, as("Sam"));
    expect(listed.status).toBe(200);
    expect(listed.body.notes.map((n: { text: string }) => n.text)).toEqual(["Customer is on the old plan; check with billing."]);
    // And the console shows it in the timeline, escaped like everything else.
    await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, { text: "<img src=x onerror=alert(1)> is text" }, as("Sam"));
    const cookie = await consoleSession(s.url, "Sam", tokens["Sam"]!);
    const page = await (await fetch(`${s.url}/console/handoffs/${handoffId}`, { headers: { cookie } })).text();
    expect(page).toContain("Internal note · Dana");
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt; is text");
    expect(page).not.toContain("<img");
  });

  it("notes: no token is 401, an empty or oversized note is a 400 that says why, an unknown handoff is 404, another agent's name is 403", async () => {
    expect((await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, { text: "x" })).status).toBe(401);
    expect((await call("GET", `${s.url}/api/handoffs/${handoffId}/notes`)).status).toBe(401);
    const empty = await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, { text: "   " }, as("Dana"));
    expect(empty.status).toBe(400);
    expect(empty.body.error).toEqual({ code: "invalid_body", message: "text: text must not be empty" });
    const missing = await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, {}, as("Dana"));
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain("text is required");
    const long = await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, { text: "x".repeat(4001) }, as("Dana"));
    expect(long.status).toBe(400);
    expect(long.body.error.message).toContain("longer than 4000");
    const control = await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, { text: "bell \u0007" }, as("Dana"));
    expect(control.status).toBe(400);
    expect(control.body.error.code).toBe("invalid_note");
    const notJson = await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, "{nope", as("Dana"));
    expect(notJson.status).toBe(400);
    const unknown = await postJson(`${s.url}/api/handoffs/00000000-0000-4000-8000-000000000000/notes`, { text: "hello" }, as("Dana"));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("unknown_handoff");
    expect((await call("GET", `${s.url}/api/handoffs/not-a-uuid/notes`, undefined, as("Dana"))).status).toBe(404);
    const impersonating = await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, { agent: "Lee", text: "hello" }, as("Dana"));
    expect(impersonating.status).toBe(403);
    expect(impersonating.body.error.code).toBe("not_you");
    // The bootstrap token names who writes.
    expect((await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, { text: "hello" }, CONSOLE)).status).toBe(400);
    expect((await postJson(`${s.url}/api/handoffs/${handoffId}/notes`, { agent: "Lee", text: "from the lead" }, CONSOLE)).status).toBe(201);
  });

  it("saved replies: create, list, read, change, delete; the author or a lead changes one, a colleague cannot; titles are unique", async () => {
    expect((await call("GET", `${s.url}/api/saved-replies`)).status).toBe(401);
    const created = await postJson(`${s.url}/api/saved-replies`, { title: "Refund timeline", body: "Refunds take **5 to 10** business days." }, as("Dana"));
    expect(created.status).toBe(201);
    const id = created.body.savedReply.id as string;
    expect(created.body.savedReply).toMatchObject({ title: "Refund timeline", createdBy: "Dana", updatedBy: "Dana" });

    const dup = await postJson(`${s.url}/api/saved-replies`, { title: "refund TIMELINE", body: "again" }, as("Sam"));
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe("saved_reply_exists");

    const list = await call("GET", `${s.url}/api/saved-replies`, undefined, as("Sam"));
    expect(list.body.savedReplies.map((r: { title: string }) => r.title)).toEqual(["Refund timeline"]);
    expect((await call("GET", `${s.url}/api/saved-replies/${id}`, undefined, as("Sam"))).body.savedReply.body).toBe("Refunds take **5 to 10** business days.");
    expect((await call("GET", `${s.url}/api/saved-replies/nope`, undefined, as("Sam"))).status).toBe(404);

    const bySam = await call("PATCH", `${s.url}/api/saved-replies/${id}`, { body: "Sam's words" }, as("Sam"));
    expect(bySam.status).toBe(403);
    expect(bySam.body.error.code).toBe("not_author");
    expect((await call("DELETE", `${s.url}/api/saved-replies/${id}`, undefined, as("Sam"))).status).toBe(403);

    const byDana = await call("PATCH", `${s.url}/api/saved-replies/${id}`, { body: "Refunds take 5 to 10 business days to reach your card." }, as("Dana"));
    expect(byDana.status).toBe(200);
    expect(byDana.body.savedReply).toMatchObject({ title: "Refund timeline", body: "Refunds take 5 to 10 business days to reach your card." });
    const byLee = await call("PATCH", `${s.url}/api/saved-replies/${id}`, { title: "Refunds: timeline" }, as("Lee"));
    expect(byLee.status).toBe(200);
    expect(byLee.body.savedReply).toMatchObject({ title: "Refunds: timeline", createdBy: "Dana", updatedBy: "Lee" });

    const nothing = await call("PATCH", `${s.url}/api/saved-replies/${id}`, {}, as("Dana"));
    expect(nothing.status).toBe(400);
    expect(nothing.body.error.message).toContain("send title, body or both");
    const noTitle = await postJson(`${s.url}/api/saved-replies`, { body: "text" }, as("Dana"));
    expect(noTitle.status).toBe(400);
    expect(noTitle.body.error.message).toBe("title: title is required");
    const longTitle = await postJson(`${s.url}/api/saved-replies`, { title: "t".repeat(81), body: "text" }, as("Dana"));
    expect(longTitle.status).toBe(400);
    expect(longTitle.body.error.message).toContain("title is longer than 80 characters");

    const deleted = await call("DELETE", `${s.url}/api/saved-replies/${id}`, undefined, as("Lee"));
    expect(deleted.status).toBe(200);
    expect((await call("GET", `${s.url}/api/saved-replies`, undefined, as("Dana"))).body.savedReplies).toEqual([]);
    expect((await call("DELETE", `${s.url}/api/saved-replies/${id}`, undefined, as("Lee"))).status).toBe(404);
  });

  it("console forms for notes and saved replies refuse a missing CSRF token or a foreign origin, and work with them", async () => {
    const cookie = await consoleSession(s.url, "Dana", tokens["Dana"]!);
    const page = await (await fetch(`${s.url}/console/handoffs/${handoffId}`, { headers: { cookie } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const before = (await s.app.notes.list(handoffId)).length;
    const postForm = (path: string, fields: Record<string, string>, extra: Record<string, string> = {}) =>
      fetch(`${s.url}${path}`, { method: "POST", headers: { ...FORM, cookie, ...extra }, body: form(fields), redirect: "manual" });

    expect((await postForm(`/console/handoffs/${handoffId}/note`, { text: "no token" })).status).toBe(403);
    expect((await postForm(`/console/handoffs/${handoffId}/note`, { text: "wrong token", csrf: "x" })).status).toBe(403);
    expect((await postForm(`/console/handoffs/${handoffId}/note`, { text: "elsewhere", csrf }, { origin: "https://evil.example" })).status).toBe(403);
    expect((await postForm("/console/saved-replies", { title: "Hi", body: "no token" })).status).toBe(403);
    expect((await s.app.notes.list(handoffId)).length).toBe(before);
    expect(await s.app.savedReplies.list()).toEqual([]);
    // Without a session at all: the sign-in page, nothing stored.
    const anonymous = await fetch(`${s.url}/console/handoffs/${handoffId}/note`, { method: "POST", headers: FORM, body: form({ text: "x", csrf }), redirect: "manual" });
    expect(anonymous.status).toBe(401);

    const ok = await postForm(`/console/handoffs/${handoffId}/note`, { text: "Through the console", csrf });
    expect(ok.status).toBe(303);
    expect((await s.app.notes.list(handoffId)).map((n) => n.text)).toContain("Through the console");
    const empty = await postForm(`/console/handoffs/${handoffId}/note`, { text: " ", csrf });
    expect(empty.status).toBe(303);
    expect((await s.app.notes.list(handoffId)).length).toBe(before + 1);
    const saved = await postForm("/console/saved-replies", { title: "Greeting", body: "Hi, thanks for waiting.", csrf });
    expect(saved.status).toBe(303);
    expect((await s.app.savedReplies.list()).map((r) => r.title)).toEqual(["Greeting"]);
    // The reply box offers it.
    const again = await (await fetch(`${s.url}/console/handoffs/${handoffId}`, { headers: { cookie } })).text();
    expect(again).toMatch(/<option value="[0-9a-f-]{36}" data-body="Hi, thanks for waiting.">Greeting<\/option>/);
  });

  it("the console's live stream needs a session, and says when the queue changes", async () => {
    const refused = await openEventStream(`${s.url}/console/events`);
    expect(refused.status).toBe(401);
    const cookie = await consoleSession(s.url, "Dana", tokens["Dana"]!);
    const queue = await (await fetch(`${s.url}/console`, { headers: { cookie } })).text();
    const version = /data-version="([^"]*)"/.exec(queue)![1]!;
    const stream = await openEventStream(`${s.url}/console/events?since=${encodeURIComponent(version)}`, { cookie });
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    const opened = await postJson(`${s.url}/api/messages`, { userId: "u-inbox-live", text: "I want to talk to a human" });
    expect(opened.body.handoff).toBeTruthy();
    const event = await stream.next();
    stream.close();
    expect(JSON.parse(event.data).version).not.toBe(version);
    const now = await (await fetch(`${s.url}/console`, { headers: { cookie } })).text();
    expect(now).toContain(`data-handoff="${opened.body.handoff.id}"`);
  });

  it("the queue's owner filter (mine, unassigned) is in the URL, and the API takes it too", async () => {
    const cookie = await consoleSession(s.url, "Dana", tokens["Dana"]!);
    const mine = await (await fetch(`${s.url}/console?owner=mine`, { headers: { cookie } })).text();
    expect(mine).toContain(`data-handoff="${handoffId}"`);
    expect(mine).toContain('<option value="mine" selected>');
    const unassigned = await (await fetch(`${s.url}/console?owner=unassigned`, { headers: { cookie } })).text();
    expect(unassigned).not.toContain(`data-handoff="${handoffId}"`);
    expect((await s.app.handoffService.list({ assignee: null, status: "active" })).every((h) => h.assignee === null)).toBe(true);
    expect((await s.app.handoffService.list({ assignee: "dana" })).map((h) => h.id)).toEqual([handoffId]);
    const byApi = await call("GET", `${s.url}/api/handoffs?assignee=Dana`, undefined, CONSOLE);
    expect(byApi.body.handoffs.map((h: { id: string }) => h.id)).toEqual([handoffId]);
    const open = await call("GET", `${s.url}/api/handoffs?unassigned=true&status=active`, undefined, CONSOLE);
    expect(open.body.handoffs.length).toBeGreaterThan(0);
    expect(open.body.handoffs.every((h: { assignee: unknown }) => h.assignee === null)).toBe(true);
    expect((await call("GET", `${s.url}/api/handoffs?unassigned=true&assignee=Dana`, undefined, CONSOLE)).status).toBe(400);
    expect((await call("GET", `${s.url}/api/handoffs?unassigned=yes`, undefined, CONSOLE)).body.error.message).toContain("unassigned must be true or false");
  });
});

describe.skipIf(skipWithoutServer("test/http/inbox.test.ts (the console's live view across processes)"))("the console's live view across processes on a Postgres server", () => {
  let a: RunningApp;
  let b: RunningApp;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const fresh = await freshServerDatabase(process.env["TEST_DATABASE_URL"]!);
    await fresh.db.close();
    drop = async () => {
      const { default: pg } = await import("pg");
      const c = new pg.Client({ connectionString: process.env["TEST_DATABASE_URL"] });
      await c.connect();
      await c.query(`drop database if exists ${new URL(fresh.url).pathname.slice(1)} with (force)`);
      await c.end();
    };
    a = await startTestApp({ DATABASE_URL: fresh.url });
    b = await startTestApp({ DATABASE_URL: fresh.url });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await drop?.();
  });

  it("a handoff opened through one process shows on the console stream of another", async () => {
    const { token } = await a.app.agents.add("Dana");
    const cookie = await consoleSession(a.url, "Dana", token);
    const queue = await (await fetch(`${a.url}/console`, { headers: { cookie } })).text();
    const version = /data-version="([^"]*)"/.exec(queue)![1]!;
    const stream = await openEventStream(`${a.url}/console/events?since=${encodeURIComponent(version)}`, { cookie });
    const opened = await postJson(`${b.url}/api/messages`, { userId: "u-elsewhere", text: "I want to talk to a human" });
    expect(opened.body.handoff).toBeTruthy();
    await stream.next();
    stream.close();
    const now = await (await fetch(`${a.url}/console`, { headers: { cookie } })).text();
    expect(now).toContain(`data-handoff="${opened.body.handoff.id}"`);
  });
});

describe("the customer panel's context", () => {
  let s: RunningApp;
  beforeAll(async () => {
    s = await startTestApp();
  });
  afterAll(async () => s?.close());

  it("names the linked customer with plan, invoices and payments, the open incident the user describes, and their earlier handoffs", async () => {
    const first = await postJson(`${s.url}/api/messages`, { userId: "u2", text: "I want to talk to a human" });
    await postJson(`${s.url}/api/handoffs/${first.body.handoff.id}/resolve`, { agent: "Lee", note: "Talked it through." }, CONSOLE);
    const second = await postJson(`${s.url}/api/messages`, { userId: "u2", text: "My notes do not sync on my Android phone. I want to talk to a human" });
    expect(second.body.handoff).toBeTruthy();
    const panel = (await s.app.customerContext.forHandoff(second.body.handoff.id))!;
    expect(panel.customer).toMatchObject({ id: "cus_priya", name: "Priya Shah" });
    expect(panel.invoices.length).toBeGreaterThan(0);
    expect(panel.payments.length).toBeGreaterThan(0);
    expect(panel.matchingIncidents.map((i) => i.id)).toEqual(["inc_android_sync"]);
    expect(panel.earlierHandoffs).toMatchObject([{ id: first.body.handoff.id, status: "resolved", resolutionNote: "Talked it through." }]);

    // Nothing about sync: the incident does not match; an unlinked user has no customer.
    const other = await postJson(`${s.url}/api/messages`, { userId: "u-unlinked", text: "I want to talk to a human" });
    const none = (await s.app.customerContext.forHandoff(other.body.handoff.id))!;
    expect(none).toMatchObject({ customer: null, invoices: [], payments: [], matchingIncidents: [], earlierHandoffs: [] });
    expect(none.openIncidents).toBe(1);
  });
});
