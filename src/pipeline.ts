import type { ChannelAdapter, MessageSink, Submission } from "../bots/adapter.ts";
import type { SupervisorStateType, Turn } from "../agents/supervisor/state.ts";
import { HANDOFF_TEXT } from "../agents/supervisor/routing.ts";
import type { ConversationLog, MessageRow } from "./conversations/conversation-log.ts";
import { InputError, errorMessage } from "./errors.ts";
import type { HandoffStore } from "./handoffs/handoff-store.ts";
import type { Inbox } from "./inbox/inbox.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import { MAX_MESSAGE_CHARS, type HandoffInfo, type InboundMessage, type Outcome, type Platform, type ReplySection } from "./types.ts";

/** The compiled supervisor, as the pipeline uses it. */
export interface SupervisorRunnable {
  invoke(input: { turn: Turn }, config: { configurable: { thread_id: string } }): Promise<SupervisorStateType>;
}

export interface PipelineOptions {
  log: ConversationLog;
  handoffs: HandoffStore;
  supervisor: SupervisorRunnable;
  inbox: Inbox;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The path of a message after its adapter: store (deduped) → inbox (one at a time per
 * conversation) → supervisor graph → log routing, worker runs and handoff → reply through the
 * adapter that brought it. Implements the adapters' `MessageSink`.
 */
export class Pipeline implements MessageSink {
  private readonly adapters = new Map<Platform, ChannelAdapter>();
  private readonly logger: Logger;

  constructor(private readonly o: PipelineOptions) {
    this.logger = o.logger.child({ component: "pipeline" });
  }

  /** Replies to messages from this platform go out through this adapter. */
  attach(adapter: ChannelAdapter): void {
    this.adapters.set(adapter.platform, adapter);
  }

  async submit(message: InboundMessage): Promise<Submission> {
    const text = message.text.trim();
    if (!text) throw new InputError("empty_text", "The message text is empty: write a question.");
    if (text.length > MAX_MESSAGE_CHARS) {
      throw new InputError("text_too_long", `The message is ${text.length} characters; the limit is ${MAX_MESSAGE_CHARS}. Shorten it or split it.`);
    }
    const received = await this.o.log.receive({ ...message, text });
    const conversationId = received.conversation.id;
    if (received.status === "duplicate") {
      this.o.metrics.messages.inc({ platform: message.platform, outcome: "duplicate" });
      this.logger.info({ conversationId, platform: message.platform }, "duplicate delivery dropped");
      return { status: "duplicate", messageId: received.messageId, conversationId };
    }
    const done = this.enqueue(conversationId, received.messageId);
    // `done` is also awaited by callers that want the outcome; this keeps an unobserved failure from crashing the process.
    done.catch(() => {});
    return { status: "accepted", messageId: received.messageId, conversationId, done };
  }

  /** Queues messages a crash left unfinished. Call once at start, before adapters start. */
  async recover(): Promise<number> {
    const pending = await this.o.log.unfinishedMessages();
    for (const m of pending) void this.enqueue(m.conversationId, m.id).catch(() => {});
    if (pending.length) this.logger.info({ count: pending.length }, "re-queued messages left unfinished");
    return pending.length;
  }

  private enqueue(conversationId: string, messageId: string): Promise<Outcome> {
    const done = this.o.inbox.enqueue(conversationId, () => this.process(messageId));
    this.o.metrics.inboxDepth.set(this.o.inbox.depth);
    return done;
  }

