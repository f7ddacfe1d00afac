import { planOf } from "../router/plan.ts";
import { HUMAN_ROUTE } from "../workers/registry.ts";
import type { StepInput, WorkerResult } from "../workers/types.ts";
import type { PlanStep, RoutingDecision } from "../../src/types.ts";

/**
 * The orchestration rules of the supervisor's steps, as plain functions (unit-tested without a
 * graph): which steps a decision plans, which may start, what a waiting step receives, and who
 * takes a step its worker could not answer.
 */

/**
 * The decision's steps that a registry worker answers. A dependency on a step that is not one
 * (a route no worker has) is dropped: nothing would ever finish it.
 */
export function stepsOf(decision: RoutingDecision | null, workerNames: readonly string[]): PlanStep[] {
  if (!decision) return [];
  const steps = planOf(decision).filter((s) => workerNames.includes(s.worker));
  const ids = new Set(steps.map((s) => s.id));
  return steps.map((s) => ({ ...s, dependsOn: s.dependsOn.filter((d) => ids.has(d)) }));
}

/** Each step's last word: the results of runs that did not pass their step on. */
export function finalResults(results: readonly WorkerResult[], plan?: readonly PlanStep[]): WorkerResult[] {
  const final = results.filter((r) => r.reassignedTo === undefined);
  if (!plan) return final;
  // In the order of the plan (the order the user asked), whatever order they finished in.
  const order = new Map(plan.map((s, i) => [s.id, i]));
  return [...final].sort((a, b) => (order.get(a.step ?? "") ?? plan.length) - (order.get(b.step ?? "") ?? plan.length));
}

/** Steps whose runs are over (a final result), by id. */
function doneSteps(results: readonly WorkerResult[]): Set<string> {
  return new Set(finalResults(results).flatMap((r) => (r.step ? [r.step] : [])));
}

/** Steps that start with the message: those that wait for nothing. */
export function initialSteps(plan: readonly PlanStep[]): PlanStep[] {
  return plan.filter((s) => s.dependsOn.length === 0);
}

/**
 * Steps that may start now: not started yet (an initial step, or one dispatched earlier), and
 * every step they wait for is over, answered or not (a failed input is still an input: the step
 * is told, and answers what it can).
 */
export function readySteps(plan: readonly PlanStep[], results: readonly WorkerResult[], dispatched: readonly string[]): PlanStep[] {
  const done = doneSteps(results);
  const started = new Set([...initialSteps(plan).map((s) => s.id), ...dispatched]);
  return plan.filter((s) => !started.has(s.id) && s.dependsOn.every((d) => done.has(d)));
}

/** What a waiting step receives: the final result of each step it waits for, as data. */
export function inputsFor(step: PlanStep, results: readonly WorkerResult[]): StepInput[] {
  const final = finalResults(results);
  return step.dependsOn.flatMap((id) => {
    const r = final.find((x) => x.step === id);
    return r ? [{ step: id, worker: r.worker, question: r.question, status: r.status, reply: r.reply, facts: r.facts ?? { toolResults: [] } }] : [];
  });
}

/**
 * How sure the router must have been of a worker for it to take over a step that failed or timed
 * out (a declined step goes to the next-best worker whatever its score: it costs one more look).
 */
export const REASSIGN_AFTER_FAILURE_SCORE = 0.3;

/** Time the message's budget must still have for a step to be offered to another worker, in ms. */
export const REASSIGN_MIN_REMAINING_MS = 500;

/**
 * The worker that gets a step its worker could not answer, once: the next best by the router's
 * scores among the workers that have not tried it and are not answering another part of the
 * message (`busy`: it would answer that part twice). A declined step (nothing found, outside its
 * tools) is always offered on; a failed or timed-out one (after its retries) only to a worker
 * the router thought likely, while the budget lasts. Undefined: a person takes it.
 */
export function nextWorkerFor(
  result: Pick<WorkerResult, "status">,
  tried: readonly string[],
  scores: Readonly<Record<string, number>>,
  workerNames: readonly string[],
  remainingMs: number,
  busy: readonly string[] = [],
): string | undefined {
  if (result.status === "ok" || result.status === "needs_human") return undefined;
  // Once: a step that was already passed on goes to a person next.
  if (tried.length > 1 || remainingMs < REASSIGN_MIN_REMAINING_MS) return undefined;
  const candidates = workerNames
    .filter((w) => w !== HUMAN_ROUTE && !tried.includes(w) && !busy.includes(w))
    .map((w) => ({ w, score: scores[w] ?? 0 }))
    .sort((a, b) => b.score - a.score);
  const best = candidates[0];
  if (!best) return undefined;
  if (result.status !== "declined" && best.score < REASSIGN_AFTER_FAILURE_SCORE) return undefined;
  return best.w;
}
