import type { ChannelAdapter, MessageSink, SubmitOptions, Submission } from "../../src/ports.ts";
import { DeliveryRefused } from "../../src/outbox/delivery-refused.ts";
import type { InboundMessage, Outcome, OutboundReply, ReplySection } from "../../src/types.ts";
import { Changes } from "../helpers/wait-until.ts";

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

export interface FakeCoreOptions {
  /** The reply to each message. Default: "Answer to: <text>" with no sections. */
  answer?: (message: InboundMessage, stored: StoredMessage) => FakeAnswer | undefined;
}

/**
 * A tiny in-test core for the Slack adapter's tests, keeping the promises the real one makes
 * (src/inbox/intake.ts, src/outbox/outbox.ts): messages are stored (duplicates dropped by platform
 * message id); a `questionPost` submission records a `question_post` delivered before the answer;
 * each conversation's messages go to `deliver` one at a time, in order; a delivery's `moveTo`
 * rewrites the conversation's key and the answered message's reply context; a refused delivery
 * is given up and the next one still goes. Everything is recorded; `waitFor…` resolve when the
 * record changes, so tests never sleep.
 */
export class FakeCore implements MessageSink {
  /** Every `submit` call, duplicates included, in arrival order. */
  readonly attempts: InboundMessage[] = [];
  /** Accepted (stored) messages; `message.replyContext` as the core has it now. */
  readonly stored: StoredMessage[] = [];
  /** Submissions answered `duplicate`. */
  readonly duplicates: InboundMessage[] = [];
  /** Everything handed to `deliver` that it took (question posts and replies), in order. */
  readonly deliveries: OutboundReply[] = [];
  readonly outcomes: Outcome[] = [];
  readonly deliveryErrors: unknown[] = [];

  readonly #answer: NonNullable<FakeCoreOptions["answer"]>;
  readonly #seen = new Map<string, StoredMessage>();
  /** Conversation id → its key now, and back. */
  readonly #keys = new Map<string, string>();
  readonly #ids = new Map<string, string>();
  readonly #chains = new Map<string, Promise<unknown>>();
  readonly #changes = new Changes();
  #adapter: Pick<ChannelAdapter, "deliver"> | undefined;
  #hold: Promise<void> | undefined;

  constructor(options: FakeCoreOptions = {}) {
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

  async submit(message: InboundMessage, options: SubmitOptions = {}): Promise<Submission> {
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
    const stored: StoredMessage = { messageId: `msg-${this.stored.length + 1}`, conversationId, message: { ...message } };
    this.#seen.set(dedupeKey, stored);
    this.stored.push(stored);
    this.#changes.notify();

    const previous = this.#chains.get(conversationId) ?? Promise.resolve();
    const done = previous.catch(() => undefined).then(async () => {
      if (options.questionPost) await this.#deliver(stored, { text: stored.message.text }, "question_post").catch(() => undefined);
      return this.#process(stored);
    });
    this.#chains.set(conversationId, done);
    return { status: "accepted", messageId: stored.messageId, conversationId, done };
  }

  /** The conversation id for a key (created on first sight, stable afterwards, found under its new key after a move). */
  conversationId(platform: string, conversationKey: string): string {
    const key = `${platform}:${conversationKey}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = `conv-${this.#ids.size + 1}`;
      this.#ids.set(key, id);
      this.#keys.set(id, conversationKey);
    }
    return id;
  }

  /** Stored messages of the conversation that is under this key now. */
  storedFor(conversationKey: string): StoredMessage[] {
    return this.stored.filter((s) => this.#keys.get(s.conversationId) === conversationKey);
  }

  /** The key a conversation is under now. */
  keyOf(conversationId: string): string | undefined {
    return this.#keys.get(conversationId);
  }

  async #deliver(stored: StoredMessage, answer: FakeAnswer, kind: "message" | "question_post"): Promise<OutboundReply> {
    const { message, messageId, conversationId } = stored;
    const reply: OutboundReply = {
      platform: message.platform,
      conversationKey: this.#keys.get(conversationId) ?? message.conversationKey,
      conversationId,
      text: answer.text,
      sections: answer.sections ?? [],
      author: answer.author ?? { kind: "bot" },
      idempotencyKey: kind === "question_post" ? `question:${messageId}` : `reply:${messageId}`,
      kind,
    };
    if (message.replyContext !== undefined) reply.replyContext = message.replyContext;
    try {
      if (!this.#adapter) throw new Error("FakeCore: connect(adapter) before submitting");
      const result = await this.#adapter.deliver(reply);
      if (result?.moveTo) {
        // As the outbox does, with marking it sent: the conversation lives in the new place.
        const old = this.#keys.get(conversationId);
        if (old !== undefined) this.#ids.delete(`${message.platform}:${old}`);
        this.#keys.set(conversationId, result.moveTo.conversationKey);
        this.#ids.set(`${message.platform}:${result.moveTo.conversationKey}`, conversationId);
        stored.message.replyContext = result.moveTo.replyContext;
      }
      this.deliveries.push(reply);
      this.#changes.notify();
      return reply;
    } catch (err) {
      this.deliveryErrors.push(err);
      this.#changes.notify();
      throw err;
    }
  }

  async #process(stored: StoredMessage): Promise<Outcome> {
    const { message, messageId, conversationId } = stored;
    const answer = this.#answer(message, stored);
    if (answer === undefined) {
      const outcome: Outcome = { kind: "ignored", reason: "fake core: no answer" };
      this.outcomes.push(outcome);
      this.#changes.notify();
      return outcome;
    }
    try {
      await this.#deliver(stored, answer, "message");
    } catch (err) {
      // A refused delivery is given up (the real outbox marks it failed); others would be retried.
      if (!(err instanceof DeliveryRefused)) throw err;
    }
    const sections = answer.sections ?? [];
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

  /** A reply (not a question post) that `deliver` took. */
  waitForDelivery(predicate: (r: OutboundReply) => boolean, what = "a delivered reply"): Promise<OutboundReply> {
    return this.#changes.until(() => this.deliveries.find((r) => r.kind !== "question_post" && predicate(r)), what);
  }

  /** Resolves once `deliver` took this many (question posts and replies together). */
  waitForDeliveries(count: number): Promise<OutboundReply[]> {
    return this.#changes.until(() => this.deliveries.length >= count && this.deliveries, `${count} deliveries`);
  }

  waitForDeliveryError(what = "a failed delivery"): Promise<unknown> {
    return this.#changes.until(() => this.deliveryErrors[0], what);
  }
}
