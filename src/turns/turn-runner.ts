import type pg from "pg";
import type { ConversationLog, ConversationRow, MessageRow, TurnRecord } from "../conversations/conversation-log.ts";
import type { HeldCheckpoints, LatestCheckpointSaver } from "../db/checkpoint-saver.ts";
import { AdapterError, errorMessage } from "../errors.ts";
import type { HandoffStore } from "../handoffs/handoff-store.ts";
import type { HandoffService } from "../handoffs/handoff-service.ts";
import { HANDOFF_TEXT } from "../handoffs/reasons.ts";
import { placeholdersIn, redactionNote } from "../inbox/redact.ts";
import type { ConversationLeases, HeldLease } from "../inbox/conversation-leases.ts";
import type { JobAttempt, JobCompletion, JobQueue, MessageJob } from "../inbox/job-queue.ts";
import type { OutcomeWaiter } from "../inbox/outcome-waiter.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import type { Outbox, SendResult } from "../outbox/outbox.ts";
import { CHAT_PLATFORMS, type PartDone, type Supervisor, type SupervisorChunk, type TurnInput, type TurnResult } from "../ports.ts";
import type { HandoffInfo, HandoffReason, Outcome, Platform } from "../types.ts";
import { composeReply, withNotes } from "./compose-reply.ts";
import { giveUpKey, relayedOutcome, replyKey, replyOutcome } from "./outcome.ts";
import { PartialReplies } from "./partial-replies.ts";
import type { BegunTurn, FirstTurn, TurnStore } from "./turn-store.ts";

export interface TurnRunnerOptions {
  log: ConversationLog;
  handoffs: HandoffStore;
  /** Tells staff of new handoffs and relayed messages; says when a person will reply. */
  handoffService: Pick<HandoffService, "opened" | "notice" | "relayed">;
  supervisor: Supervisor;
  outbox: Outbox;
  queue: JobQueue;
  outcomes: OutcomeWaiter;
  leases: ConversationLeases;
  /** The turn's start and end statements (with the `processing_attempts` rows). */
  store: TurnStore;
  /**
   * The supervisor's checkpointer: a turn's memory is held until the transaction that records its
   * reply, and written in it. Without it, the graph writes its checkpoints itself.
   */
  checkpoints?: Pick<LatestCheckpointSaver, "deferring">;
  logger: Logger;
  metrics: Metrics;
  /**
   * Partial answers first on Slack and Discord (PARTIAL_REPLY_MS): how long a multi-part answer
   * waits for its slowest part before the ready parts are posted. Default 0: whole answers only.
   */
  partialReplyMs?: number;
}

/** Where a turn failed: the graph (routing, workers, merge) or around it (storage, delivery). */
class TurnFailure extends Error {
  readonly stage: "graph" | "delivery";

  constructor(stage: "graph" | "delivery", cause: unknown) {
    super(errorMessage(cause), { cause });
    this.stage = stage;
  }
}

/**
 * The queue's job handler: claims the conversation, runs the supervisor graph on each of its
 * unfinished messages in order, logs routing and worker runs, opens the handoff the graph decided
 * on, composes one reply and hands it to the outbox. A failed attempt is retried after a backoff;
 * when the last one fails too, `giveUp` hands the conversation to a person and tells the user.
 */
export class TurnRunner {
  readonly #o: TurnRunnerOptions;
  readonly #log: Logger;

