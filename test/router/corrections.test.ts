import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouterCorrections } from "../../agents/router/corrections.ts";
import { WorkerRegistry } from "../../agents/workers/registry.ts";
import type { Database } from "../../src/db/database.ts";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { databaseTargets } from "../helpers/databases.ts";

const routes = new WorkerRegistry().routes;

describe.each(databaseTargets())("RouterCorrections ($name)", (target) => {
  let db: Database;
  let drop: () => Promise<void>;
  let conversationId: string;
  let inbound: string;
  let outbound: string;

  beforeAll(async () => {
    ({ db, drop } = await target.open());
    const c = await db.pool.query<{ id: string }>("insert into conversations (platform, conversation_key, user_id) values ('http', 'http:u1:c1', 'u1') returning id");
    conversationId = c.rows[0]!.id;
    const m = await db.pool.query<{ id: string }>(
      `insert into messages (conversation_id, direction, author_kind, text, platform, status) values
         ($1, 'in', 'user', 'refund to card 4242 4242 4242 4242, the flux gizmo glitches', 'http', 'done'),
         ($1, 'out', 'bot', 'an answer', 'http', 'sent') returning id`,
      [conversationId],
    );
    [inbound, outbound] = m.rows.map((r) => r.id) as [string, string];
    await db.pool.query("insert into routing_decisions (message_id, routes, scores, unsure, engine, latency_ms) values ($1, $2, '{}', false, 'offline', 1)", [
      inbound,
      JSON.stringify([{ route: "billing", confidence: 0.9, question: "x" }]),
    ]);
  });
  afterAll(async () => drop?.());

  it("stores a message's right route, redacted, with what the router had said; setting it again replaces it", async () => {
    const store = new RouterCorrections(db.pool, routes);
    const first = await store.set({ messageId: inbound, route: "tech_support", agent: "Dana", conversationId });
    expect(first).toMatchObject({ messageId: inbound, route: "tech_support", routed: ["billing"], agent: "Dana" });
    expect(first.text).toBe("refund to card [card number removed], the flux gizmo glitches");
    await store.set({ messageId: inbound, route: "billing", agent: "Lee" });
    expect((await store.list()).map((c) => [c.route, c.agent])).toEqual([["billing", "Lee"]]);
    expect(await store.examples()).toEqual([{ text: first.text, route: "billing", source: "staff_correction" }]);
  });

  it("refuses an unknown route, another conversation's message, a bot's message and an unknown id", async () => {
    const store = new RouterCorrections(db.pool, routes);
    await expect(store.set({ messageId: inbound, route: "sales", agent: "Dana" })).rejects.toMatchObject({ code: "unknown_route", status: 400 });
    await expect(store.set({ messageId: inbound, route: "faq", agent: "Dana", conversationId: "00000000-0000-0000-0000-000000000000" })).rejects.toMatchObject({
      code: "unknown_message",
      status: 404,
    });
    await expect(store.set({ messageId: outbound, route: "faq", agent: "Dana" })).rejects.toMatchObject({ code: "not_a_user_message" });
    await expect(store.set({ messageId: "not-a-uuid", route: "faq", agent: "Dana" })).rejects.toMatchObject({ code: "unknown_message" });
  });
});

describe("staff corrections teach the router (API and console)", () => {
  const text = "the flux gizmo on my dashboard keeps glitching";
  let s: RunningApp;
  let conversationId: string;
  let messageId: string;

  beforeAll(async () => {
    s = await startTestApp();
    const { body } = await postJson(`${s.url}/api/messages`, { userId: "u-teach", text });
    conversationId = body.conversationId;
    messageId = body.messageId;
  });
  afterAll(async () => s?.close());

  it("sets a message's route with console auth, and the next start routes it so", async () => {
    expect(s.app.offlineRouter.classify(text).routes.map((r) => r.route)).not.toEqual(["tech_support"]);
    const url = `${s.url}/api/conversations/${conversationId}/messages/${messageId}/route`;
    expect((await postJson(url, { agent: "Dana", route: "tech_support" })).status).toBe(401);
    const auth = { authorization: "Bearer console-secret" };
    expect((await postJson(url, { agent: "Dana", route: "sales" }, auth)).body.error.code).toBe("unknown_route");
    const set = await postJson(url, { agent: "Dana", route: "tech_support" }, auth);
    expect(set.status).toBe(200);
    expect(set.body.correction).toMatchObject({ messageId, route: "tech_support", agent: "Dana" });

    const dataDir = s.dataDir;
    await s.close();
    s = await startTestApp({ DATA_DIR: dataDir });
    expect(s.app.offlineRouter.classify(text).routes.map((r) => r.route)).toEqual(["tech_support"]);
  });

  it("offers the correction in the console's routing trace, behind the session's CSRF token", async () => {
    const login = await fetch(`${s.url}/console/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ agent: "Dana", token: "console-secret" }).toString(),
      redirect: "manual",
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    const page = await (await fetch(`${s.url}/console/conversations/${conversationId}`, { headers: { cookie } })).text();
    const action = `/console/conversations/${conversationId}/messages/${messageId}/route`;
    expect(page).toContain(`action="${action}"`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const post = (fields: Record<string, string>) =>
      fetch(`${s.url}${action}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie },
        body: new URLSearchParams(fields).toString(),
        redirect: "manual",
      });
    expect((await post({ route: "faq" })).status).toBe(403);
    const res = await post({ csrf, route: "faq" });
    expect(res.status).toBe(303);
    expect((await s.app.corrections.list()).map((c) => [c.messageId, c.route, c.agent])).toEqual([[messageId, "faq", "Dana"]]);
  });
});
