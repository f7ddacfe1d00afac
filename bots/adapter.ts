import type { InboundMessage, Outcome, OutboundReply, Platform } from "../src/types.ts";

/**
 * What an adapter may ask of the core. The core knows no platform; the adapter knows no routing.
 */
export interface MessageSink {
  /**
   * Stores the message (dropping duplicates by platform message id) and queues it for processing.
   * Resolves as soon as the message is durable, so the adapter can acknowledge the platform at
   * once. `done` settles when the message has been processed; adapters that deliver through
   * `ChannelAdapter.deliver` need not wait for it.
   */
  submit(message: InboundMessage): Promise<Submission>;
}

export type Submission =
  | { status: "accepted"; messageId: string; conversationId: string; done: Promise<Outcome> }
  | { status: "duplicate"; messageId: string; conversationId: string };

/**
 * One small port per platform (like Bolt's Receiver): start listening, stop, and deliver a reply
 * the core produced to a conversation on this platform.
 */
export interface ChannelAdapter {
  readonly platform: Platform;
  /** Begin receiving events; every normalized message goes to `sink.submit`. */
  start(sink: MessageSink): Promise<void>;
  stop(): Promise<void>;
  /**
   * Post a reply in the conversation it names (`reply.conversationKey`, `reply.replyContext`).
   * Must be safe to call twice with the same `idempotencyKey` only in the sense that the caller
   * records deliveries; the adapter itself just sends.
   */
  deliver(reply: OutboundReply): Promise<void>;
}
