import type { ToolCallRecord } from "./conversations/conversation-log.ts";
import type { ComposedReply } from "./turns/compose-reply.ts";
import type { ConversationStatus, HandoffReason, InboundMessage, Outcome, OutboundReply, Platform, ReplySection, RoutingDecision, SourceRef, WorkerRunStatus } from "./types.ts";

/**
 * The ports between the core and the channels. Declared here, in the core: `bots/` implements
 * `ChannelAdapter` and calls `MessageSink`; nothing under `src/` knows a platform.
 */

/** What an adapter may ask of the core. The core knows no platform; the adapter knows no routing. */
export interface MessageSink {
  /**
   * Stores the message (dropping duplicates by platform message id) and queues it for processing.
   * Resolves as soon as the message is durable, so the adapter can acknowledge the platform at
   * once. `done` settles when the message has been processed; replies go out through the
   * outbox and `ChannelAdapter.deliver`, so adapters need not wait for it.
   */
  submit(message: InboundMessage, options?: SubmitOptions): Promise<Submission>;
}

export interface SubmitOptions {
  /**
   * Record a post of the question itself, delivered before the answer (Slack `/support`: the
   * question is posted in the channel and answered in that post's thread). Stored in the same
   * transaction as the message, sent by the outbox after the adapter acknowledged the platform.
   */
  questionPost?: boolean;
  /**
   * The message's `replyContext`, built from its text as stored (redacted), for a context that
   * quotes the text (a Discord thread named after the question). Replaces `message.replyContext`.
   */
  replyContext?: (storedText: string) => Record<string, unknown>;
}

export type Submission =
  | { status: "accepted"; messageId: string; conversationId: string; done: Promise<Outcome> }
  | { status: "duplicate"; messageId: string; conversationId: string };

/**
 * One small port per platform (like Bolt's Receiver): start listening, stop, and deliver a
 * message the core recorded in its outbox to a conversation on this platform.
 */
export interface ChannelAdapter {
  readonly platform: Platform;
  /** Begin receiving events; every normalized message goes to `sink.submit`. */
  start(sink: MessageSink): Promise<void>;
  stop(): Promise<void>;
  /**
   * Posts the message where `message.conversationKey` / `message.replyContext` say. A message the
   * platform takes in several parts (length limits) starts at part `progress.partsSent` and
   * reports each part the platform accepted, so a failed send resumes after them (without
   * `progress`: from the first part). Throws when
   * the platform did not take it (the outbox retries); `DeliveryRefused` when it never will.
   */
  deliver(message: OutboundReply, progress?: DeliveryProgress): Promise<DeliveryResult | void>;
}

export interface DeliveryProgress {
  /** Parts an earlier attempt delivered: skip them. */
  readonly partsSent: number;
  /**
   * This delivery's attempt, from 1. A later attempt may follow one whose post the platform
   * accepted but whose answer never arrived (a timeout, a crash): part `partsSent` may be there
   * already, and an adapter that can look (or that gave the platform a nonce) should not post it twice.
   */
  readonly attempt: number;
  /**
   * The platform accepted part `index` (0-based); recorded before the next part is sent. `ref`:
   * where the platform put it, in the adapter's own terms, so a later version of the message can
   * edit it in place (`OutboundReply.revises`). `of`: how many parts the message has, from an
   * adapter that returns as soon as the last one is accepted: that last part is then recorded with
   * the message's sent mark, in one statement (written first if the delivery throws instead).
   */
  partSent(index: number, ref?: string, of?: number): Promise<void>;
}

export interface DeliveryResult {
  /**
   * The conversation lives somewhere new from now on (a `/support` question post started the
   * thread the answer goes in): later messages are delivered, and thread replies found, there.
   */
  moveTo?: { conversationKey: string; replyContext: Record<string, unknown> };
}

/** Platforms whose replies go through `ChannelAdapter.deliver` (HTTP and CLI have in-process channels too). */
export const CHAT_PLATFORMS: readonly Platform[] = ["slack", "discord"];

// ------------------------------------------------------------------ the supervisor, as the core runs it

/** Who is asking, as the service knows it (never as the user or the model claims it). */
export interface TurnCaller {
  platform: Platform;
  userId: string;
  /** The customer linked to this platform account; null when the account is not linked. */
  customerId: string | null;
  conversationId: string;
}

/** One inbound message, as the turn runner hands it to the supervisor graph. */
export interface TurnInput {
  messageId: string;
  text: string;
  caller: TurnCaller;
  /** Who owns the conversation now; only `bot` gets an answer. */
  ownership: ConversationStatus;
  /** Consecutive unclear messages before this one. */
  unclearStreak: number;
}

/** One worker's run for one message, as logged. */
export interface WorkerRunResult {
  worker: string;
  question: string;
  status: WorkerRunStatus;
  reply: string;
  sources: SourceRef[];
  toolCalls: ToolCallRecord[];
  error?: string;
  latencyMs: number;
  /** `llm`, `offline`, `llm->offline` (the model failed, the offline answer was used) or `none`. */
  engine: string;
}

/** What the supervisor made of a turn. */
export interface TurnResult {
  /** False when the bot stayed silent (a person owns the conversation). */
  answered: boolean;
  decision: RoutingDecision | null;
  results: WorkerRunResult[];
  reply: ComposedReply | null;
  handoff: { reason: HandoffReason; detail: string } | null;
  /** The unclear streak after this turn (the turn runner persists it). */
  unclearStreak: number;
}

/**
 * A worker finished its part of a multi-part message (LangGraph's `custom` stream): what it
 * adds to the answer (null: nothing to show — it failed, or had no answer), and every part of the
 * message, so the turn runner knows what is still coming (partial answers first).
 */
export interface PartDone {
  kind: "part_done";
  worker: string;
  section: ReplySection | null;
  parts: Array<{ worker: string; title: string }>;
}

/** A chunk of the supervisor's stream with `streamMode: ["custom", "values"]`. */
export type SupervisorChunk = ["custom", unknown] | ["values", TurnResult];

/** The compiled supervisor graph (thread id = conversation id), as the turn runner invokes it. */
export interface Supervisor {
  invoke(input: { turn: TurnInput }, config: { configurable: { thread_id: string } }): Promise<TurnResult>;
  /**
   * The same run, streamed (the compiled graph's `stream`): `custom` chunks as workers finish
   * (`PartDone`), `values` chunks of the state, the last one being what `invoke` resolves to.
   * Optional: a supervisor without it is invoked, and its answers are posted whole.
   */
  stream?(
    input: { turn: TurnInput },
    config: { configurable: { thread_id: string }; streamMode: ["custom", "values"] },
  ): Promise<AsyncIterable<unknown>>;
}
