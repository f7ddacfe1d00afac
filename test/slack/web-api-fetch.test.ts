import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { webApi } from "@slack/bolt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webApiFetch } from "../../bots/slack/web-api-fetch.ts";

/** What the Web API clients read from an answer, through the `fetch` they are given. */
describe("webApiFetch", () => {
  let server: Server;
  let base = "";
  const received: Array<{ method: string; url: string; headers: Record<string, unknown>; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
        if (req.url === "/api/limited") {
          res.writeHead(429, { "retry-after": "7", "content-type": "application/json" });
          res.end('{"ok":false,"error":"ratelimited"}');
        } else if (req.url === "/empty") {
          res.writeHead(204).end();
        } else {
          res.setHeader("set-cookie", ["a=1", "b=2"]);
          res.setHeader("x-oauth-scopes", "chat:write,commands");
          res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
          res.end(JSON.stringify({ ok: true, ts: "1700000000.000100", echo: body }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends the method, headers and string body, and answers with status, headers and body", async () => {
    const res = await webApiFetch(`${base}/api/chat.postMessage`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Bearer xoxb-test" },
      body: "channel=C1&text=hi%20there",
      redirect: "error",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-oauth-scopes")).toBe("chat:write,commands");
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(await res.json()).toMatchObject({ ok: true, echo: "channel=C1&text=hi%20there" });
    expect(received.at(-1)).toMatchObject({ method: "POST", url: "/api/chat.postMessage", headers: { authorization: "Bearer xoxb-test" } });
  });

  it("answers 204 with no body", async () => {
    const res = await webApiFetch(`${base}/empty`, { method: "POST", body: "" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
  });

  it("rejects when nothing listens, as fetch does (the client retries)", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(webApiFetch(`http://127.0.0.1:${port}/api/x`, { method: "POST", body: "a=1" })).rejects.toThrow();
  });

  it("hands what it does not handle itself (a URL object, a non-string body) to the global fetch", async () => {
    const res = await webApiFetch(new URL(`${base}/api/url-object`), { method: "POST", body: new URLSearchParams({ a: "1" }) });
    expect(res.status).toBe(200);
    expect(received.at(-1)).toMatchObject({ url: "/api/url-object", body: "a=1" });
  });

  it("gives the Web API client what it needs: the result, and a rate limit's Retry-After", async () => {
    const client = new webApi.WebClient("xoxb-test", { slackApiUrl: `${base}/api/`, fetch: webApiFetch, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    await expect(client.chat.postMessage({ channel: "C1", text: "hello" })).resolves.toMatchObject({ ok: true, ts: "1700000000.000100", response_metadata: { scopes: ["chat:write", "commands"] } });
    await expect(client.apiCall("limited")).rejects.toMatchObject({ code: "slack_webapi_rate_limited_error", retryAfter: 7 });
  });
});
