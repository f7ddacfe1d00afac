import { Annotation, MessagesAnnotation } from "@langchain/langgraph";
import type { RoutingDecision } from "../router/types.ts";
import type { Caller, WorkerResult } from "../workers/types.ts";
import type { ConversationStatus, HandoffReason, ReplySection } from "../../src/types.ts";

/** The message being processed, as the pipeline hands it to the graph. */
export interface Turn {
  messageId: string;
  text: string;
  caller: Caller;
  /** Who owns the conversation now; only `bot` gets an answer. */
  ownership: ConversationStatus;
  /** Consecutive unclear messages before this one. */
  unclearStreak: number;
}

/** What a worker node receives through `Send`. */
export interface WorkerTask {
  worker: string;
  question: string;
  turn: Turn;
  history: Array<{ role: "user" | "assistant"; text: string }>;
}

export interface MergedReply {
  text: string;
  sections: ReplySection[];
  /** What follows the sections in `text`: notes on failed parts, the handoff note. */
  footer: string;
}

export interface HandoffDecision {
  reason: HandoffReason;
  detail: string;
}

/**
 * Supervisor state. `messages` is the conversation memory kept by the checkpointer (thread id =
 * conversation id); everything else is per turn and reset by `load_context`.
 */
export const SupervisorState = Annotation.Root({
  ...MessagesAnnotation.spec,
  turn: Annotation<Turn>(),
  decision: Annotation<RoutingDecision | null>({ reducer: (_a, b) => b, default: () => null }),
  /** Worker results; parallel workers append, `null` resets at the start of a turn. */
  results: Annotation<WorkerResult[], WorkerResult[] | null>({
    reducer: (a, b) => (b === null ? [] : a.concat(b)),
    default: () => [],
  }),
  reply: Annotation<MergedReply | null>({ reducer: (_a, b) => b, default: () => null }),
  handoff: Annotation<HandoffDecision | null>({ reducer: (_a, b) => b, default: () => null }),
  /** The unclear streak after this turn (the pipeline persists it). */
  unclearStreak: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
  /** False when the bot stayed silent (a person owns the conversation). */
  answered: Annotation<boolean>({ reducer: (_a, b) => b, default: () => false }),
});

export type SupervisorStateType = typeof SupervisorState.State;
export type SupervisorUpdate = typeof SupervisorState.Update;
