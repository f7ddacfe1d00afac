import type pg from "pg";
import type { StatementPart } from "../db/prepared.ts";
import type {
  RoutingDecision,
  ConversationStatus,
  HandoffReason,
  InboundMessage,
  Platform,
  ReplySection,
  SourceRef,
  WorkerRunStatus,
} from "../types.ts";

/**
 * The conversation log: every conversation, message, routing decision, worker run and handoff.
 * One port, one Postgres implementation (`PgConversationLog`), one contract suite.
 */
export interface ConversationLog {
  /**
   * Stores an inbound message (creating its conversation on first sight) in one transaction.
   * A message whose platform id was seen before is not stored again: `duplicate`.
   */
  receive(message: InboundMessage, hooks?: ReceiveHooks): Promise<ReceiveResult>;
  getConversation(id: string): Promise<ConversationRow | undefined>;
  findConversationByKey(platform: Platform, key: string): Promise<ConversationRow | undefined>;
  getMessage(id: string): Promise<MessageRow | undefined>;
  /** The conversation's newest message from the user (where a later reply is delivered from). */
  latestInbound(conversationId: string): Promise<MessageRow | undefined>;
  /** Inbound messages stored but not finished (after a crash), oldest first. */
  unfinishedMessages(): Promise<MessageRow[]>;
  /**
   * Ids of the unfinished inbound messages of a message's conversation, up to and including it
   * (when it is unfinished itself), in arrival order.
   */
  unfinishedUpTo(messageId: string): Promise<string[]>;
  setMessageStatus(id: string, status: "processing" | "done" | "failed", error?: string): Promise<void>;
  recordRouting(messageId: string, decision: RoutingDecision): Promise<void>;
  recordWorkerRun(messageId: string, run: WorkerRunRecord): Promise<void>;
  setUnclearStreak(conversationId: string, streak: number): Promise<void>;
  /**
   * What a turn leaves in the log, written at once (one statement, one commit): its routing
   * decision (if it routed), its worker runs in order, and the conversation's unclear streak. On
   * `tx` when given, to commit with the turn's other writes (its reply, its memory).
   */
  recordTurn(messageId: string, conversationId: string, turn: TurnRecord, tx?: Pick<pg.ClientBase, "query">): Promise<void>;
  /**
   * `recordTurn`'s writes as a part of another component's statement (the reply's record,
   * `Outbox.recordWith`): they commit with it, with no transaction around them.
   */
  turnPart(messageId: string, conversationId: string, turn: TurnRecord): StatementPart;
  /** The customer linked to a platform account, or undefined when it is not linked. */
  linkedCustomer(platform: Platform, platformUserId: string): Promise<string | undefined>;
  linkIdentity(platform: Platform, platformUserId: string, customerId: string): Promise<void>;
  /** The transcript with each message's routing decision and worker runs. */
  transcript(conversationId: string): Promise<TranscriptEntry[]>;
  searchConversations(query: SearchQuery): Promise<ConversationRow[]>;
}

export interface ReceiveHooks {
  /**
   * Runs inside the transaction that stores a new (not duplicate) message, before it commits:
   * the job queue adds the message's job here, so both commit or neither does.
   */
  onAccepted?(tx: Pick<pg.ClientBase, "query">, stored: { messageId: string; conversationId: string }): Promise<void>;
  /**
   * Written by the statement that stores the message, in it (`JobQueue.addPart`): its CTEs read
   * `stored (message_id, conversation_id, created_at)`, the new message's row (none for a duplicate).
   */
  part?: StatementPart;
}

export type ReceiveResult =
  | { status: "accepted"; messageId: string; conversation: ConversationRow }
  | { status: "duplicate"; messageId: string; conversation: ConversationRow };

export interface ConversationRow {
  id: string;
  platform: Platform;
  conversationKey: string;
  userId: string;
  customerId: string | null;
  status: ConversationStatus;
  assignee: string | null;
  unclearStreak: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  direction: "in" | "out";
  authorKind: "user" | "bot" | "agent" | "system";
  authorId: string | null;
  text: string;
  platform: Platform;
  platformMessageId: string | null;
  replyContext: Record<string, unknown> | null;
  status: string;
  inReplyTo: string | null;
  error: string | null;
  createdAt: Date;
}

export interface WorkerRunRecord {
  worker: string;
  question: string;
  status: WorkerRunStatus;
  reply: string | null;
  sources: SourceRef[];
  toolCalls: ToolCallRecord[];
  error: string | null;
  latencyMs: number;
  /** `llm`, `offline`, `llm->offline` (model failed, offline answer used) or `none` (failed). */
  engine: string;
  /** The plan step this run answered (`s1`, …). */
  step?: string | null;
  /** Set on a run that took over a step another worker could not answer: that worker. */
  reassignedFrom?: string | null;
}

/** What {@link ConversationLog.recordTurn} writes. */
export interface TurnRecord {
  decision: RoutingDecision | null;
  runs: WorkerRunRecord[];
  unclearStreak: number;
}

export interface ToolCallRecord {
  name: string;
  args: Record<string, unknown>;
  /** A short form of what the tool returned (the full result can be large). */
  result: string;
}

export interface OutboundPayload {
  sections: ReplySection[];
  footer?: string;
}

export interface RoutingTrace {
  routes: RoutingDecision["routes"];
  scores: RoutingDecision["scores"];
  unsure: boolean;
  engine: string;
  latencyMs: number;
  error: string | null;
  /** The steps the decision planned, when some waited for others. */
  plan?: RoutingDecision["plan"];
}

/** One chat-model call of a message's turn (`model_calls`), in the order they ended. */
export interface ModelCallRecord {
  stage: "router" | "worker" | "merge" | "other";
  /** The worker that made the call (stage `worker`). */
  worker: string | null;
  model: string;
  promptTokens: number | null;
  completionTokens: number | null;
  latencyMs: number;
  /** `cancelled`: the message's time budget ran out while it was in flight. */
  outcome: "ok" | "failed" | "cancelled";
  error: string | null;
}

export interface TranscriptEntry extends MessageRow {
  routing: RoutingTrace | null;
  workerRuns: Array<WorkerRunRecord & { id: string }>;
  /** Empty with the offline engine. */
  modelCalls: ModelCallRecord[];
}

export interface SearchQuery {
  /** Matches the user id or any message text (case-insensitive). */
  text?: string;
  platform?: Platform;
  status?: ConversationStatus;
  limit?: number;
}

export type { HandoffReason };