  private async process(messageId: string): Promise<Outcome> {
    const message = await this.o.log.getMessage(messageId);
    if (!message) return { kind: "ignored", reason: "message not found" };
    const conversation = await this.o.log.getConversation(message.conversationId);
    if (!conversation) return { kind: "ignored", reason: "conversation not found" };
    const started = Date.now();
    const log = this.logger.child({ conversationId: conversation.id, messageId, platform: conversation.platform });
    await this.o.log.setMessageStatus(messageId, "processing");

    const customerId = await this.o.log.linkedCustomer(message.platform, message.authorId ?? conversation.userId);
    const turn: Turn = {
      messageId,
      text: message.text,
      caller: { platform: message.platform, userId: message.authorId ?? conversation.userId, customerId: customerId ?? null, conversationId: conversation.id },
      ownership: conversation.status,
      unclearStreak: conversation.unclearStreak,
    };

    let state: SupervisorStateType;
    try {
      state = await this.o.supervisor.invoke({ turn }, { configurable: { thread_id: conversation.id } });
    } catch (err) {
      // Fail safe: a person, never a silent error.
      log.error({ err: errorMessage(err) }, "supervisor failed; handing off");
      this.o.metrics.errors.inc({ stage: "supervisor" });
      const handoff = await this.openHandoff(conversation.id, messageId, "model_failed", errorMessage(err));
      const text = HANDOFF_TEXT.model_failed;
      await this.reply(message, conversation.platform, conversation.conversationKey, text, []);
      await this.o.log.setMessageStatus(messageId, "failed", errorMessage(err));
      this.o.metrics.messages.inc({ platform: conversation.platform, outcome: "failed" });
      return { kind: "reply", conversationId: conversation.id, messageId, text, sections: [], routes: [], handoff, engine: "none", latencyMs: Date.now() - started };
    }

    if (!state.answered) {
      await this.o.log.setMessageStatus(messageId, "done");
      this.o.metrics.messages.inc({ platform: conversation.platform, outcome: "relayed" });
      const open = await this.o.handoffs.openFor(conversation.id);
      log.info({ owner: conversation.status }, "a person owns this conversation; the bot stays silent");
      return { kind: "relayed", conversationId: conversation.id, messageId, handoffId: open?.id ?? null };
    }

    if (state.decision) {
      await this.o.log.recordRouting(messageId, state.decision);
      this.o.metrics.routingLatency.observe({ engine: state.decision.engine }, state.decision.latencyMs / 1000);
      for (const r of state.decision.routes) this.o.metrics.routes.inc({ route: r.route, engine: state.decision.engine });
    }
    for (const run of state.results) {
      await this.o.log.recordWorkerRun(messageId, {
        worker: run.worker,
        question: run.question,
        status: run.status,
        reply: run.reply || null,
        sources: run.sources,
        toolCalls: run.toolCalls,
        error: run.error ?? null,
        latencyMs: run.latencyMs,
      });
      this.o.metrics.workerLatency.observe({ worker: run.worker, status: run.status }, run.latencyMs / 1000);
      if (run.status === "failed" || run.status === "timeout") this.o.metrics.errors.inc({ stage: `worker:${run.worker}` });
    }
    await this.o.log.setUnclearStreak(conversation.id, state.unclearStreak);
    const handoff = state.handoff ? await this.openHandoff(conversation.id, messageId, state.handoff.reason, state.handoff.detail) : null;

    const reply = state.reply ?? { text: "", sections: [], footer: "" };
    await this.reply(message, conversation.platform, conversation.conversationKey, reply.text, reply.sections, reply.footer);
    await this.o.log.setMessageStatus(messageId, "done");
    const latencyMs = Date.now() - started;
    this.o.metrics.messages.inc({ platform: conversation.platform, outcome: handoff ? "handoff" : "reply" });
    this.o.metrics.replyLatency.observe(latencyMs / 1000);
    log.info(
      { routes: state.decision?.routes.map((r) => r.route), engine: state.decision?.engine, handoff: handoff?.reason ?? null, latencyMs },
      "answered",
    );
    return {
      kind: "reply",
      conversationId: conversation.id,
      messageId,
      text: reply.text,
      sections: reply.sections,
      routes: state.decision?.routes.map((r) => ({ route: r.route, confidence: r.confidence })) ?? [],
      handoff,
      engine: state.decision?.engine ?? "none",
      latencyMs,
    };
  }

  private async openHandoff(conversationId: string, messageId: string, reason: HandoffInfo["reason"], detail: string): Promise<HandoffInfo> {
    const { handoff, created } = await this.o.handoffs.open(conversationId, messageId, reason, detail);
    if (created) this.o.metrics.handoffs.inc({ reason });
    return { id: handoff.id, reason: handoff.reason, detail: handoff.detail };
  }

  /**
   * Records the reply under an idempotency key, then sends it through the platform's adapter.
   * A retried message whose reply was already sent is not sent again. HTTP and CLI callers get
   * the reply from the outcome instead.
   */
  private async reply(inbound: MessageRow, platform: Platform, conversationKey: string, text: string, sections: ReplySection[], footer = ""): Promise<void> {
    const idempotencyKey = `reply:${inbound.id}`;
    const out = await this.o.log.recordOutbound({ conversationId: inbound.conversationId, inReplyTo: inbound.id, text, author: { kind: "bot" }, platform, idempotencyKey });
    const adapter = this.adapters.get(platform);
    if (!adapter) {
      await this.o.log.markOutbound(out.id, "sent");
      return;
    }
    if (!out.created) {
      const existing = await this.o.log.getMessage(out.id);
      if (existing?.status === "sent") return;
    }
    try {
      await adapter.deliver({
        platform,
        conversationKey,
        conversationId: inbound.conversationId,
        text,
        sections,
        ...(footer ? { footer } : {}),
        author: { kind: "bot" },
        ...(inbound.replyContext ? { replyContext: inbound.replyContext } : {}),
        idempotencyKey,
      });
      await this.o.log.markOutbound(out.id, "sent");
    } catch (err) {
      this.o.metrics.errors.inc({ stage: `deliver:${platform}` });
      await this.o.log.markOutbound(out.id, "failed", errorMessage(err));
      throw err;
    }
  }
}
