import { createHmac, timingSafeEqual } from "node:crypto";
import { AdapterError, errorMessage } from "../../src/errors.ts";
import { DeliveryRefused } from "../../src/outbox/delivery-refused.ts";
import type { OutboundReply, ReplySection } from "../../src/types.ts";

/** Header with the signature: `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under WEBHOOK_SECRET>`. */
export const SIGNATURE_HEADER = "x-switchboard-signature";
/** Header with the signing time in Unix seconds; part of what is signed, so a receiver can refuse replays. */
export const TIMESTAMP_HEADER = "x-switchboard-timestamp";
/** The outbox's key of the message: the same on every retry, so a receiver can drop repeats. */
export const IDEMPOTENCY_HEADER = "idempotency-key";

/** What the webhook receives: one outbound message of an HTTP conversation. */
export interface WebhookPayload {
  conversationId: string;
  /** The message's id (as in the events stream), when the outbox passes it. */
  messageId?: string;
  idempotencyKey: string;
  author: OutboundReply["author"];
  /** Markdown. */
  text: string;
  sections: ReplySection[];
  /** The conversation's user, when the outbox passes it. */
  userId?: string;
}

export interface WebhookOptions {
  url: string;
  secret: string;
  /** Time allowed for the receiver to answer, in ms (see `WEBHOOK_DEFAULTS`). */
  timeoutMs: number;
  /** The clock the timestamp is read from. Default `Date.now`. */
  now?: () => number;
}

export const WEBHOOK_DEFAULTS = {
  /** @defaultValue 10000: a receiver slower than this is treated as down, and the message retried. */
  timeoutMs: 10_000,
} as const satisfies Partial<WebhookOptions>;

/** The signature value of a body sent at `timestamp` (Unix seconds): what receivers recompute. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex")}`;
}

/** Checks a received webhook (for receivers, and tests): the signature matches, in constant time. */
export function verifyWebhookSignature(secret: string, timestamp: string | undefined, body: string, signature: string | undefined): boolean {
  if (!timestamp || !signature) return false;
  const expected = Buffer.from(webhookSignature(secret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * POSTs outbound messages to `WEBHOOK_URL` as signed JSON. Resolves when the receiver answered
 * 2xx; throws when it did not (the outbox retries with backoff), and `DeliveryRefused` for a 4xx
 * other than 408 and 429: the receiver will not take this message however often it is sent.
 */
export class WebhookSender {
  readonly #o: WebhookOptions;
  /** Where errors say they went: the origin only, since a URL's path or query may hold a token. */
  readonly #where: string;

  constructor(options: WebhookOptions) {
    this.#o = options;
    this.#where = new URL(options.url).origin;
  }

  async send(payload: WebhookPayload): Promise<void> {
    const body = JSON.stringify(payload);
    // Signed at each attempt: a retry minutes later carries a fresh timestamp.
    const timestamp = String(Math.floor((this.#o.now ?? Date.now)() / 1000));
    let res: Response;
    try {
      res = await fetch(this.#o.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "Switchboard-Webhook",
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: webhookSignature(this.#o.secret, timestamp, body),
          [IDEMPOTENCY_HEADER]: payload.idempotencyKey,
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
    } catch (err) {
      const why = err instanceof Error && err.name === "TimeoutError" ? `no answer within ${this.#o.timeoutMs} ms` : errorMessage(err);
      throw new AdapterError("http", `webhook ${this.#where} not reached: ${why}`, { cause: err });
    }
    // Read the answer to the end so the connection can be reused; its content is not used.
    await res.arrayBuffer().catch(() => {});
    if (res.status >= 200 && res.status < 300) return;
    const message = `webhook ${this.#where} answered ${res.status}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new DeliveryRefused("http", message);
    throw new AdapterError("http", message);
  }
}
