/**
 * Domain types shared by the adapters (bots/), the supervisor (agents/) and the storage layer.
 * Nothing here knows a platform's wire format: adapters normalize at the edge.
 */

/** Where a message came from. `http` is the JSON API, `cli` the terminal commands. */
export type Platform = "slack" | "discord" | "http" | "cli";
export const PLATFORMS: readonly Platform[] = ["slack", "discord", "http", "cli"];

/**
 * A route a message can take: the name of a worker in the registry (`agents/workers/registry.ts`,
 * e.g. `billing`, `tech_support`, `faq`), or `human` (the user wants, or needs, a person). A plain
 * string because the registry decides the set at run time: a fourth worker is a route everywhere
 * with no other edit. The list is the registry's `routes` (`ROUTE_NAMES` there for the default
 * workers).
 */
export type RouteName = string;

/** Persisted owner of a conversation: the bot, nobody yet (handoff open), or a named human. */
export type ConversationStatus = "bot" | "waiting" | "human";

/** Maximum accepted message length in characters (documented in the README). */
export const MAX_MESSAGE_CHARS = 4000;

/**
 * Control characters a person never types (C0 but tab and line breaks, DEL, C1); a NUL is no
 * text to Postgres. The HTTP API refuses them, the Slack intake drops them.
 */
export const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/**
 * A platform message after normalization.
 *
 * `conversationKey` is reversible and platform-prefixed, e.g. `slack:T1:C123:1700000000.0001` or
 * `discord:1234:987654321:user.555`; an adapter can find the place to reply from it alone. It names
 * one person's conversation: two people in one channel or thread have two keys.
 */
export interface InboundMessage {
  platform: Platform;
  conversationKey: string;
  /** The platform's id of the author (Slack user id, Discord user id, API userId). */
  userId: string;
  userName?: string;
  text: string;
  /** The platform's id of this message; duplicates (retries, replays) are dropped by it. */
  platformMessageId: string;
  /**
   * JSON-serializable, platform-specific details the adapter needs to answer this message later
   * (Slack `response_url`, Discord interaction token, thread ts). Stored with the message so a
   * reply can still be delivered after a restart.
   */
  replyContext?: Record<string, unknown>;
  receivedAt?: Date;
}

/** A cited source (knowledge-base document, status page). */
export interface SourceRef {
  title: string;
  /** A link when the document has one; otherwise a path inside the knowledge base. */
  url?: string;
  path?: string;
}

/** One worker's contribution to a merged reply. */
export interface ReplySection {
  route: RouteName;
  title: string;
  text: string;
  sources: SourceRef[];
}

/** Why a conversation was handed to a person. */
export type HandoffReason =
  | "user_request"
  | "complaint"
  | "low_confidence"
  | "worker_failed"
  | "worker_timeout"
  | "needs_approval"
  | "needs_engineer"
  | "model_failed"
  /** Every attempt at processing the message failed (model, platform or database errors). */
  | "processing_failed"
  /** A part of the message no worker could answer, after it was offered to the next-best one. */
  | "no_answer";

export interface HandoffInfo {
  id: string;
  reason: HandoffReason;
  detail: string;
}

/** One route the message needs, with the part of the message that route must answer. */
export interface RoutedPart {
  route: RouteName;
  /** Calibrated probability in [0, 1]. */
  confidence: number;
  /** The sub-question this route's worker answers (the whole text when there is one part). */
  question: string;
}

/** Which engine made a routing decision. `hybrid:offline` / `hybrid:llm` say which side answered. */
export type RouterEngine = "offline" | "llm" | "hybrid:offline" | "hybrid:llm" | "llm->offline";

