import type { PlanStep, RoutedPart, RoutingDecision } from "../../src/types.ts";

/**
 * Routing plans: the steps that answer a message, and which wait for others.
 *
 * A decision's routes are its steps; most are independent and run in parallel. A step depends on
 * another when it needs that one's finding before it can act ("is the service down right now? if
 * so, can I get a refund for today": billing decides once tech support has checked the status).
 * The model router says so in its structured output; for the offline router, `inferPlan` finds
 * the dependencies it can tell from the words — a later part that refers back to an earlier one —
 * and leaves every other step independent.
 */

/** The decision's steps: its own plan when it has one, else one independent step per route. */
export function planOf(decision: Pick<RoutingDecision, "routes" | "plan">): PlanStep[] {
  if (decision.plan) return decision.plan;
  return decision.routes.map((r, i) => ({ id: `s${i + 1}`, worker: r.route, question: r.question, dependsOn: [] }));
}

/** Whether any step of the plan waits for another. */
export function hasDependencies(plan: readonly PlanStep[]): boolean {
  return plan.some((s) => s.dependsOn.length > 0);
}

/**
 * A part that opens by pointing back at what came before: it cannot be answered before the part
 * it points at ("if so …", "in that case …", "then …", "because of that …", "if it is …").
 */
const OPENS_WITH_BACK_REFERENCE =
  /^(?:(?:and|but|so|ok(?:ay)?)[\s,]+)?(?:if\s+(?:so|yes|not|that(?:'s|\s+is|\s+was)?(?:\s+the\s+case|\s+true)?|it(?:'s|\s+is|\s+was)|there\s+(?:is|was)(?:\s+one)?)|in\s+that\s+case|then|after\s+that|once\s+(?:that|it)(?:'s|\s+is)?\s+(?:done|fixed|sorted|confirmed)|because\s+of\s+(?:that|this|it)|based\s+on\s+(?:that|this)|given\s+that|due\s+to\s+(?:that|this)|for\s+(?:that|this)\s+(?:reason|outage|problem|issue|downtime))\b/i;

/** A pronoun standing for something the part itself does not name. */
const PRONOUN = /\b(?:it|that|this|them|those)\b/i;
const PART_WORDS = /[\p{L}\p{N}']+/gu;

/**
 * Whether a part refers back to an earlier one: it opens with a back-reference, or it is a short
 * request whose object is a pronoun ("can you retry it?", "can I get that back?"), with nothing
 * of its own for the pronoun to stand for.
 */
export function refersBack(part: string): boolean {
  const text = part.trim();
  if (OPENS_WITH_BACK_REFERENCE.test(text)) return true;
  const words = text.match(PART_WORDS) ?? [];
  return words.length <= 6 && PRONOUN.test(text);
}

/**
 * The offline plan of a decision, when the words show a dependency: each part (in the order of
 * the message) that refers back waits for the nearest earlier part of another worker. Undefined
 * when every step is independent (the decision then needs no plan).
 */
export function inferPlan(text: string, routes: readonly RoutedPart[]): PlanStep[] | undefined {
  if (routes.length < 2) return undefined;
  // The parts in the order the user wrote them (a part the router rewrote goes last).
  const lower = text.toLowerCase();
  const at = (r: RoutedPart) => {
    const i = lower.indexOf(r.question.trim().toLowerCase());
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  const ordered = [...routes].sort((a, b) => at(a) - at(b));
  const steps: PlanStep[] = ordered.map((r, i) => ({ id: `s${i + 1}`, worker: r.route, question: r.question, dependsOn: [] }));
  for (let i = 1; i < steps.length; i++) {
    const step = steps[i]!;
    if (!refersBack(step.question)) continue;
    const earlier = steps.slice(0, i).reverse().find((s) => s.worker !== step.worker);
    if (earlier) step.dependsOn = [earlier.id];
  }
  return hasDependencies(steps) ? steps : undefined;
}

/**
 * A plan from a model's routes, each naming the earlier entries whose findings it needs by their
 * position in the list (`after`). One step per route that was kept (`routes`, after the confidence
 * cut and de-duplication, whose questions it uses); a dependency on a dropped entry is dropped with
 * it, and only a route first named earlier can be waited for (no cycles). Undefined when every
 * step is independent.
 */
export function planFromPositions(entries: ReadonlyArray<{ route: string; after: readonly number[] }>, routes: readonly RoutedPart[]): PlanStep[] | undefined {
  const kept = routes.map((r) => r.route);
  const firstAt = (route: string) => entries.findIndex((e) => e.route === route);
  const ordered = [...kept].sort((a, b) => firstAt(a) - firstAt(b));
  const idOf = new Map(ordered.map((route, i) => [route, `s${i + 1}`]));
  const steps = ordered.map((route): PlanStep => {
    const needs = entries
      .filter((e) => e.route === route)
      .flatMap((e) => e.after)
      .map((p) => entries[p]?.route)
      .filter((r): r is string => r !== undefined && r !== route && idOf.has(r) && firstAt(r) < firstAt(route));
    return { id: idOf.get(route)!, worker: route, question: routes.find((r) => r.route === route)!.question, dependsOn: [...new Set(needs.map((r) => idOf.get(r)!))] };
  });
  return hasDependencies(steps) ? steps : undefined;
}
