import type { ChannelAdapter, MessageSink, Submission } from "../bots/adapter.ts";
import type { SupervisorStateType, Turn } from "../agents/supervisor/state.ts";
import { HANDOFF_TEXT } from "../agents/supervisor/routing.ts";
import type { ConversationLog, MessageRow, OutboundRow } from "./conversations/conversation-log.ts";
import { AdapterError, InputError, errorMessage } from "./errors.ts";
import type { HandoffStore } from "./handoffs/handoff-store.ts";
import type { Deliverer, HandoffObserver } from "./handoffs/handoff-service.ts";
import type { AttemptLog } from "./inbox/attempt-log.ts";
import type { ConversationLeases } from "./inbox/conversation-leases.ts";
import type { JobAttempt, JobQueue, MessageJob } from "./inbox/job-queue.ts";
import type { OutcomeWaiter } from "./inbox/outcome-waiter.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import { MAX_MESSAGE_CHARS, type HandoffInfo, type InboundMessage, type Outcome, type OutboundReply, type Platform, type ReplySection } from "./types.ts";

/** The compiled supervisor, as the pipeline uses it. */
export interface SupervisorRunnable {
  invoke(input: { turn: Turn }, config: { configurable: { thread_id: string } }): Promise<SupervisorStateType>;
}

export interface PipelineOptions {
  log: ConversationLog;
  handoffs: HandoffStore;
  supervisor: SupervisorRunnable;
  /** The inbox: one job per stored message, a conversation's jobs in series. */
  queue: JobQueue;
  /** Where `Submission.done` comes from, whichever process answers the message. */
  outcomes: OutcomeWaiter;
  /** One holder per conversation at a time, across processes (jobs and `runInConversation`). */
  leases: ConversationLeases;
  attempts: AttemptLog;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The path of a message after its adapter: store (deduped) with its job → inbox (the job queue:
 * one at a time per conversation, any worker process) → supervisor graph → log routing, worker runs and handoff → reply through the
 * adapter that brought it. Implements the adapters' `MessageSink`.
 */
export class Pipeline implements MessageSink, Deliverer {
  private readonly adapters = new Map<Platform, ChannelAdapter>();
  private readonly logger: Logger;
  private handoffObserver: HandoffObserver | undefined;

  constructor(private readonly o: PipelineOptions) {
    this.logger = o.logger.child({ component: "pipeline" });
  }

  /** Replies to messages from this platform go out through this adapter. */
  attach(adapter: ChannelAdapter): void {
    this.adapters.set(adapter.platform, adapter);
  }

  /** Chat platforms whose replies this process cannot send (no adapter attached): a worker here leaves their jobs to others. */
  undeliverablePlatforms(): Platform[] {
    return CHAT_PLATFORMS.filter((p) => !this.adapters.has(p));
  }

  /** Tells the handoff loop about handoffs opened and messages relayed to a person. */
  observeHandoffs(observer: HandoffObserver): void {
    this.handoffObserver = observer;
  }

  async submit(message: InboundMessage): Promise<Submission> {
    const text = message.text.trim();
    if (!text) throw new InputError("empty_text", "The message text is empty: write a question.");
    if (text.length > MAX_MESSAGE_CHARS) {
      throw new InputError("text_too_long", `The message is ${text.length} characters; the limit is ${MAX_MESSAGE_CHARS}. Shorten it or split it.`);
    }
    // Store, then acknowledge: the message and its job commit in one transaction.
    const received = await this.o.log.receive({ ...message, text }, { onAccepted: (tx, stored) => this.o.queue.add(tx, { ...stored, platform: message.platform }) });
    const conversationId = received.conversation.id;
    if (received.status === "duplicate") {
      this.o.metrics.messages.inc({ platform: message.platform, outcome: "duplicate" });
      this.logger.info({ conversationId, platform: message.platform }, "duplicate delivery dropped");
      return { status: "duplicate", messageId: received.messageId, conversationId };
    }
    const job: MessageJob = { messageId: received.messageId, conversationId, platform: message.platform };
    const done = this.o.outcomes.wait(job.messageId, conversationId);
    // `done` is also awaited by callers that want the outcome; this keeps an unobserved failure from crashing the process.
    done.catch(() => {});
    this.o.queue.added(job);
    return { status: "accepted", messageId: received.messageId, conversationId, done };
  }

