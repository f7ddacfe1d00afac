import { ROUTE_NAMES, type RouteName } from "../../../src/types.ts";
import type { RoutedPart, RoutingDecision } from "../types.ts";
import { splitIntents, type Boundary, type MessagePart } from "./splitter.ts";
import { hasContent } from "./text.ts";

/** What {@link decide} needs of a classifier: calibrated probabilities per route. */
export interface RouteScorer {
  probabilities(text: string): Record<RouteName, number>;
  /** Probabilities of `parts[from..to)` joined by spaces, sharing work across runs. */
  spanProbabilities(parts: readonly string[]): (from: number, to: number) => Record<RouteName, number>;
}

export interface DecideOptions {
  /** A single-route message needs this probability for its route; below it: unsure. */
  minConfidence: number;
  /**
   * Prior probability that the text on either side of a cut asks for different things, by how
   * the sides are joined (see {@link Boundary}). The message is cut where the evidence of the two
   * sides, weighed by this prior, favours two routes over one.
   */
  splitPrior: Record<Exclude<Boundary, "start">, number>;
}

export type OfflineDecision = Omit<RoutingDecision, "engine" | "latencyMs">;

/**
 * Routes one message: the whole message is scored, and when it has several parts (see
 * `splitter.ts`) it may be cut where it asks for two things, each side then taking its own
 * route. Otherwise it is one request and takes the whole message's best route, or none when that
 * is below `minConfidence` (`unsure`).
 *
 * `scores` are the whole message's probabilities, raised to a routed part's confidence where that
 * is higher. Empty or whitespace-only text gets no route and `unsure` (upstream rejects it first).
 */
export function decide(scorer: RouteScorer, text: string, opts: DecideOptions): OfflineDecision {
  const trimmed = text.trim();
  if (trimmed === "") return { routes: [], scores: { billing: 0, tech_support: 0, faq: 0, human: 0 }, unsure: true };

  const scores = { ...scorer.probabilities(trimmed) };
  const parts = splitIntents(trimmed);
  const routes = parts.length < 2 ? [] : merge(cut(spanScorer(scorer, parts), parts, 0, parts.length, opts, 0));
  if (routes.length >= 2) {
    for (const r of routes) scores[r.route] = Math.max(scores[r.route], r.confidence);
    return { routes, scores, unsure: false };
  }

  const [route, confidence] = best(scores);
  if (confidence < opts.minConfidence) return { routes: [], scores, unsure: true };
  return { routes: [{ route, confidence, question: trimmed }], scores, unsure: false };
}

/** Bounds the work on a long message: at most four requests are told apart. */
const MAX_DEPTH = 2;

/**
 * Each candidate cut scores both sides, so the work grows with the square of the parts. Past
 * this many candidates (a long, many-sentence message) only explicit additions are tried, and
 * past it again none: such a message is routed whole.
 */
const MAX_CANDIDATES = 8;

/** Where `parts[from..to)` may be cut: at any boundary on the first level, else at additions. */
function candidates(parts: readonly MessagePart[], from: number, to: number, depth: number): number[] {
  if (depth >= MAX_DEPTH) return [];
  const all: number[] = [];
  for (let at = from + 1; at < to; at++) all.push(at);
  const additions = all.filter((i) => parts[i]!.boundary === "addition");
  if (depth === 0 && all.length <= MAX_CANDIDATES) return all;
  return additions.length <= MAX_CANDIDATES ? additions : [];
}

/**
 * Cuts parts where they ask for two things, recursively; one routed part per side.
 *
 * Every cut between adjacent parts is tried, and each side is scored as a whole, so a fragment
 * is never judged without the rest of its request. A cut is worth keeping when "the sides need
 * two different routes" is more probable than "they need the same one", each side's route drawn
 * from its own calibrated scores and the odds weighed by the boundary's prior: "money deducted |
 * but order not placed" stays one billing request because a "but" rarely starts a new request and
 * "order not placed" alone is only a weak guess at another route. The best such cut wins. A side
 * is cut again only at an explicit addition ("also", "btw", a new line): a third request is
 * rarer than a "but" or a full stop inside one of two.
 */
function cut(
  score: SpanScorer,
  parts: readonly MessagePart[],
  from: number,
  to: number,
  opts: DecideOptions,
  depth: number,
): RoutedPart[] {
  let chosen: { at: number; odds: number } | null = null;
  for (const at of candidates(parts, from, to, depth)) {
    const boundary = parts[at]!.boundary;
    if (boundary === "start") continue;
    // A side of only function words ("What should I do?") asks nothing by itself.
    if (!score.hasContent(from, at) || !score.hasContent(at, to)) continue;
    const { two, one } = twoOrOne(score(from, at), score(at, to));
    const prior = opts.splitPrior[boundary];
    const odds = (prior * two) / ((1 - prior) * one);
    if (odds > 1 && (!chosen || odds > chosen.odds)) chosen = { at, odds };
  }
  if (!chosen) {
    const [route, confidence] = best(score(from, to));
    const question = parts.slice(from, to).map((p) => p.text).join(" ");
    return [{ route, confidence, question }];
  }
  return [...cut(score, parts, from, chosen.at, opts, depth + 1), ...cut(score, parts, chosen.at, to, opts, depth + 1)];
}

/** Probabilities of runs of parts, each run scored once per message. */
interface SpanScorer {
  (from: number, to: number): Record<RouteName, number>;
  hasContent(from: number, to: number): boolean;
}

function spanScorer(scorer: RouteScorer, parts: readonly MessagePart[]): SpanScorer {
  const texts = parts.map((p) => p.text);
  const span = scorer.spanProbabilities(texts);
  const content = texts.map(hasContent);
  const memo = new Map<number, Record<RouteName, number>>();
  const score = (from: number, to: number) => {
    const key = from * (texts.length + 1) + to;
    let p = memo.get(key);
    if (!p) memo.set(key, (p = span(from, to)));
    return p;
  };
  return Object.assign(score, { hasContent: (from: number, to: number) => content.slice(from, to).some(Boolean) });
}

/**
 * The probability of the likeliest pair of different routes for two sides (left's, right's),
 * and of the likeliest single route for both, each side's route drawn from its own scores.
 */
function twoOrOne(left: Record<RouteName, number>, right: Record<RouteName, number>): { two: number; one: number } {
  let two = 0;
  let one = Number.MIN_VALUE;
  for (const a of ROUTE_NAMES) {
    one = Math.max(one, left[a] * right[a]);
    for (const b of ROUTE_NAMES) if (a !== b) two = Math.max(two, left[a] * right[b]);
  }
  return { two, one };
}

/** One routed part per route, most confident first; the questions of one route are joined. */
function merge(found: readonly RoutedPart[]): RoutedPart[] {
  const byRoute = new Map<RouteName, RoutedPart>();
  for (const part of found) {
    const seen = byRoute.get(part.route);
    if (!seen) byRoute.set(part.route, { ...part });
    else {
      seen.confidence = Math.max(seen.confidence, part.confidence);
      seen.question = `${seen.question} ${part.question}`;
    }
  }
  return [...byRoute.values()].sort((a, b) => b.confidence - a.confidence);
}

function best(p: Record<RouteName, number>): [RouteName, number] {
  let top: RouteName = ROUTE_NAMES[0]!;
  for (const r of ROUTE_NAMES) if (p[r] > p[top]) top = r;
  return [top, p[top]];
}
