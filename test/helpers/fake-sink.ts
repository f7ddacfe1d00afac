import type { ChannelAdapter, MessageSink, Submission } from "../../src/ports.ts";
import type { InboundMessage, Outcome, OutboundReply, ReplySection } from "../../src/types.ts";
import { Changes } from "./wait-until.ts";

/** What the fake core answers to one message; `undefined` means "ignored". */
export interface FakeAnswer {
  text: string;
  sections?: ReplySection[];
  author?: OutboundReply["author"];
}

export interface StoredMessage {
  messageId: string;
  conversationId: string;
  message: InboundMessage;
}

export interface FakeSinkOptions {
  /** The reply to each message. Default: "Answer to: <text>" with no sections. */
  answer?: (message: InboundMessage, stored: StoredMessage) => FakeAnswer | undefined;
}

/**
 * A tiny in-test core for platform adapter tests: stores what `submit` gets, drops duplicates by
 * platform + platform message id (as the inbox does), then processes each conversation's messages
 * one at a time and hands the reply to the adapter's `deliver`, the way the real core will.
 * Everything is recorded; `waitFor…` resolve when the record changes, so tests never sleep.
 */
export class FakeSink implements MessageSink {
  /** Every `submit` call, duplicates included, in arrival order. */
  readonly attempts: InboundMessage[] = [];
  /** Accepted (stored) messages. */
  readonly stored: StoredMessage[] = [];
  /** Submissions answered `duplicate`. */
  readonly duplicates: InboundMessage[] = [];
  /** Replies handed to the adapter, once `deliver` resolved. */
  readonly deliveries: OutboundReply[] = [];
  readonly outcomes: Outcome[] = [];
  readonly deliveryErrors: unknown[] = [];

  readonly #answer: NonNullable<FakeSinkOptions["answer"]>;
  readonly #seen = new Map<string, StoredMessage>();
  readonly #conversations = new Map<string, string>();
  readonly #chains = new Map<string, Promise<unknown>>();
  readonly #changes = new Changes();
  #adapter: Pick<ChannelAdapter, "deliver"> | undefined;
  #hold: Promise<void> | undefined;

  constructor(options: FakeSinkOptions = {}) {
    this.#answer = options.answer ?? ((m) => ({ text: `Answer to: ${m.text}` }));
  }

  /** The adapter whose `deliver` receives the replies. */
  connect(adapter: Pick<ChannelAdapter, "deliver">): this {
    this.#adapter = adapter;
    return this;
  }

  /** Makes `submit` wait (a slow database) until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      this.#hold = undefined;
      release();
    };
  }

  async submit(message: InboundMessage): Promise<Submission> {
    this.attempts.push(message);
    this.#changes.notify();
    if (this.#hold) await this.#hold;

    const dedupeKey = `${message.platform}:${message.platformMessageId}`;
    const seen = this.#seen.get(dedupeKey);
    if (seen) {
      this.duplicates.push(message);
      this.#changes.notify();
      return { status: "duplicate", messageId: seen.messageId, conversationId: seen.conversationId };
    }
    const conversationId = this.conversationId(message.platform, message.conversationKey);
    const stored: StoredMessage = { messageId: `msg-${this.stored.length + 1}`, conversationId, message };
    this.#seen.set(dedupeKey, stored);
    this.stored.push(stored);
    this.#changes.notify();

    // One conversation at a time, in order; different conversations run concurrently.
    const previous = this.#chains.get(conversationId) ?? Promise.resolve();
    const done = previous.catch(() => undefined).then(() => this.#process(stored));
    this.#chains.set(conversationId, done);
    return { status: "accepted", messageId: stored.messageId, conversationId, done };
  }

  /** The conversation id for a key (created on first sight, stable afterwards). */
  conversationId(platform: string, conversationKey: string): string {
    const key = `${platform}:${conversationKey}`;
    let id = this.#conversations.get(key);
    if (id === undefined) {
      id = `conv-${this.#conversations.size + 1}`;
      this.#conversations.set(key, id);
    }
    return id;
  }

  async #process(stored: StoredMessage): Promise<Outcome> {
    const { message, messageId, conversationId } = stored;
    const answer = this.#answer(message, stored);
    if (answer === undefined) {
      const outcome: Outcome = { kind: "ignored", reason: "fake sink: no answer" };
      this.outcomes.push(outcome);
      this.#changes.notify();
      return outcome;
    }
    const sections = answer.sections ?? [];
    const reply: OutboundReply = {
      platform: message.platform,
      conversationKey: message.conversationKey,
      conversationId,
      text: answer.text,
      sections,
      author: answer.author ?? { kind: "bot" },
      idempotencyKey: `reply:${messageId}`,
    };
    if (message.replyContext !== undefined) reply.replyContext = message.replyContext;
    try {
      if (!this.#adapter) throw new Error("FakeSink: connect(adapter) before submitting");
      await this.#adapter.deliver(reply);
      this.deliveries.push(reply);
    } catch (err) {
      this.deliveryErrors.push(err);
      this.#changes.notify();
      throw err;
    }
    const outcome: Outcome = {
      kind: "reply",
      conversationId,
      messageId,
      text: answer.text,
      sections,
      routes: sections.map((s) => ({ route: s.route, confidence: 0.9 })),
      handoff: null,
      engine: "fake",
      latencyMs: 0,
    };
    this.outcomes.push(outcome);
    this.#changes.notify();
    return outcome;
  }

  waitForAttempts(count: number): Promise<InboundMessage[]> {
    return this.#changes.until(() => this.attempts.length >= count && this.attempts, `${count} submit call(s)`);
  }

  waitForStored(predicate: (m: StoredMessage) => boolean, what = "a stored message"): Promise<StoredMessage> {
    return this.#changes.until(() => this.stored.find(predicate), what);
  }

  waitForDelivery(predicate: (r: OutboundReply) => boolean, what = "a delivered reply"): Promise<OutboundReply> {
    return this.#changes.until(() => this.deliveries.find(predicate), what);
  }

  storedFor(conversationKey: string): StoredMessage[] {
    return this.stored.filter((s) => s.message.conversationKey === conversationKey);
  }
}
