import type { Config } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import type { ChannelAdapter } from "../../src/ports.ts";
import type { OutboundReply } from "../../src/types.ts";

/**
 * The HTTP API's way out. `POST /api/messages` answers with the bot's reply; everything that
 * comes later (a staff reply, a refund decision, a late part) reaches an HTTP user through
 * `GET /api/conversations/:id/events`, which streams the conversation's outbound messages from
 * the outbox. Delivering one here is therefore only making it visible there.
 */
export function createHttpChannel(_config: Config, _logger: Logger): ChannelAdapter {
  return {
    platform: "http",
    async start() {},
    async stop() {},
    async deliver(_message: OutboundReply) {},
  };
}