  /**
   * Queues messages a crash left unfinished (a message that still has its job keeps it). Call at
   * start, after attaching adapters. The in-process queue takes only messages this process can
   * answer; the shared queue takes all (some worker can).
   */
  async recover(): Promise<number> {
    const skip = new Set(this.undeliverablePlatforms());
    const pending = (await this.o.log.unfinishedMessages()).filter((m) => this.o.queue.kind !== "memory" || !skip.has(m.platform));
    const queued = await this.o.queue.recover(pending.map((m) => ({ messageId: m.id, conversationId: m.conversationId, platform: m.platform })));
    if (queued) this.logger.info({ count: queued }, "queued messages left unfinished");
    return queued;
  }

  /**
   * The queue's job handler. Answers the job's message after any earlier message of its
   * conversation still unfinished: while a failed job waits out its backoff, graphile-worker lets
   * the next job of the conversation's queue run, and this keeps the answers in arrival order
   * anyway (the earlier job later finds its message done). Holds the conversation's lease
   * throughout. Throws to have the job retried; on the last attempt a message that still fails
   * goes to a person, with the reason, instead.
   */
  async runJob(job: MessageJob, attempt: JobAttempt): Promise<void> {
    await this.o.leases.run(job.conversationId, async () => {
      for (const messageId of await this.o.log.unfinishedUpTo(job.messageId)) {
        await this.attempt(messageId, job.conversationId, attempt);
      }
    });
  }

  private async attempt(messageId: string, conversationId: string, attempt: JobAttempt): Promise<void> {
    const attemptId = await this.o.attempts.start({ messageId, conversationId, workerId: this.o.queue.workerId ?? "unknown", attempt: attempt.number });
    let outcome: Outcome;
    try {
      outcome = await this.process(messageId, attempt);
      await this.o.attempts.finish(attemptId, "done");
    } catch (err) {
      if (!attempt.final) {
        this.o.metrics.jobRetries.inc();
        this.logger.warn({ conversationId, messageId, attempt: attempt.number, of: attempt.max, err: errorMessage(err) }, "processing failed; retrying after a backoff");
        await this.o.attempts.finish(attemptId, "retry", errorMessage(err)).catch(() => {});
        throw err;
      }
      outcome = await this.giveUp(messageId, err, attempt);
      await this.o.attempts.finish(attemptId, "failed", errorMessage(err));
    }
    this.o.outcomes.settle(messageId, outcome);
  }

  /** The last attempt failed too: a person takes the conversation over, with the reason, and the user is told if the platform lets us. */
  private async giveUp(messageId: string, err: unknown, attempt: JobAttempt): Promise<Outcome> {
    this.o.metrics.jobFailures.inc();
    const message = await this.o.log.getMessage(messageId);
    const conversation = message && (await this.o.log.getConversation(message.conversationId));
    if (!message || !conversation) throw err;
    const log = this.logger.child({ conversationId: conversation.id, messageId, platform: conversation.platform });
    const detail = `Gave up after ${attempt.number} attempt${attempt.number === 1 ? "" : "s"}: ${errorMessage(err)}`;
    log.error({ err: errorMessage(err), attempts: attempt.number }, "processing failed for good; handing the conversation to a person");
    const handoff = await this.openHandoff(conversation.id, messageId, "processing_failed", detail);
    const text = [HANDOFF_TEXT.processing_failed, await this.handoffNotice(handoff)].filter(Boolean).join("\n\n");
    try {
      await this.reply(message, conversation.platform, conversation.conversationKey, text, []);
    } catch (sendErr) {
      log.warn({ err: errorMessage(sendErr) }, "could not tell the user; the handoff is open for the team");
    }
    await this.o.log.setMessageStatus(messageId, "failed", detail);
    this.o.metrics.messages.inc({ platform: conversation.platform, outcome: "failed" });
    this.observeJob(message, "failed");
    return (await this.o.outcomes.read(messageId)) ?? { kind: "reply", conversationId: conversation.id, messageId, text, sections: [], routes: [], handoff, engine: "none", latencyMs: 0 };
  }

  private observeJob(message: MessageRow, result: "answered" | "relayed" | "failed"): void {
    this.o.metrics.jobLatency.observe({ result }, Math.max(0, Date.now() - message.createdAt.getTime()) / 1000);
  }

