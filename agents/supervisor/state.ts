import { Annotation, MessagesAnnotation } from "@langchain/langgraph";
import type { RoutingDecision } from "../router/types.ts";
import type { StepInput, WorkerResult } from "../workers/types.ts";
import type { TurnInput } from "../../src/ports.ts";
import type { PlanStep } from "../../src/types.ts";
import type { ComposedReply } from "../../src/turns/compose-reply.ts";
import type { HandoffReason } from "../../src/types.ts";

/** The message being processed, as the turn runner hands it to the graph (the core's port type). */
export type Turn = TurnInput;

/** What a worker node receives through `Send`: one step of the message's plan. */
export interface WorkerTask {
  worker: string;
  question: string;
  /** The plan step this task answers (its worker may be another, when the step was passed on). */
  step: PlanStep;
  /** What the steps it waits for found (empty for an independent step). */
  inputs: StepInput[];
  /** Workers that tried this step before this one, in order (a step is passed on once). */
  tried: string[];
  /** The router's scores for the message: who is next best for a step its worker cannot answer. */
  scores: Record<string, number>;
  /** Whether some step of the plan waits for another: finished steps then go to `dispatch`. */
  planned: boolean;
  turn: Turn;
  history: Array<{ role: "user" | "assistant"; text: string }>;
  /** When the message's worker budget runs out (epoch ms), shared by every worker of the message. */
  deadline: number;
  /** Every worker answering a part of this message, this one included (partial answers first). */
  siblings: string[];
}

/** The reply as the supervisor leaves it: the text / sections / footer rule is `composeReply`'s. */
export type MergedReply = ComposedReply;

export interface HandoffDecision {
  reason: HandoffReason;
  detail: string;
}

/**
 * Supervisor state. `messages` is the conversation memory kept by the checkpointer (thread id =
 * conversation id); everything else is per turn and reset by `route` at the start of a turn.
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
  /** Plan steps sent to their workers by `dispatch` (the waiting ones, once their inputs are in). */
  dispatched: Annotation<string[], string[] | null>({
    reducer: (a, b) => (b === null ? [] : a.concat(b)),
    default: () => [],
  }),
  /** When the message's worker budget runs out (epoch ms); set once it is routed. */
  deadline: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
  reply: Annotation<MergedReply | null>({ reducer: (_a, b) => b, default: () => null }),
  handoff: Annotation<HandoffDecision | null>({ reducer: (_a, b) => b, default: () => null }),
  /** The unclear streak after this turn (the pipeline persists it). */
  unclearStreak: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
  /** False when the bot stayed silent (a person owns the conversation). */
  answered: Annotation<boolean>({ reducer: (_a, b) => b, default: () => false }),
});

export type SupervisorStateType = typeof SupervisorState.State;
export type SupervisorUpdate = typeof SupervisorState.Update;
