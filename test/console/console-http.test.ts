import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { escapeHtml, html } from "../../bots/console/html.ts";
import { SessionSigner } from "../../bots/console/session.ts";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";

const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** A Set-Cookie's attributes, sorted (their order is the cookie library's). */
function cookieAttributes(setCookie: string): string[] {
  return setCookie.split(";").slice(1).map((a) => a.trim()).sort();
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

describe("the console's HTML is escaped by construction", () => {
  it("escapes every interpolation except nested html", () => {
    const evil = `<script>alert("x")</script><img src=x onerror='y'>`;
    const out = html`<p title="${evil}">${evil}${html`<b>ok</b>`}${[evil, 1]}</p>`.value;
    expect(out).not.toContain("<script>");
    expect(out).not.toContain("<img");
    expect(out).toContain("<b>ok</b>");
    expect(out).toContain(escapeHtml(evil));
    expect(escapeHtml(`"'<>&\``)).toBe("&quot;&#39;&lt;&gt;&amp;&#96;");
  });

  it("signs sessions: a forged, altered or expired cookie is no session", () => {
    const signer = new SessionSigner("token-a");
    const { cookie, session } = signer.issue({ agent: "Dana", role: "lead", agentId: null }, 1_000_000);
    expect(signer.verify(cookie, 1_000_000)?.agent).toBe("Dana");
    expect(new SessionSigner("token-b").verify(cookie, 1_000_000)).toBeUndefined();
    const [payload, mac] = cookie.split(".");
    const forged = Buffer.from(JSON.stringify({ ...session, agent: "Mallory" })).toString("base64url");
    expect(signer.verify(`${forged}.${mac}`, 1_000_000)).toBeUndefined();
    expect(signer.verify(`${payload}.${mac}`, (session.exp + 1) * 1000)).toBeUndefined();
    expect(signer.checkCsrf(session, signer.csrfToken(session))).toBe(true);
    expect(signer.checkCsrf(session, "nope")).toBe(false);
  });
});

describe("the console over HTTP (no browser)", () => {
  let s: RunningApp;
  let handoffId: string;

  beforeAll(async () => {
    s = await startTestApp();
    const { body } = await postJson(`${s.url}/api/messages`, { userId: "u-console-http", text: "I want to talk to a human <script>window.__pwned = 1</script>" });
    handoffId = body.handoff.id;
  });
  afterAll(async () => s?.close());

  const signIn = async (token = "console-secret") => {
    const res = await fetch(`${s.url}/console/login`, { method: "POST", headers: FORM, body: form({ agent: "Dana", token }), redirect: "manual" });
    return res;
  };

  it("a wrong token gets no data and no session", async () => {
    const res = await signIn("wrong");
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    const text = await res.text();
    expect(text).toContain("That token is not right.");
    expect(text).not.toContain("u-console-http");
    // Without a session every page sends you to sign in.
    const queue = await fetch(`${s.url}/console`, { redirect: "manual" });
    expect(queue.status).toBe(303);
    expect(queue.headers.get("location")).toBe("/console/login");
    const view = await fetch(`${s.url}/console/handoffs/${handoffId}`, { headers: { cookie: "sb_console=forged.value" }, redirect: "manual" });
    expect(view.status).toBe(303);
  });

  it("signs in with an HttpOnly SameSite=Strict cookie, shows user text escaped, and refuses forms without the session's CSRF token", async () => {
    const res = await signIn();
    expect(res.status).toBe(303);
    const setCookie = res.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^sb_console=[^;]+;/);
    expect(cookieAttributes(setCookie)).toEqual(["HttpOnly", "Max-Age=43200", "Path=/console", "SameSite=Strict"]);
    const cookie = setCookie.split(";")[0]!;

    const page = await fetch(`${s.url}/console/handoffs/${handoffId}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const body = await page.text();
    expect(body).toContain("I want to talk to a human &lt;script&gt;window.__pwned = 1&lt;/script&gt;");
    expect(body).not.toContain("<script>");
    const csrf = /name="csrf" value="([^"]+)"/.exec(body)?.[1];
    expect(csrf).toBeDefined();

    const noToken = await fetch(`${s.url}/console/handoffs/${handoffId}/claim`, { method: "POST", headers: { ...FORM, cookie }, body: form({}), redirect: "manual" });
    expect(noToken.status).toBe(403);
    const crossSite = await fetch(`${s.url}/console/handoffs/${handoffId}/claim`, {
      method: "POST",
      headers: { ...FORM, cookie, origin: "https://evil.example" },
      body: form({ csrf: csrf! }),
      redirect: "manual",
    });
    expect(crossSite.status).toBe(403);
    expect((await s.app.handoffs.get(handoffId))?.status).toBe("open");

    const claim = await fetch(`${s.url}/console/handoffs/${handoffId}/claim`, { method: "POST", headers: { ...FORM, cookie }, body: form({ csrf: csrf! }), redirect: "manual" });
    expect(claim.status).toBe(303);
    expect((await s.app.handoffs.get(handoffId))?.assignee).toBe("Dana");
  });

  it("says honestly whether a reply reached the user or is only recorded", async () => {
    const cookie = (await signIn()).headers.get("set-cookie")!.split(";")[0]!;
    const replyFrom = async (id: string, text: string) => {
      const page = await (await fetch(`${s.url}/console/handoffs/${id}`, { headers: { cookie } })).text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
      const res = await fetch(`${s.url}/console/handoffs/${id}/reply`, { method: "POST", headers: { ...FORM, cookie }, body: form({ csrf, text }), redirect: "manual" });
      expect(res.status).toBe(303);
      const flash = res.headers.get("set-cookie")!.split(";")[0]!;
      const next = await (await fetch(`${s.url}${res.headers.get("location")}`, { headers: { cookie: `${cookie}; ${flash}` } })).text();
      return /<p class="flash (\w+)" role="status" data-testid="flash">([^<]*)<\/p>/.exec(next)?.slice(1);
    };

    // An HTTP user: delivered at once (the events stream; no webhook set).
    expect(await replyFrom(handoffId, "On it.")).toEqual(["ok", "Reply sent to the user."]);

    // A Slack user, and no Slack connection in this process: recorded, delivered later.
    const slack = await s.app.intake.submit({ platform: "slack", conversationKey: "slack:T1:C9:1700000000.0002", userId: "U-slack", text: "a person please", platformMessageId: "slack-msg-1" });
    const { handoff } = await s.app.handoffs.open(slack.conversationId, slack.messageId, "user_request", "asked for a person");
    const [kind, text] = (await replyFrom(handoff.id, "Hello from the console."))!;
    expect(kind).toBe("warn");
    expect(text).toMatch(/^Reply recorded; it will be delivered when a Switchboard process connected to Slack is running/);
    const row = await s.app.db.pool.query("select status from messages where conversation_id = $1 and author_kind = 'agent'", [slack.conversationId]);
    expect(row.rows).toEqual([{ status: "no_adapter" }]);
  });

  it("says the console is off when CONSOLE_TOKEN is not set", async () => {
    const off = await startTestApp({ CONSOLE_TOKEN: "" });
    try {
      for (const path of ["/console", "/console/login"]) {
        const res = await fetch(`${off.url}${path}`);
        expect(res.status).toBe(403);
        expect(await res.text()).toContain("The console is off");
      }
      const login = await fetch(`${off.url}/console/login`, { method: "POST", headers: FORM, body: form({ agent: "Dana", token: "" }) });
      expect(login.status).toBe(403);
    } finally {
      await off.close();
    }
  });
});
