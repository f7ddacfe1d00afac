import type { ConversationLog, ReceiveHooks } from "../conversations/conversation-log.ts";
import { InputError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import type { Outbox } from "../outbox/outbox.ts";
import { CHAT_PLATFORMS, type MessageSink, type SubmitOptions, type Submission } from "../ports.ts";
import { MAX_MESSAGE_CHARS, type InboundMessage } from "../types.ts";
import type { JobQueue, MessageJob } from "./job-queue.ts";
import type { OutcomeWaiter } from "./outcome-waiter.ts";
import type { Redactor } from "./redact.ts";

export interface IntakeOptions {
  log: ConversationLog;
  queue: JobQueue;
  outbox: Outbox;
  outcomes: OutcomeWaiter;
  logger: Logger;
  metrics: Metrics;
  /**
   * Removes secrets, card numbers, IBANs, passwords (and, as configured, contact details) from
   * the text before anything keeps it: the stored message is the only copy there is.
   */
  redactor: Redactor;
  /**
   * Whether this process may queue the messages a crash left unfinished. False for a process that
   * only connected to another one's embedded database (`ask` beside `serve`): that one answers them.
   */
  recovers?: boolean;
}

/**
 * The way in (the adapters' `MessageSink`): checks the text, redacts it (redact.ts), stores the
 * message with its job in one transaction (duplicates dropped by platform message id), and
 * returns as soon as it is durable, so the adapter can acknowledge the platform. The turn
 * runner answers it from the queue.
 */
export class Intake implements MessageSink {
  readonly #o: IntakeOptions;
  readonly #log: Logger;

  constructor(options: IntakeOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "intake" });
  }

  async submit(message: InboundMessage, options: SubmitOptions = {}): Promise<Submission> {
    const text = message.text.trim();
    if (!text) throw new InputError("empty_text", "The message text is empty: write a question.");
    if (text.length > MAX_MESSAGE_CHARS) {
      throw new InputError("text_too_long", `The message is ${text.length} characters; the limit is ${MAX_MESSAGE_CHARS}. Shorten it or split it.`);
    }
    // Redact first: everything after this (the row, the job, the graph and its checkpoints, the
    // question post, staff cards, logs, model prompts) only ever sees the redacted text.
    const redacted = await this.#o.redactor.redact(text);
    if (redacted.removed.length > 0) {
      this.#log.info({ platform: message.platform, removed: redacted.removed }, "removed from a message before storing it");
    }
    const toStore: InboundMessage = { ...message, text: redacted.text };
    if (options.replyContext) toStore.replyContext = options.replyContext(redacted.text);
    let questionPost: string | undefined;
    // Store, then acknowledge: the message, its job (and the question post) commit together.
    // With nothing to write beside it, or only its job where the queue can add it in the same
    // statement, the message is stored in one statement.
    const queue = this.#o.queue;
    let hooks: ReceiveHooks = {};
    if (queue.addWrites && !options.questionPost && queue.addPart) hooks = { part: queue.addPart(message.platform) };
    else if (queue.addWrites || options.questionPost) {
      hooks = {
        onAccepted: async (tx, stored) => {
          await queue.add(tx, { ...stored, platform: message.platform });
          if (options.questionPost) {
            const post = await this.#o.outbox.record(
              { conversationId: stored.conversationId, inReplyTo: stored.messageId, author: { kind: "bot" }, text: redacted.text, idempotencyKey: `question:${stored.messageId}`, kind: "question_post" },
              tx,
            );
            questionPost = post.id;
          }
        },
      };
    }
    const received = await this.#o.log.receive(toStore, hooks);
    const conversationId = received.conversation.id;
    if (received.status === "duplicate") {
      this.#o.metrics.messages.inc({ platform: message.platform, outcome: "duplicate" });
      this.#log.info({ conversationId, platform: message.platform }, "duplicate delivery dropped");
      return { status: "duplicate", messageId: received.messageId, conversationId };
    }
    const job: MessageJob = { messageId: received.messageId, conversationId, platform: message.platform };
    // Waited for (and its outcome read back from another process's worker) only when asked for.
    const done = this.#o.outcomes.later(job.messageId, conversationId);
    // The question post goes out while the message is answered (the adapter holds it until it acknowledged the platform).
    if (questionPost) {
      void this.#o.outbox.deliver(questionPost).catch((err: unknown) => this.#log.warn({ conversationId, err: errorMessage(err) }, "question post not delivered yet"));
    }
    this.#o.queue.added(job);
    return { status: "accepted", messageId: received.messageId, conversationId, done };
  }

  /**
   * Queues messages a crash left unfinished (a message that still has its job keeps it). Call at
   * start, after attaching adapters. The in-process queue takes only messages this process can
   * answer; the shared queue takes all (some worker can).
   */
  async recover(): Promise<number> {
    if (this.#o.recovers === false) return 0;
    const here = this.#o.outbox.platforms();
    const skip = new Set(CHAT_PLATFORMS.filter((p) => !here.includes(p)));
    const pending = (await this.#o.log.unfinishedMessages()).filter((m) => this.#o.queue.kind !== "memory" || !skip.has(m.platform));
    const queued = await this.#o.queue.recover(pending.map((m) => ({ messageId: m.id, conversationId: m.conversationId, platform: m.platform })));
    if (queued) this.#log.info({ count: queued }, "queued messages left unfinished");
    return queued;
  }
}