  private async process(messageId: string, attempt: JobAttempt): Promise<Outcome> {
    const message = await this.o.log.getMessage(messageId);
    if (!message) return { kind: "ignored", reason: "message not found" };
    const conversation = await this.o.log.getConversation(message.conversationId);
    if (!conversation) return { kind: "ignored", reason: "conversation not found" };
    if (message.status === "done" || message.status === "failed") {
      return (await this.o.outcomes.read(messageId)) ?? { kind: "ignored", reason: "already processed" };
    }
    const started = Date.now();
    const log = this.logger.child({ conversationId: conversation.id, messageId, platform: conversation.platform });
    // An earlier attempt recorded the reply, then crashed or could not send it: send that reply;
    // do not answer again (the graph ran, its tools acted, its memory has the turn).
    const recorded = await this.o.log.findOutbound(replyKey(messageId));
    if (recorded) {
      await this.deliverRecorded(message, conversation.platform, conversation.conversationKey, recorded);
      await this.o.log.setMessageStatus(messageId, "done");
      this.observeJob(message, "answered");
      log.info({ attempt: attempt.number }, "delivered the reply an earlier attempt recorded");
      return (await this.o.outcomes.read(messageId)) ?? { kind: "ignored", reason: "reply not readable" };
    }
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
      this.o.metrics.errors.inc({ stage: "supervisor" });
      // The queue retries it after a backoff (a model or database hiccup).
      if (!attempt.final) throw err;
      // Fail safe: a person, never a silent error.
      log.error({ err: errorMessage(err), attempts: attempt.number }, "supervisor failed; handing off");
      const handoff = await this.openHandoff(conversation.id, messageId, "model_failed", errorMessage(err));
      const text = [HANDOFF_TEXT.model_failed, await this.handoffNotice(handoff)].filter(Boolean).join("\n\n");
      await this.reply(message, conversation.platform, conversation.conversationKey, text, []);
      await this.o.log.setMessageStatus(messageId, "failed", errorMessage(err));
      this.o.metrics.messages.inc({ platform: conversation.platform, outcome: "failed" });
      this.observeJob(message, "failed");
      return { kind: "reply", conversationId: conversation.id, messageId, text, sections: [], routes: [], handoff, engine: "none", latencyMs: Date.now() - started };
    }

