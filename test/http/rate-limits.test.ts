import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUESS_LIMIT } from "../../bots/http/rate-limits.ts";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const API_TOKEN = "rate-limit-api-token";

/** Requests from distinct client addresses: the app trusts X-Forwarded-For (TRUST_PROXY). */
const from = (ip: string, headers: Record<string, string> = {}) => ({ "x-forwarded-for": ip, ...headers });

describe("guessing a secret is slow, and volume per user is bounded (429 with Retry-After)", () => {
  let s: RunningApp;

  beforeAll(async () => {
    s = await startTestApp({ API_TOKEN, TRUST_PROXY: "true", RATE_LIMIT_PER_MINUTE: "3" });
  });
  afterAll(async () => s?.close());

  const signIn = (ip: string, token: string) =>
    fetch(`${s.url}/console/login`, { method: "POST", headers: from(ip, FORM), body: new URLSearchParams({ agent: "Dana", token }).toString(), redirect: "manual" });
  const rows = async () => Number((await s.app.db.pool.query("select count(*) from messages")).rows[0].count);

  it(`console sign-in: after ${GUESS_LIMIT.max} wrong tokens the address is locked out, even with the right token; another address is not`, async () => {
    for (let i = 0; i < GUESS_LIMIT.max - 1; i++) expect((await signIn("203.0.113.7", `wrong-${i}`)).status).toBe(401);
    const last = await signIn("203.0.113.7", "wrong-last");
    expect(last.status).toBe(429);
    expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await last.text()).toContain("Too many wrong tokens from this address");

    const right = await signIn("203.0.113.7", "console-secret");
    expect(right.status).toBe(429);
    expect(right.headers.get("set-cookie")).toBeNull();
    expect((await signIn("198.51.100.2", "console-secret")).status).toBe(303);
  });

  it("bearer tokens: wrong ones count the same way; the right one from a locked address is refused until the window ends", async () => {
    const list = (ip: string, token: string) => fetch(`${s.url}/api/handoffs`, { headers: from(ip, { authorization: `Bearer ${token}` }) });
    for (let i = 0; i < GUESS_LIMIT.max - 1; i++) expect((await list("203.0.113.9", `guess-${i}`)).status).toBe(401);
    const locked = await list("203.0.113.9", "guess-last");
    expect(locked.status).toBe(429);
    expect(await locked.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect((await list("203.0.113.9", "console-secret")).status).toBe(429);
    expect((await list("198.51.100.9", "console-secret")).status).toBe(200);

    const before = await rows();
    const api = await postJson(`${s.url}/api/messages`, { userId: "u-locked", text: "hello" }, from("203.0.113.9", { authorization: `Bearer ${API_TOKEN}` }));
    expect(api.status).toBe(429);
    expect(await rows()).toBe(before);
  });

  it("POST /api/messages: RATE_LIMIT_PER_MINUTE per user per address; the refused message is not stored", async () => {
    const send = (userId: string, text: string) => postJson(`${s.url}/api/messages`, { userId, text }, from("192.0.2.44", { authorization: `Bearer ${API_TOKEN}` }));
    for (let i = 0; i < 3; i++) expect((await send("u-chatty", `what plans do you offer? (${i})`)).status).toBe(200);
    const before = await rows();
    const refused = await fetch(`${s.url}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", ...from("192.0.2.44", { authorization: `Bearer ${API_TOKEN}` }) },
      body: JSON.stringify({ userId: "u-chatty", text: "one more" }),
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect(await rows()).toBe(before);
    // Another user behind the same backend is counted separately.
    expect((await send("u-quiet", "what plans do you offer?")).status).toBe(200);
  });
});

describe("TRUST_PROXY: the console cookie is Secure behind a TLS proxy, and only when the proxy is trusted", () => {
  const cookieOf = async (env: Record<string, string>) => {
    const s = await startTestApp(env);
    try {
      const res = await fetch(`${s.url}/console/login`, {
        method: "POST",
        headers: { ...FORM, "x-forwarded-proto": "https" },
        body: new URLSearchParams({ agent: "Dana", token: "console-secret" }).toString(),
        redirect: "manual",
      });
      expect(res.status).toBe(303);
      return res.headers.get("set-cookie") ?? "";
    } finally {
      await s.close();
    }
  };

  it("Secure with TRUST_PROXY=true; a client's X-Forwarded-Proto is ignored without it", async () => {
    expect(await cookieOf({ TRUST_PROXY: "true" })).toMatch(/;\s*Secure/);
    expect(await cookieOf({})).not.toMatch(/Secure/);
  }, 120_000);
});
