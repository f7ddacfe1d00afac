import type { ChannelAdapter } from "../../src/ports.ts";
import type { OutboundReply } from "../../src/types.ts";

/**
 * The terminal's way out: `switchboard chat` prints messages that arrive after its question was
 * answered (a staff reply, say) with `print`; `ask` prints its reply from the outcome itself.
 */
export function createCliChannel(print?: (message: OutboundReply) => void): ChannelAdapter {
  return {
    platform: "cli",
    async start() {},
    async stop() {},
    async deliver(message) {
      print?.(message);
    },
  };
}