  constructor(options: TurnRunnerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "turns" });
  }

  /**
   * Answers the job's message after any earlier message of its conversation still unfinished (one
   * whose job was lost on its last attempt, when its worker died): the answers stay in arrival
   * order. Holds the conversation's lease throughout; the last message's `done` releases it and
   * finishes the job (`attempt.completion`).
   */
  async runJob(job: MessageJob, attempt: JobAttempt): Promise<void> {
    const workerId = this.#workerId(attempt);
    // The statement that takes the lease reads the unfinished messages and begins the first one
    // (with its memory, the checkpoint); the last one's `done` releases the lease.
    await this.#o.leases.run(
      job.conversationId,
      async (lease) => {
        const { unfinished, first } = lease.alongside as FirstTurn;
        for (const [i, messageId] of unfinished.entries()) {
          const last = i === unfinished.length - 1;
          await this.#attempt(messageId, job.conversationId, attempt, last ? { lease, completion: attempt.completion } : undefined, i === 0 ? first : undefined);
        }
      },
      (lease) => this.#o.store.beginFirst(lease, { messageId: job.messageId, workerId, attempt: attempt.number, checkpoint: this.#o.checkpoints !== undefined }),
    );
  }

  #workerId(attempt: JobAttempt): string {
    return attempt.workerId ?? this.#o.queue.workerId ?? "unknown";
  }

  async #attempt(messageId: string, conversationId: string, attempt: JobAttempt, ending?: RunEnd, begunAlready?: BegunTurn): Promise<void> {
    // The attempt's row, the message and everything the turn starts from: one statement (the
    // first message's, the lease's statement).
    const begun = begunAlready ?? (await this.#o.store.begin({ messageId, workerId: this.#workerId(attempt), attempt: attempt.number, replyKey: replyKey(messageId) }));
    const run: AttemptRun = { begun, finished: false, ...(ending ? { ending } : {}) };
    let outcome: Outcome;
    try {
      outcome = await this.#turn(messageId, run);
      if (!run.finished && begun.attemptId) await this.#o.store.finishAttempt(begun.attemptId, "done");
    } catch (err) {
      if (!attempt.final) {
        this.#o.metrics.jobRetries.inc();
        this.#log.warn({ conversationId, messageId, attempt: attempt.number, of: attempt.max, err: errorMessage(err) }, "processing failed; retrying after a backoff");
        if (begun.attemptId) await this.#o.store.finishAttempt(begun.attemptId, "retry", errorMessage(err)).catch(() => {});
        throw err;
      }
      const reason: HandoffReason = err instanceof TurnFailure && err.stage === "graph" ? "model_failed" : "processing_failed";
      outcome = await this.giveUp(messageId, reason, `Gave up after ${attempt.number} attempt${attempt.number === 1 ? "" : "s"}: ${errorMessage(err)}`);
      if (begun.attemptId) await this.#o.store.finishAttempt(begun.attemptId, "failed", errorMessage(err));
    }
    this.#o.outcomes.settle(messageId, outcome);
  }

  /** One turn: the graph, the log, the handoff, the reply into the outbox. Throws to be retried. */
  async #turn(messageId: string, run: AttemptRun): Promise<Outcome> {
    const { message, conversation, recordedReplyId, customerId } = run.begun;
    if (!message) return { kind: "ignored", reason: "message not found" };
    if (!conversation) return { kind: "ignored", reason: "conversation not found" };
    if (message.status === "done" || message.status === "failed") {
      return (await this.#o.outcomes.read(messageId)) ?? { kind: "ignored", reason: "already processed" };
    }
    const log = this.#log.child({ conversationId: conversation.id, messageId, platform: conversation.platform });
    // An earlier attempt recorded the reply, then crashed or could not deliver it: deliver that
    // reply; do not answer again (the graph ran, its tools acted, its memory has the turn).
    if (recordedReplyId) {
      this.#delivered(await this.#o.outbox.deliverOrWait(recordedReplyId), conversation.platform);
      await this.#finish(message, "answered", run);
      log.info("delivered the reply an earlier attempt recorded");
      return (await this.#o.outcomes.read(messageId)) ?? { kind: "ignored", reason: "reply not readable" };
    }
    const started = Date.now();
    // Marked `processing` by the statement that began the turn.

    const userId = message.authorId ?? conversation.userId;
    const turn: TurnInput = {
      messageId,
      text: message.text,
      caller: { platform: message.platform, userId, customerId: customerId ?? null, conversationId: conversation.id },
      ownership: conversation.status,
      unclearStreak: conversation.unclearStreak,
    };
    // On a chat platform, the parts of a multi-part answer that are ready can go out first.
    const partials =
      (this.#o.partialReplyMs ?? 0) > 0 && CHAT_PLATFORMS.includes(conversation.platform) && conversation.status === "bot" && this.#o.supervisor.stream
        ? new PartialReplies({ outbox: this.#o.outbox, conversationId: conversation.id, messageId, delayMs: this.#o.partialReplyMs ?? 0, retried: message.status === "processing", log })
        : undefined;
    let state: TurnResult;
    let memory: HeldCheckpoints | undefined;
    try {
      const runGraph = () => (partials ? this.#streamed(turn, conversation.id, partials) : this.#o.supervisor.invoke({ turn }, { configurable: { thread_id: conversation.id } }));
      const prefetched = run.begun.checkpoint === undefined ? undefined : { threadId: conversation.id, row: run.begun.checkpoint };
      if (this.#o.checkpoints) ({ result: state, held: memory } = await this.#o.checkpoints.deferring(runGraph, prefetched));
      else state = await runGraph();
    } catch (err) {
      await partials?.settle();
      this.#o.metrics.errors.inc({ stage: "supervisor" });
      throw new TurnFailure("graph", err);
    }
    // The whole answer replaces the last version of the partial one, in place.
    const revises = await partials?.settle();

    // Silence is right only when a person owns the conversation; from a bot-owned one it means the
    // graph failed to produce an answer: retry, then a person (never a message nobody answers).
    if (!state.answered && conversation.status === "bot") {
      memory?.drop();
      throw new TurnFailure("graph", new Error("the supervisor finished without an answer"));
    }
    if (!state.answered) {
      // The person's conversation keeps the user's message in the bot's memory.
      await memory?.write(this.#o.store.pool);
      await this.#finish(message, "relayed", run);
      this.#o.metrics.messages.inc({ platform: conversation.platform, outcome: "relayed" });
      const open = await this.#o.handoffs.openFor(conversation.id);
      if (open) this.#o.handoffService.relayed({ handoffId: open.id, conversationId: conversation.id, messageId, text: message.text });
      log.info({ owner: conversation.status }, "a person owns this conversation; the bot stays silent");
      return relayedOutcome(conversation.id, messageId, open?.id ?? null);
    }

    // A handoff is opened (and staff told) after the turn's log is in, as before; without one, the
    // log is written in the reply's transaction below.
    if (state.handoff) await this.#record(messageId, conversation.id, state, this.#o.store.pool);
    const handoff = state.handoff ? await this.#openHandoff(conversation.id, messageId, state.handoff.reason, state.handoff.detail) : null;
    // The user is told once, in this reply, what the intake removed from their message.
    const reply = withNotes(state.reply ?? composeReply({}), [redactionNote(placeholdersIn(message.text)), await this.#notice(handoff)]);
    // The turn's log (routing, worker runs), its memory (the checkpoint), its reply and the reply's
    // claim for delivery commit together, then the reply is delivered: one statement (one round
    // trip instead of six: begin, four statements, commit), or, with several held checkpoints
    // (a graph that checkpoints as it goes), one transaction.
    const outbound = { conversationId: conversation.id, inReplyTo: messageId, author: { kind: "bot" } as const, text: reply.text, sections: reply.sections, footer: reply.footer, idempotencyKey: replyKey(messageId), ...(revises ? { revises } : {}) };
    const oneStatement = (memory?.puts.length ?? 0) <= 1;
    const memoryPart = oneStatement ? memory?.takePart() : undefined;
    const recorded = oneStatement
      ? await this.#o.outbox.recordWith(outbound, [
          ...(state.handoff ? [] : [this.#o.log.turnPart(messageId, conversation.id, this.#turnRecord(state))]),
          ...(memoryPart ? [memoryPart] : []),
        ])
      : await this.#o.store.transaction(async (tx) => {
          // Every statement issued before the first await (see `pipelinedTransaction`).
          const written = Promise.all([state.handoff ? undefined : this.#o.log.recordTurn(messageId, conversation.id, this.#turnRecord(state), tx), memory?.write(tx)]);
          const [, recordedIn] = await Promise.all([written, this.#o.outbox.recordIn(tx, outbound)]);
          return recordedIn;
        });
    if (!state.handoff) this.#observeTurn(state);
    recorded.committed();
    // The turn's end (the message done, the attempt, the lease, the job) commits with the
    // reply's sent mark when this delivery is the one that sends it.
    const end = this.#o.store.ending(message.id, run.begun.attemptId, run.ending?.lease, run.ending?.completion);
    const delivered = await recorded.deliver(end.part);
    this.#delivered(delivered, conversation.platform);
    if (delivered.withSent) {
      end.committed(delivered.withSent.result);
      this.#finished(message, "answered", run);
    } else await this.#finish(message, "answered", run);

    const latencyMs = Date.now() - started;
    this.#o.metrics.messages.inc({ platform: conversation.platform, outcome: handoff ? "handoff" : "reply" });
    this.#o.metrics.replyLatency.observe(latencyMs / 1000);
    log.info({ routes: state.decision?.routes.map((r) => r.route), engine: state.decision?.engine, handoff: handoff?.reason ?? null, latencyMs }, "answered");
    return replyOutcome({
      conversationId: conversation.id,
      messageId,
      text: reply.text,
      sections: reply.sections,
      routes: state.decision?.routes ?? [],
      handoff,
      engine: state.decision?.engine ?? null,
      latencyMs,
    });
  }

  /** Runs the graph streamed: each worker's part reaches `partials` as it finishes; resolves to the final state. */
  async #streamed(turn: TurnInput, threadId: string, partials: PartialReplies): Promise<TurnResult> {
    const stream = await this.#o.supervisor.stream!({ turn }, { configurable: { thread_id: threadId }, streamMode: ["custom", "values"] });
    let state: TurnResult | undefined;
    for await (const chunk of stream) {
      const [mode, data] = chunk as SupervisorChunk;
      if (mode === "values") state = data;
      else if ((data as Partial<PartDone> | undefined)?.kind === "part_done") partials.seen(data as PartDone);
    }
    if (!state) throw new Error("the supervisor's stream ended without a state");
    return state;
  }

  /**
   * The one give-up path: answering failed for good, so a person takes the conversation over,
   * with the reason; a reply recorded but never delivered is given up, and the user is told
   * (through the outbox, so a platform that is down now still gets the notice later).
   */
  async giveUp(messageId: string, reason: HandoffReason, detail: string): Promise<Outcome> {
    this.#o.metrics.jobFailures.inc();
    const found = await this.#load(messageId);
    if ("ignored" in found) return { kind: "ignored", reason: found.ignored };
    const { message, conversation } = found;
    const log = this.#log.child({ conversationId: conversation.id, messageId, platform: conversation.platform });
    log.error({ reason, detail }, "answering failed for good; handing the conversation to a person");
    const handoff = await this.#openHandoff(conversation.id, messageId, reason, detail);
    const unsent = await this.#o.outbox.find(replyKey(messageId));
    if (unsent && unsent.status !== "sent") await this.#o.outbox.abandon(unsent.id, `given up: ${detail}`);
    const notice = composeReply({ notes: [HANDOFF_TEXT[reason], await this.#notice(handoff)] });
    try {
      await this.#o.outbox.send({ conversationId: conversation.id, inReplyTo: messageId, author: { kind: "bot" }, text: notice.text, footer: notice.footer, idempotencyKey: giveUpKey(messageId) });
    } catch (err) {
      log.warn({ err: errorMessage(err) }, "could not record the notice for the user; the handoff is open for the team");
    }
    await this.#o.log.setMessageStatus(messageId, "failed", detail);
    this.#observeJob(message, "failed");
    this.#o.metrics.messages.inc({ platform: conversation.platform, outcome: "failed" });
    return replyOutcome({ conversationId: conversation.id, messageId, text: notice.text, sections: [], routes: [], handoff, engine: null, latencyMs: Date.now() - message.createdAt.getTime() });
  }

  async #load(messageId: string): Promise<{ message: MessageRow; conversation: ConversationRow } | { ignored: string }> {
    const message = await this.#o.log.getMessage(messageId);
    if (!message) return { ignored: "message not found" };
    const conversation = await this.#o.log.getConversation(message.conversationId);
    if (!conversation) return { ignored: "conversation not found" };
    return { message, conversation };
  }

  /** Routing decision, worker runs and unclear streak, as the graph left them (one write). */
  async #record(messageId: string, conversationId: string, state: TurnResult, tx: Pick<pg.ClientBase, "query">): Promise<void> {
    await this.#o.log.recordTurn(messageId, conversationId, this.#turnRecord(state), tx);
    this.#observeTurn(state);
  }

  #turnRecord(state: TurnResult): TurnRecord {
    const runs = state.results.map((run) => ({
      worker: run.worker,
      question: run.question,
      status: run.status,
      reply: run.reply || null,
      sources: run.sources,
      toolCalls: run.toolCalls,
      error: run.error ?? null,
      latencyMs: run.latencyMs,
      engine: run.engine,
    }));
    return { decision: state.decision ?? null, runs, unclearStreak: state.unclearStreak };
  }

  /** The turn's routing and worker figures in the metrics, once its log is written. */
  #observeTurn(state: TurnResult): void {
    if (state.decision) {
      this.#o.metrics.routingLatency.observe({ engine: state.decision.engine }, state.decision.latencyMs / 1000);
      for (const r of state.decision.routes) this.#o.metrics.routes.inc({ route: r.route, engine: state.decision.engine });
      if (state.decision.engine === "llm->offline") this.#o.metrics.modelFallbacks.inc({ stage: "routing" });
    }
    for (const run of state.results) {
      this.#o.metrics.workerLatency.observe({ worker: run.worker, status: run.status }, run.latencyMs / 1000);
      if (run.status === "failed" || run.status === "timeout") this.#o.metrics.errors.inc({ stage: `worker:${run.worker}` });
      if (run.engine === "llm->offline") this.#o.metrics.modelFallbacks.inc({ stage: "worker" });
    }
  }

  /**
   * Whether the reply is on its way. Delivered, being delivered by someone, or queued behind an
   * earlier message: yes. Waiting for a process with the platform's adapter: yes (it stays
   * visible as `no_adapter`). A chat platform did not take it: no — throw, so the job retries it
   * and, when every attempt failed, a person takes over. (An HTTP user has the reply in the API's
   * answer and the events stream; a webhook that is down is the outbox's to retry.)
   */
  #delivered(result: Omit<SendResult, "created">, platform: Platform): void {
    if (result.status === "failed" || (result.status === "retry" && CHAT_PLATFORMS.includes(platform))) {
      throw new TurnFailure("delivery", new AdapterError("outbox", result.error ?? "the platform did not take the reply"));
    }
  }

  /** The message done and the attempt finished: one statement. */
  async #finish(message: MessageRow, result: "answered" | "relayed", run: AttemptRun): Promise<void> {
    await this.#o.store.done(message.id, run.begun.attemptId, run.ending?.lease, run.ending?.completion);
    this.#finished(message, result, run);
  }

  /** The turn's end committed (by `#finish`, or with the reply's sent mark). */
  #finished(message: MessageRow, result: "answered" | "relayed", run: AttemptRun): void {
    run.finished = true;
    this.#observeJob(message, result);
  }

  #observeJob(message: MessageRow, result: "answered" | "relayed" | "failed"): void {
    this.#o.metrics.jobLatency.observe({ result }, Math.max(0, Date.now() - message.createdAt.getTime()) / 1000);
  }

  async #openHandoff(conversationId: string, messageId: string, reason: HandoffReason, detail: string): Promise<HandoffInfo> {
    const { handoff, created } = await this.#o.handoffs.open(conversationId, messageId, reason, detail);
    if (created) {
      this.#o.metrics.handoffs.inc({ reason });
      this.#o.handoffService.opened({ id: handoff.id, reason: handoff.reason, detail: handoff.detail, conversationId });
    }
    return { id: handoff.id, reason: handoff.reason, detail: handoff.detail };
  }

  /** When a person will reply (expected wait, support hours); null without a handoff. */
  async #notice(handoff: HandoffInfo | null): Promise<string | null> {
    if (!handoff) return null;
    try {
      return await this.#o.handoffService.notice(handoff);
    } catch (err) {
      this.#log.warn({ handoffId: handoff.id, err: errorMessage(err) }, "could not tell the user the expected wait");
      return null;
    }
  }
}

/** One attempt at a message: what its first statement read, and whether its row is finished. */
interface AttemptRun {
  readonly begun: BegunTurn;
  finished: boolean;
  /** What ends with the message's `done` (the job's last message): the lease and the job. */
  readonly ending?: RunEnd;
}

interface RunEnd {
  readonly lease: HeldLease;
  readonly completion: JobCompletion | undefined;
}