    if (!state.answered) {
      await this.o.log.setMessageStatus(messageId, "done");
      this.o.metrics.messages.inc({ platform: conversation.platform, outcome: "relayed" });
      this.observeJob(message, "relayed");
      const open = await this.o.handoffs.openFor(conversation.id);
      if (open) this.handoffObserver?.relayed({ handoffId: open.id, conversationId: conversation.id, messageId, text: message.text });
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
        engine: run.engine,
      });
      this.o.metrics.workerLatency.observe({ worker: run.worker, status: run.status }, run.latencyMs / 1000);
      if (run.status === "failed" || run.status === "timeout") this.o.metrics.errors.inc({ stage: `worker:${run.worker}` });
    }
    await this.o.log.setUnclearStreak(conversation.id, state.unclearStreak);
    const handoff = state.handoff ? await this.openHandoff(conversation.id, messageId, state.handoff.reason, state.handoff.detail) : null;

    const merged = state.reply ?? { text: "", sections: [], footer: "" };
    const notice = await this.handoffNotice(handoff);
    const reply = notice ? { ...merged, text: `${merged.text}\n\n${notice}`, footer: [merged.footer, notice].filter(Boolean).join("\n\n") } : merged;
    await this.reply(message, conversation.platform, conversation.conversationKey, reply.text, reply.sections, reply.footer);
    await this.o.log.setMessageStatus(messageId, "done");
    this.observeJob(message, "answered");
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
    if (created) this.handoffObserver?.opened({ id: handoff.id, reason: handoff.reason, detail: handoff.detail, conversationId });
    return { id: handoff.id, reason: handoff.reason, detail: handoff.detail };
  }

  /** When a person will reply (expected wait, support hours), from the handoff loop; null without one. */
  private async handoffNotice(handoff: HandoffInfo | null): Promise<string | null> {
    if (!handoff || !this.handoffObserver) return null;
    try {
      return await this.handoffObserver.notice(handoff);
    } catch (err) {
      this.logger.warn({ handoffId: handoff.id, err: errorMessage(err) }, "could not tell the user the expected wait");
      return null;
    }
  }

  /**
   * Sends a message that answers no single inbound message (a support agent's reply) to the
   * conversation on its own platform, recorded under `idempotencyKey`: a key already sent is not
   * sent again (`sent: false`). It goes where the user's latest message would have been answered.
   */
  async deliverToConversation(conversationId: string, text: string, author: OutboundReply["author"], idempotencyKey: string): Promise<{ messageId: string; sent: boolean }> {
    const conversation = await this.o.log.getConversation(conversationId);
    if (!conversation) throw new InputError("unknown_conversation", `No conversation ${conversationId}.`, 404);
    const latest = await this.o.log.latestInbound(conversationId);
    const { platform, conversationKey } = conversation;
    const out = await this.o.log.recordOutbound({ conversationId, inReplyTo: latest?.id ?? null, text, author, platform, idempotencyKey });
    if (!out.created && (await this.o.log.getMessage(out.id))?.status === "sent") return { messageId: out.id, sent: false };
    const adapter = this.adapters.get(platform);
    try {
      await adapter?.deliver({
        platform,
        conversationKey,
        conversationId,
        text,
        sections: [],
        author,
        ...(latest?.replyContext ? { replyContext: latest.replyContext } : {}),
        idempotencyKey,
      });
      await this.o.log.markOutbound(out.id, "sent");
      return { messageId: out.id, sent: true };
    } catch (err) {
      this.o.metrics.errors.inc({ stage: `deliver:${platform}` });
      await this.o.log.markOutbound(out.id, "failed", errorMessage(err));
      throw err;
    }
  }

  /**
   * Runs `job` holding the conversation: never while one of its messages is being answered, in
   * this process or another (the conversation's lease); after the work of this process that
   * asked for the conversation before it.
   */
  runInConversation<T>(conversationId: string, job: () => Promise<T>): Promise<T> {
    return this.o.leases.run(conversationId, job);
  }

  /**
   * Records the reply under an idempotency key (`reply:<message id>`), then sends it through the
   * platform's adapter. A reply already recorded is the one sent, whatever this attempt computed,
   * and a reply already sent is not sent again. HTTP and CLI callers get the reply from the
   * outcome instead.
   */
  private async reply(inbound: MessageRow, platform: Platform, conversationKey: string, text: string, sections: ReplySection[], footer = ""): Promise<void> {
    const idempotencyKey = replyKey(inbound.id);
    const payload = { sections, ...(footer ? { footer } : {}) };
    const out = await this.o.log.recordOutbound({ conversationId: inbound.conversationId, inReplyTo: inbound.id, text, author: { kind: "bot" }, platform, idempotencyKey, payload });
    const recorded = out.created ? { id: out.id, status: "pending", text, payload } : await this.o.log.findOutbound(idempotencyKey);
    if (recorded) await this.deliverRecorded(inbound, platform, conversationKey, recorded);
  }

  /**
   * Sends a recorded reply unless it is marked sent. A crash between the platform accepting it and
   * the mark leaves it unmarked, and the retry sends it again: the one window where a user can see
   * an answer twice (Slack and Discord take no idempotency key for posting a message).
   */
  private async deliverRecorded(inbound: MessageRow, platform: Platform, conversationKey: string, recorded: OutboundRow): Promise<void> {
    if (recorded.status === "sent") return;
    const adapter = this.adapters.get(platform);
    if (!adapter) {
      // A chat platform without its adapter here must not count as answered: retry, then a person.
      if (CHAT_PLATFORMS.includes(platform)) {
        throw new AdapterError(platform, `this process has no ${platform} adapter to send the reply with; configure ${platform} on every worker`);
      }
      await this.o.log.markOutbound(recorded.id, "sent");
      return;
    }
    try {
      await adapter.deliver({
        platform,
        conversationKey,
        conversationId: inbound.conversationId,
        text: recorded.text,
        sections: recorded.payload?.sections ?? [],
        ...(recorded.payload?.footer ? { footer: recorded.payload.footer } : {}),
        author: { kind: "bot" },
        ...(inbound.replyContext ? { replyContext: inbound.replyContext } : {}),
        idempotencyKey: replyKey(inbound.id),
      });
      await this.o.log.markOutbound(recorded.id, "sent");
    } catch (err) {
      this.o.metrics.errors.inc({ stage: `deliver:${platform}` });
      await this.o.log.markOutbound(recorded.id, "failed", errorMessage(err));
      throw err;
    }
  }
}

/** Platforms answered through an adapter's `deliver`; HTTP and CLI callers take the reply from the outcome. */
const CHAT_PLATFORMS: readonly Platform[] = ["slack", "discord"];

/** The idempotency key of the bot's reply to an inbound message. */
export function replyKey(messageId: string): string {
  return `reply:${messageId}`;
}