/** What the router decided for one message (logged with it, shown in the console's trace). */
export interface RoutingDecision {
  /** One or more routes, most confident first. Empty when nothing is confident (`unsure`). */
  routes: RoutedPart[];
  /** Best confidence per route for the whole message (for traces and eval). */
  scores: Record<RouteName, number>;
  /** True when no route reached the confidence needed to act on it. */
  unsure: boolean;
  engine: RouterEngine;
  latencyMs: number;
  /** Set when an engine failed and another answered (e.g. the model, after retries). */
  error?: string;
  /**
   * Probability that the message is not a request any route can take (offline router's "none of
   * these" class); such a message is `unsure` and gets the clarifying question.
   */
  outOfScope?: number;
  /**
   * A part of the message that looks like a further request the router could not place (offline
   * router). Hybrid mode asks the model when it is set.
   */
  unplaced?: string;
  /** Set when the previous turn's route decided a short or anaphoric follow-up. */
  fromContext?: RouteName;
  /**
   * Set when the router was unsure and the knowledge base answered for it: the article (`faq/…`,
   * `tech/…`) that covers the message almost word for word, whose worker took it.
   */
  fromKnowledge?: string;
  /**
   * The steps that answer the message, when some wait for others' findings ("is the service
   * down? if so, can I get a refund for today": billing after tech support). Absent: every route
   * is an independent step (see `planOf` in agents/router/plan.ts).
   */
  plan?: PlanStep[];
}

/**
 * One step of a routing plan: a worker, the sub-question it answers, and the earlier steps whose
 * results it needs first (their ids). Steps with no dependencies run in parallel.
 */
export interface PlanStep {
  /** `s1`, `s2`, … in the order of the message's parts. */
  id: string;
  worker: RouteName;
  question: string;
  dependsOn: string[];
}

/** How a worker's run for one step ended. `declined`: it could not answer (nothing found, outside its tools). */
export type WorkerRunStatus = "ok" | "needs_human" | "declined" | "failed" | "timeout";

export interface RouteScore {
  route: RouteName;
  confidence: number;
}

/** What the core decided to do with one inbound message. */
export type Outcome =
  | {
      kind: "reply";
      conversationId: string;
      messageId: string;
      text: string;
      sections: ReplySection[];
      routes: RouteScore[];
      /** Set when the reply also opened a handoff (the text tells the user a person will follow). */
      handoff: HandoffInfo | null;
      engine: string;
      latencyMs: number;
    }
  | {
      /** A person owns the conversation: the message went to them, the bot stays silent. */
      kind: "relayed";
      conversationId: string;
      messageId: string;
      handoffId: string | null;
    }
  | { kind: "ignored"; reason: string };

/** A message going out to a conversation on a platform. */
export interface OutboundReply {
  platform: Platform;
  conversationKey: string;
  conversationId: string;
  /** Markdown; adapters convert it to the platform's dialect. */
  text: string;
  sections: ReplySection[];
  /**
   * Notes that follow the sections (a part that could not be answered, "a person will reply
   * here"). Already part of `text`; adapters that render `sections` instead of `text` show it
   * after them.
   */
  footer?: string;
  /** Who wrote it: the bot, a named support agent relayed by the bot, or the service (a decision, a notice). */
  author: { kind: "bot" } | { kind: "agent"; name: string } | { kind: "system" };
  /** The outbox's id of this message (the `messages` row). */
  messageId?: string;
  /** The platform user the conversation belongs to. */
  userId?: string;
  /** The replyContext of the inbound message this answers, when there is one. */
  replyContext?: Record<string, unknown>;
  /** Stable per message: the outbox's key; the adapter may use it for the platform's own dedupe. */
  idempotencyKey: string;
  /**
   * `question_post`: the post a Slack `/support` question hangs from (its text is the question;
   * the answer follows in its thread). `partial`: the parts of a multi-part answer that are
   * ready, posted while the others are still being worked on; a later version edits it in place.
   * Default `message`.
   */
  kind?: OutboundKind;
  /**
   * This message replaces one already delivered (partial answers first): `refs[i]` is where the
   * platform put part `i` of it, as the adapter reported (`DeliveryProgress.partSent`); null
   * where it does not know. The adapter edits those parts in place and posts only parts beyond them.
   */
  revises?: { refs: Array<string | null> };
}

/** What an outbound message is (see `OutboundReply.kind`). */
export type OutboundKind = "message" | "question_post" | "partial";
