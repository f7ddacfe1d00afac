/**
 * A tiny in-test core for adapter tests: stores submissions, drops duplicates by platform
 * message id, keeps one conversation per conversation key, answers each message (one at a time,
 * in order) and hands the answer to `adapter.deliver` the way the real core will.
 */
import type { ChannelAdapter, MessageSink, SubmitOptions, Submission } from "../../src/ports.ts";
import type { InboundMessage, Outcome, OutboundReply, ReplySection } from "../../src/types.ts";
import { HANG_GUARD_MS } from "./wait-until.ts";

export interface FakeAnswer {
  text: string;
  sections?: ReplySection[];
  author?: OutboundReply["author"];
}

export interface FakeSinkOptions {
  /**
   * The answer to a message; `turn` counts the conversation's messages from 1. Default: an echo.
   * `null`: a person owns the conversation, the outcome is `relayed` and nothing is delivered.
   */
  answer?: (message: InboundMessage, turn: number) => FakeAnswer | string | null;
  /** Make submit() throw (storage down) for the messages this returns true for. */
  failSubmit?: (message: InboundMessage) => boolean;
  /** `false`: accept and store, but answer only on `release()` (a restart in between, say). */
  autoProcess?: boolean;
}

interface Stored {
  message: InboundMessage;
  messageId: string;
  conversationId: string;
  turn: number;
}

export interface FakeDiscordSink {
  sink: MessageSink;
  /** The adapter whose `deliver` answers go to; can be swapped (a restarted adapter). */
  attach(adapter: ChannelAdapter): void;
  /** Every submit() call, duplicates included. */
  submissions: InboundMessage[];
  /** Stored (non-duplicate) messages. */
  accepted: InboundMessage[];
  deliveries: OutboundReply[];
  /** Errors thrown by `adapter.deliver`. */
  deliveryErrors: unknown[];
  conversationIdOf(conversationKey: string): string | undefined;
  /** Answers messages held back by `autoProcess: false`. */
  release(): Promise<void>;
  /** Resolves when a submit() call matching the predicate has been made (already made counts). */
  waitForSubmission(predicate: (message: InboundMessage) => boolean, timeoutMs?: number): Promise<InboundMessage>;
}

export function createFakeDiscordSink(options: FakeSinkOptions = {}): FakeDiscordSink {
  const answer = options.answer ?? ((m: InboundMessage, turn: number) => `Answer ${turn} to: ${m.text}`);
  const byPlatformId = new Map<string, Stored>();
  const conversations = new Map<string, { id: string; turns: number }>();
  const held: Array<{ stored: Stored; settle: (p: Promise<Outcome>) => void }> = [];
  const submissions: InboundMessage[] = [];
  const accepted: InboundMessage[] = [];
  const deliveries: OutboundReply[] = [];
  const deliveryErrors: unknown[] = [];
  const waiters: Array<{ predicate: (m: InboundMessage) => boolean; resolve: (m: InboundMessage) => void }> = [];
  let adapter: ChannelAdapter | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  let nextId = 0;

  async function process(stored: Stored): Promise<Outcome> {
    if (!adapter) throw new Error("fake sink: no adapter attached");
    const result = answer(stored.message, stored.turn);
    if (result === null) {
      return { kind: "relayed", conversationId: stored.conversationId, messageId: stored.messageId, handoffId: "handoff-1" };
    }
    const reply = typeof result === "string" ? { text: result } : result;
    const outbound: OutboundReply = {
      platform: stored.message.platform,
      conversationKey: stored.message.conversationKey,
      conversationId: stored.conversationId,
      text: reply.text,
      sections: reply.sections ?? [],
      author: reply.author ?? { kind: "bot" },
      ...(stored.message.replyContext ? { replyContext: stored.message.replyContext } : {}),
      idempotencyKey: `reply:${stored.messageId}`,
    };
    try {
      await adapter.deliver(outbound);
    } catch (err) {
      deliveryErrors.push(err);
      throw err;
    }
    deliveries.push(outbound);
    return {
      kind: "reply",
      conversationId: stored.conversationId,
      messageId: stored.messageId,
      text: reply.text,
      sections: outbound.sections,
      routes: [{ route: "faq", confidence: 0.9 }],
      handoff: null,
      engine: "fake",
      latencyMs: 1,
    };
  }

  /** One message at a time, in order, like the real inbox. */
  function enqueue(stored: Stored): Promise<Outcome> {
    const done = queue.then(() => process(stored));
    queue = done.catch(() => undefined);
    return done;
  }

  const sink: MessageSink = {
    async submit(message: InboundMessage, submitOptions: SubmitOptions = {}): Promise<Submission> {
      submissions.push(message);
      for (const waiter of waiters.filter((w) => w.predicate(message))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
      if (options.failSubmit?.(message)) throw new Error("fake sink: storage unavailable");
      const existing = byPlatformId.get(`${message.platform}:${message.platformMessageId}`);
      if (existing) {
        return { status: "duplicate", messageId: existing.messageId, conversationId: existing.conversationId };
      }
      let conversation = conversations.get(message.conversationKey);
      if (!conversation) {
        conversation = { id: `conv-${conversations.size + 1}`, turns: 0 };
        conversations.set(message.conversationKey, conversation);
      }
      conversation.turns++;
      // A stored copy: the real core keeps the message as JSON in the database.
      const copy = JSON.parse(JSON.stringify(message)) as InboundMessage;
      // As the intake does: a context built from the text as stored replaces the one the message carries.
      if (submitOptions.replyContext) copy.replyContext = submitOptions.replyContext(copy.text);
      const stored: Stored = { message: copy, messageId: `msg-${++nextId}`, conversationId: conversation.id, turn: conversation.turns };
      byPlatformId.set(`${message.platform}:${message.platformMessageId}`, stored);
      accepted.push(message);
      let done: Promise<Outcome>;
      if (options.autoProcess === false) {
        done = new Promise<Outcome>((resolve, reject) => {
          held.push({ stored, settle: (p) => p.then(resolve, reject) });
        });
      } else {
        done = enqueue(stored);
      }
      return { status: "accepted", messageId: stored.messageId, conversationId: stored.conversationId, done };
    },
  };

  return {
    sink,
    attach(a) {
      adapter = a;
    },
    submissions,
    accepted,
    deliveries,
    deliveryErrors,
    conversationIdOf: (key) => conversations.get(key)?.id,
    waitForSubmission(predicate, timeoutMs = HANG_GUARD_MS) {
      const found = submissions.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("fake sink: timed out waiting for a submission")), timeoutMs);
        waiters.push({
          predicate,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    async release() {
      const batch = held.splice(0);
      await Promise.allSettled(
        batch.map(({ stored, settle }) => {
          const done = enqueue(stored);
          settle(done);
          return done;
        }),
      );
    },
  };
}
