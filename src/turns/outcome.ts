import type { Outcome } from "../types.ts";

type ReplyOutcome = Extract<Outcome, { kind: "reply" }>;

/**
 * The one builder of a message's `Outcome`: the turn runner uses it for what it just did, the
 * outcome waiter for what it reads back from the log (another process answered).
 */
export function replyOutcome(o: Omit<ReplyOutcome, "kind" | "engine"> & { engine: string | null }): ReplyOutcome {
  return {
    kind: "reply",
    conversationId: o.conversationId,
    messageId: o.messageId,
    text: o.text,
    sections: o.sections,
    routes: o.routes.map((r) => ({ route: r.route, confidence: r.confidence })),
    handoff: o.handoff,
    engine: o.engine ?? "none",
    latencyMs: Math.round(o.latencyMs),
  };
}

/** A person owns the conversation: the message went to them and the bot stayed silent. */
export function relayedOutcome(conversationId: string, messageId: string, handoffId: string | null): Extract<Outcome, { kind: "relayed" }> {
  return { kind: "relayed", conversationId, messageId, handoffId };
}

/** What {@link replyKey} puts before the message id (SQL that builds the key itself uses it too). */
export const REPLY_KEY_PREFIX = "reply:";

/** The idempotency key of the bot's reply to an inbound message. */
export function replyKey(messageId: string): string {
  return `${REPLY_KEY_PREFIX}${messageId}`;
}

/** What {@link giveUpKey} puts before the message id. */
export const GIVE_UP_KEY_PREFIX = "giveup:";

/** The idempotency key of the notice sent when answering a message was given up (a person takes over). */
export function giveUpKey(messageId: string): string {
  return `${GIVE_UP_KEY_PREFIX}${messageId}`;
}
