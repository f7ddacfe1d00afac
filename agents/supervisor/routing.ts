import { Send } from "@langchain/langgraph";
import type { WorkerResult } from "../workers/types.ts";
import type { HandoffDecision, SupervisorStateType } from "./state.ts";

/**
 * Plain functions that decide the supervisor's edges and handoffs; unit-tested without a model.
 */

const COMPLAINT = /\b(complain|complaint|unacceptable|terrible|worst|ridiculous|disgust|furious|scam|lawyer|sue)\b/i;

/** Conditional edge after `route`: one `Send` per routed worker (in parallel), else straight to `decide`. */
export function fanOut(state: SupervisorStateType, workerNames: readonly string[], deadline: number): Send[] | "decide" {
  const routes = state.decision?.routes.filter((r) => workerNames.includes(r.route)) ?? [];
  if (routes.length === 0) return "decide";
  const history = historyOf(state);
  return routes.map(
    (r) => new Send(r.route, { worker: r.route, question: r.question, turn: state.turn, history, deadline }),
  );
}

/** The last few turns (before this message) as plain text, for workers' context. */
export function historyOf(state: SupervisorStateType, turns = 6): Array<{ role: "user" | "assistant"; text: string }> {
  return state.messages
    .slice(0, -1)
    .slice(-turns)
    .map((m) => ({ role: m.getType() === "human" ? ("user" as const) : ("assistant" as const), text: String(m.content) }));
}

/**
 * Whether this turn goes to a person, and why. Order matters: an explicit request first, then a
 * worker that could not finish, then a failure, then a second unclear message in a row.
 */
export function decideHandoff(state: SupervisorStateType): HandoffDecision | null {
  const routes = state.decision?.routes ?? [];
  if (routes.some((r) => r.route === "human")) {
    return COMPLAINT.test(state.turn.text)
      ? { reason: "complaint", detail: "The user is complaining and should hear from a person." }
      : { reason: "user_request", detail: "The user asked for a person." };
  }
  const needs = state.results.find((r) => r.status === "needs_human");
  if (needs?.handoff) return needs.handoff;
  if (needs) return { reason: "needs_engineer", detail: `${needs.worker} could not finish.` };
  const failed = state.results.find((r) => r.status === "failed" || r.status === "timeout");
  if (failed) {
    return {
      reason: failed.status === "timeout" ? "worker_timeout" : "worker_failed",
      detail: `${failed.worker} ${failed.status === "timeout" ? "timed out" : "failed"}: ${failed.error ?? "unknown error"}`,
    };
  }
  if (state.decision?.unsure && state.turn.unclearStreak >= 1) {
    return { reason: "low_confidence", detail: "Two unclear messages in a row." };
  }
  return null;
}

export const CLARIFY_TEXT =
  "I want to make sure I get you to the right place. Is this about **billing** (charges, invoices, refunds), a **technical problem** with the app, or a **general question** about Acme Cloud? A sentence more about it helps.";

export { HANDOFF_TEXT } from "../../src/handoffs/reasons.ts";

/** Failed worker runs as user-facing notes, so a partial answer says what is missing. */
export function failureNotes(results: WorkerResult[], titles: (worker: string) => string): string[] {
  return results
    .filter((r) => r.status === "failed" || r.status === "timeout")
    .map((r) => `I couldn't finish the part about ${titles(r.worker).toLowerCase()} just now.`);
}
