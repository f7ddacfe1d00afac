import type { Config } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import type { ChannelAdapter } from "../../src/ports.ts";
import type { OutboundReply } from "../../src/types.ts";
import { WEBHOOK_DEFAULTS, WebhookSender, type WebhookPayload } from "./webhook.ts";

export interface HttpChannelOptions {
  /** Time the webhook receiver has to answer, in ms. Default `WEBHOOK_DEFAULTS.timeoutMs`. */
  webhookTimeoutMs?: number;
}

/**
 * The HTTP API's way out. `POST /api/messages` answers with the bot's reply; everything an HTTP
 * user gets (that reply, a staff reply, a refund decision, a late part) is also streamed by
 * `GET /api/conversations/:id/events`, which reads the conversation's outbound messages from the
 * outbox's table. Without `WEBHOOK_URL` delivering is therefore only making a message visible
 * there; with it, each message is also POSTed to the webhook, signed, and a failed POST throws so
 * that the outbox retries it with backoff.
 */
export function createHttpChannel(config: Config, logger: Logger, options: HttpChannelOptions = {}): ChannelAdapter {
  const webhook =
    config.webhookUrl && config.webhookSecret
      ? new WebhookSender({ url: config.webhookUrl, secret: config.webhookSecret, timeoutMs: options.webhookTimeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs })
      : undefined;
  const log = logger.child({ component: "http-channel" });
  return {
    platform: "http",
    async start() {},
    async stop() {},
    async deliver(message: OutboundReply) {
      if (!webhook) return;
      const m = message;
      const payload: WebhookPayload = {
        conversationId: m.conversationId,
        ...(m.messageId ? { messageId: m.messageId } : {}),
        idempotencyKey: m.idempotencyKey,
        author: m.author,
        text: m.text,
        sections: m.sections,
        ...(m.userId ? { userId: m.userId } : {}),
      };
      await webhook.send(payload);
      log.debug({ conversationId: m.conversationId, idempotencyKey: m.idempotencyKey }, "webhook took the message");
    },
  };
}
