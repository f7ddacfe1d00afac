import { createHmac } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpChannel } from "../../bots/http/channel.ts";
import { verifyWebhookSignature } from "../../bots/http/webhook.ts";
import { loadConfig } from "../../src/config.ts";
import { AdapterError } from "../../src/errors.ts";
import { silentLogger } from "../../src/logger.ts";
import { DeliveryRefused } from "../../src/outbox/delivery-refused.ts";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { Changes } from "../helpers/wait-until.ts";

const SECRET = "webhook-secret-for-the-tests";
const CONSOLE = { authorization: "Bearer console-secret" };

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A webhook receiver on a loopback port: answers with the queued statuses, then 200. */
class Receiver {
  readonly received: Received[] = [];
  readonly changes = new Changes();
  readonly statuses: number[] = [];
  hang = false;
  readonly #server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      if (this.hang) return;
      const status = this.statuses.shift() ?? 200;
      this.received.push({ headers: req.headers, body, status });
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ ok: status < 300 }));
      this.changes.notify();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as { port: number }).port}/hooks/switchboard`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  for(key: string): Received[] {
    return this.received.filter((r) => r.headers["idempotency-key"] === key);
  }
}

/** What a receiver does: recompute the signature over `${timestamp}.${body}` (independently of our helper). */
function signedCorrectly(r: Received): boolean {
  const timestamp = String(r.headers["x-switchboard-timestamp"]);
  const expected = `sha256=${createHmac("sha256", SECRET).update(`${timestamp}.${r.body}`).digest("hex")}`;
  return r.headers["x-switchboard-signature"] === expected && verifyWebhookSignature(SECRET, timestamp, r.body, expected);
}

describe("WEBHOOK_URL: outbound HTTP messages POSTed, signed, retried by the outbox", () => {
  const receiver = new Receiver();
  let s: RunningApp;
  let conversationId: string;
  let handoffId: string;

  beforeAll(async () => {
    const url = await receiver.start();
    // No sweep timer: the test says when the outbox looks for due messages.
    s = await startTestApp({ WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET }, { outboxSweepMs: 0 });
  });
  afterAll(async () => {
    await s?.close();
    await receiver.close();
  });

  const outRow = async (id: string) =>
    (await s.app.db.pool.query<{ status: string; attempts: number }>("select status, attempts from messages where id = $1", [id])).rows[0]!;
  /** Makes a retrying message due now, then runs one sweep (instead of waiting out the backoff). */
  const retryNow = async (id: string) => {
    await s.app.db.pool.query("update messages set next_attempt_at = clock_timestamp() where id = $1 and status = 'retry'", [id]);
    await s.app.outbox.sweep();
  };

  it("POSTs the bot's reply as signed JSON", async () => {
    const { status, body } = await postJson(`${s.url}/api/messages`, { userId: "u-hook", text: "I want to talk to a human" });
    expect(status).toBe(200);
    conversationId = body.conversationId;
    handoffId = body.handoff.id;
    const [hook] = await receiver.changes.until(() => receiver.received.length >= 1 && receiver.received, "the webhook call");
    expect(hook!.headers["content-type"]).toBe("application/json");
    expect(signedCorrectly(hook!)).toBe(true);
    expect(Math.abs(Number(hook!.headers["x-switchboard-timestamp"]) - Date.now() / 1000)).toBeLessThan(300);
    // Any change to the body breaks the signature.
    expect(verifyWebhookSignature(SECRET, String(hook!.headers["x-switchboard-timestamp"]), hook!.body.replace(`"text":"`, `"text":"Pay here: `), String(hook!.headers["x-switchboard-signature"]))).toBe(false);
    expect(verifyWebhookSignature("another-secret-entirely", String(hook!.headers["x-switchboard-timestamp"]), hook!.body, String(hook!.headers["x-switchboard-signature"]))).toBe(false);

    const payload = JSON.parse(hook!.body);
    const row = (await s.app.db.pool.query("select id, idempotency_key, status from messages where conversation_id = $1 and direction = 'out'", [conversationId])).rows[0];
    expect(payload).toMatchObject({ conversationId, idempotencyKey: row.idempotency_key, author: { kind: "bot" }, text: body.reply, sections: [] });
    expect(hook!.headers["idempotency-key"]).toBe(row.idempotency_key);
    expect(row.status).toBe("sent");
  });

  it("retries a staff reply the receiver failed (500, 500, then 200) and marks it sent once; the API says 202 meanwhile", async () => {
    receiver.statuses.push(500, 500);
    const r = await postJson(`${s.url}/api/handoffs/${handoffId}/reply`, { agent: "Dana", text: "Dana here, looking at it." }, CONSOLE);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ messageId: expect.any(String), delivery: "retry", error: expect.stringMatching(/answered 500/), handoff: { id: handoffId } });
    const id = r.body.messageId as string;
    expect(await outRow(id)).toEqual({ status: "retry", attempts: 1 });

    await retryNow(id);
    expect(await outRow(id)).toEqual({ status: "retry", attempts: 2 });
    await retryNow(id);
    expect(await outRow(id)).toEqual({ status: "sent", attempts: 3 });

    const key = (await s.app.db.pool.query("select idempotency_key from messages where id = $1", [id])).rows[0].idempotency_key as string;
    const calls = receiver.for(key);
    expect(calls.map((c) => c.status)).toEqual([500, 500, 200]);
    // Each attempt is signed afresh, and carries the same message.
    for (const c of calls) expect(signedCorrectly(c)).toBe(true);
    expect(new Set(calls.map((c) => c.body)).size).toBe(1);
    expect(JSON.parse(calls[0]!.body)).toMatchObject({ conversationId, idempotencyKey: key, author: { kind: "agent", name: "Dana" }, text: "Dana here, looking at it." });

    // Sent is sent: later sweeps do not post it again.
    await s.app.db.pool.query("update messages set next_attempt_at = clock_timestamp() where id = $1", [id]);
    await s.app.outbox.sweep();
    expect(receiver.for(key)).toHaveLength(3);
    expect(await outRow(id)).toEqual({ status: "sent", attempts: 3 });
  });

  it("treats 429 as try-again and another 4xx as refused for good (502, not retried)", async () => {
    receiver.statuses.push(429);
    const busy = await postJson(`${s.url}/api/handoffs/${handoffId}/reply`, { agent: "Dana", text: "One more thing." }, CONSOLE);
    expect(busy.status).toBe(202);
    expect(busy.body.delivery).toBe("retry");
    await retryNow(busy.body.messageId);
    expect((await outRow(busy.body.messageId)).status).toBe("sent");

    receiver.statuses.push(410);
    const before = receiver.received.length;
    const gone = await postJson(`${s.url}/api/handoffs/${handoffId}/reply`, { agent: "Dana", text: "Are you still there?" }, CONSOLE);
    expect(gone.status).toBe(502);
    expect(gone.body.error).toMatchObject({ code: "delivery_failed", message: expect.stringMatching(/answered 410/) });
    const row = (await s.app.db.pool.query("select status, attempts from messages where conversation_id = $1 and text = 'Are you still there?'", [conversationId])).rows[0];
    expect(row).toEqual({ status: "failed", attempts: 1 });
    await s.app.outbox.sweep();
    expect(receiver.received.length).toBe(before + 1);
  });
});

describe("the HTTP channel on its own", () => {
  it("does nothing without WEBHOOK_URL", async () => {
    const channel = createHttpChannel(loadConfig({ LOG_LEVEL: "silent" }), silentLogger());
    await expect(channel.deliver({ platform: "http", conversationKey: "http:x", conversationId: "c", text: "hi", sections: [], author: { kind: "bot" }, idempotencyKey: "k" })).resolves.toBeUndefined();
  });

  it("gives up on a receiver that does not answer in time, to be retried (not refused)", async () => {
    const receiver = new Receiver();
    receiver.hang = true;
    const url = await receiver.start();
    try {
      const channel = createHttpChannel(loadConfig({ LOG_LEVEL: "silent", WEBHOOK_URL: `${url}?token=do-not-log-me`, WEBHOOK_SECRET: SECRET }), silentLogger(), { webhookTimeoutMs: 200 });
      const err = await channel.deliver({ platform: "http", conversationKey: "http:x", conversationId: "c", text: "hi", sections: [], author: { kind: "bot" }, idempotencyKey: "k" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdapterError);
      expect(err).not.toBeInstanceOf(DeliveryRefused);
      expect((err as Error).message).toMatch(/no answer within 200 ms/);
      // The URL's query (it may hold a token) is not in the error, which is stored and shown.
      expect((err as Error).message).not.toContain("do-not-log-me");
    } finally {
      await receiver.close();
    }
  });

  it("refuses a receiver it cannot reach as retryable", async () => {
    const channel = createHttpChannel(loadConfig({ LOG_LEVEL: "silent", WEBHOOK_URL: "http://127.0.0.1:9/nothing-listens", WEBHOOK_SECRET: SECRET }), silentLogger());
    const err = await channel.deliver({ platform: "http", conversationKey: "http:x", conversationId: "c", text: "hi", sections: [], author: { kind: "bot" }, idempotencyKey: "k" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterError);
    expect(err).not.toBeInstanceOf(DeliveryRefused);
    expect((err as Error).message).toMatch(/not reached/);
  });
});

describe("webhook and user settings", () => {
  const fails = (env: Record<string, string>) => {
    try {
      loadConfig({ LOG_LEVEL: "silent", ...env });
      return "";
    } catch (err) {
      return (err as Error).message;
    }
  };

  it("needs WEBHOOK_SECRET with WEBHOOK_URL, an http(s) URL, and secrets long enough to be secrets", () => {
    expect(fails({ WEBHOOK_URL: "https://example.com/hook" })).toMatch(/WEBHOOK_SECRET is required when WEBHOOK_URL is set/);
    expect(fails({ WEBHOOK_URL: "ftp://example.com/hook", WEBHOOK_SECRET: SECRET })).toMatch(/WEBHOOK_URL: must be an http/);
    expect(fails({ WEBHOOK_URL: "not a url", WEBHOOK_SECRET: SECRET })).toMatch(/WEBHOOK_URL/);
    expect(fails({ WEBHOOK_URL: "https://example.com/hook", WEBHOOK_SECRET: "short" })).toMatch(/WEBHOOK_SECRET: must be at least 16 characters/);
    expect(fails({ API_USER_SECRET: "short" })).toMatch(/API_USER_SECRET: must be at least 16 characters/);
    const ok = loadConfig({ LOG_LEVEL: "silent", WEBHOOK_URL: " https://example.com/hook ", WEBHOOK_SECRET: SECRET, API_USER_SECRET: SECRET });
    expect(ok).toMatchObject({ webhookUrl: "https://example.com/hook", webhookSecret: SECRET, apiUserSecret: SECRET });
    expect(loadConfig({ LOG_LEVEL: "silent" })).toMatchObject({ webhookUrl: undefined, webhookSecret: undefined, apiUserSecret: undefined });
  });
});
