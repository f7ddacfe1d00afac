import type { RouteName } from "../../../src/types.ts";
import type { RoutedPart, RoutingDecision } from "../types.ts";
import type { RouteScores } from "./classifier.ts";
import { candidateCuts, tokenize, type Cut, type CutKind, type Token } from "./segmenter.ts";
import { contentWords, hasContent } from "./text.ts";
import { CUT_FEATURES, cutFeatures, cutProbability, type CutModel } from "./cut-model.ts";

/** What {@link decide} needs of a classifier: calibrated scores per route (and "none of these"). */
export interface RouteScorer {
  readonly routes: readonly RouteName[];
  scores(text: string): RouteScores;
  /** Scores of every prefix `parts[from..at)` and suffix `parts[at..to)` of a stretch. */
  sweepScores(parts: readonly string[]): (from: number, to: number) => { prefix: (at: number) => RouteScores; suffix: (at: number) => RouteScores };
  /** Each part read alone, not tempered by its evidence (the cut model's word features; optional). */
  partScores?(parts: readonly string[]): RouteScores[];
}

export interface DecideOptions {
  /** A single-route message needs this probability for its route; below it: unsure. */
  minConfidence: number;
  /**
   * Prior probability that the text on either side of a cut asks for different things, by how
   * the cut is marked (see {@link CutKind}). The message is cut where the evidence of the two
   * sides, weighed by this prior, favours two requests over one.
   */
  cutPrior: Record<CutKind, number>;
  /**
   * How much more likely the previous turn's route is for a short or anaphoric follow-up ("and
   * on Pro?"), as a factor on its probability before renormalising.
   */
  contextFactor: number;
  /**
   * Judge "out of scope" on the message's content words only (see `contentWords`): a message is
   * out of scope when, read for what it is about, "none of these" beats every route.
   */
  scopeOnContent: boolean;
  /**
   * How much likelier than "none of these" a route must be, read on the content words, for the
   * message to be in scope (1: just likelier).
   */
  scopeMargin: number;
  /**
   * Each side of a cut must be routed with at least this confidence (default: `minConfidence`;
   * 0.5 finds 1.3 % more tuning joins but keeps only 0.997 of single requests single).
   */
  sideConfidence: number;
  /**
   * The same inside a sentence (a cut at a comma or between two bare words), where a side is as
   * often a statement about the other side's request ("I have paid $160 for this order, I want a
   * refund") as a request of its own.
   */
  innerSideConfidence: number;
  /**
   * Where the odds rule (the sides' odds weighed by `cutPrior`, each side placed) takes no cut,
   * the cut model (`cut-model.ts`) may: the candidate of highest probability above its
   * threshold is taken. `null`: the rule alone.
   */
  cutModel: CutModel | null;
}

/** What the offline router knows of the conversation. */
export interface DecideContext {
  previousRoutes?: readonly RouteName[];
  /**
   * The message is known to be about the product (its knowledge base has an article on it):
   * the "none of these" share is set aside and the routes' shares decide.
   */
  assumeInScope?: boolean;
}

export type OfflineDecision = Omit<RoutingDecision, "engine" | "latencyMs">;

/**
 * Routes one message. The whole message is scored; it may be cut where it asks for two (or more)
 * things, each side then taking its own route. Otherwise it is one request and takes the whole
 * message's best route, or none when that is below `minConfidence` or when "none of these"
 * (out of scope) is likelier than any route (`unsure`).
 *
 * `scores` are the whole message's route probabilities, raised to a routed part's confidence
 * where that is higher. Empty or whitespace-only text gets no route and `unsure`.
 */
export function decide(scorer: RouteScorer, text: string, opts: DecideOptions, context: DecideContext = {}): OfflineDecision {
  const trimmed = text.trim();
  const zero = () => Object.fromEntries(scorer.routes.map((r) => [r, 0])) as Record<RouteName, number>;
  if (trimmed === "") return { routes: [], scores: zero(), unsure: true };

  const tokens = tokenize(trimmed);
  const whole = scorer.scores(trimmed);
  const scores = { ...whole.byRoute };
  const found: Found = { parts: [], unplaced: null };
  if (tokens.length >= 2) {
    const span = spanScorer(scorer, tokens);
    const cuts = candidateCuts(trimmed, tokens);
    split(span, cuts, trimmed, tokens, 0, tokens.length, opts, 0, found, best(whole.byRoute)[1]);
  }
  const unplaced = found.unplaced === null ? {} : { unplaced: found.unplaced };
  const routes = merge(found.parts);
  if (routes.length >= 2) {
    for (const r of routes) scores[r.route] = Math.max(scores[r.route] ?? 0, r.confidence);
    return { routes, scores, unsure: false, outOfScope: whole.none, ...unplaced };
  }

  let inScope = context.assumeInScope === true;
  if (!inScope && opts.scopeOnContent && whole.none > 0) {
    const content = contentWords(trimmed);
    if (content !== "") {
      const about = scorer.scores(content);
      inScope = about.none * opts.scopeMargin < best(about.byRoute)[1];
    }
  }
  if (inScope && whole.none < 1) {
    for (const r of Object.keys(scores)) scores[r] = scores[r]! / (1 - whole.none);
  }
  let [route, confidence] = best(scores);
  let fromContext: RouteName | undefined;
  const previous = context.previousRoutes?.[0];
  if (previous !== undefined && previous in scores && isFollowUp(tokens)) {
    // A follow-up points back into the conversation, so it is a request of one of the routes
    // (the "none of these" share is set aside), and the previous route is its prior.
    const boosted = { ...scores, [previous]: (scores[previous] ?? 0) * opts.contextFactor };
    const total = Object.values(boosted).reduce((s, p) => s + p, 0);
    for (const r of Object.keys(boosted)) boosted[r] = boosted[r]! / total;
    const [r, c] = best(boosted);
    if (r === previous && c >= opts.minConfidence) {
      [route, confidence] = [r, c];
      scores[r] = c;
      fromContext = r;
    }
  }
  const context$ = fromContext === undefined ? {} : { fromContext };
  if (confidence < opts.minConfidence || (fromContext === undefined && !inScope && whole.none >= confidence)) {
    return { routes: [], scores, unsure: true, outOfScope: whole.none, ...unplaced };
  }
  // In scope, the "none of these" share was set aside (the routes' shares renormalised): 0 here.
  const none = inScope && whole.none < 1 ? 0 : whole.none;
  return { routes: [{ route, confidence, question: trimmed }], scores, unsure: false, outOfScope: none, ...unplaced, ...context$ };
}

/**
 * Whether a message reads as a follow-up the previous route should decide: it opens with a word
 * that continues ("and on Pro?", "what about…") or points back ("it's been like this since…").
 * A message that does neither ("what's the weather tomorrow") is read on its own, however short;
 * one that does is still routed elsewhere when its own evidence is clear (the prior is a factor,
 * not a rule).
 */
function isFollowUp(tokens: readonly Token[]): boolean {
  const lower = tokens.map((t) => t.text.toLowerCase());
  if (lower.length === 0) return false;
  if (CONTINUING.has(lower[0]!) || (/^(?:what|how)$/.test(lower[0]!) && /^(?:about|if)$/.test(lower[1] ?? ""))) return true;
  return lower.slice(0, 8).some((w) => POINTING.has(w));
}

const CONTINUING = new Set(["and", "also", "but", "so", "ok", "okay", "same", "then", "still", "plus"]);
const POINTING = new Set(["it", "its", "it's", "this", "that", "these", "those", "they", "them", "there", "same", "again", "still"]);

/** Bounds the work on a long message: at most four requests are told apart. */
const MAX_DEPTH = 2;

/**
 * Trying every word boundary scores both sides of each, so the work grows with the square of the
 * words. Past this many words in a stretch only marked cuts (punctuation, cue words) are tried.
 */
const MAX_WORD_CUTS = 40;

/** A side cut off at a bare word boundary needs this many words, so one word never moves a route. */
const MIN_WORDS_AT_WORD_CUT = 3;

/** Words a request inside a sentence does not end on (articles, possessives, prepositions). */
const DANGLING = new Set("a an the my your our their his her its this that of to for with from in on at by into about than as is are was were be i you we can could would will not".split(" "));

/**
 * Words a request inside a sentence does not start with: they continue the words before them
 * (so does a number).
 */
const BOUND = new Set("of for from to with by at than as into about".split(" "));

/** Object pronouns that point back to something the other side named. */
const BACK = new Set(["it", "this", "that", "them", "these", "those"]);

function lower(t: Token): string {
  return t.text.toLowerCase();
}

/**
 * Below this prior a cut is not scored: a word boundary inside a message the classifier reads as
 * one request with 99.9 % confidence (its prior is shrunk to 0.0001).
 */
const MIN_PRIOR = 0.0005;

/** A rejected cut this close to being taken marks a possible further request (`unplaced`). */
const UNPLACED_ODDS = 0.25;

interface Found {
  parts: RoutedPart[];
  unplaced: string | null;
}

/**
 * Cuts `tokens[from..to)` where it asks for two things, recursively; one routed part per side.
 *
 * Every word boundary is tried and each side is scored as a whole. A cut is worth keeping when
 * "the sides are two requests of different routes" is more probable than "they are one request"
 * — both sides of one route, or one side not a request at all ("none of these": "hi there, hope
 * you are well") — each side's route drawn from its own calibrated scores and the odds weighed by
 * the cut's prior. The best such cut wins, and each side may be cut again.
 */
function split(
  score: SpanScorer,
  cuts: readonly Cut[],
  text: string,
  tokens: readonly Token[],
  from: number,
  to: number,
  opts: DecideOptions,
  depth: number,
  found: Found,
  wholeConfidence: number,
): void {
  // The odds rule's cut if it takes one; else, with a cut model, in a message the rule leaves
  // whole, the cut the model finds likeliest (it is fitted on such messages: the joins the rule
  // misses). The sides of a cut are cut again by the rule only.
  const pick: { rule: { cut: Cut; odds: number } | null; model: { cut: Cut; odds: number } | null; nearest: { cut: Cut; odds: number } | null } = { rule: null, model: null, nearest: null };
  if (depth < MAX_DEPTH) {
    forEachCut(score, cuts, tokens, from, to, opts, wholeConfidence, (c) => {
      if (c.odds > 1 && c.placed) {
        if (!pick.rule || c.odds > pick.rule.odds) pick.rule = { cut: c.cut, odds: c.odds };
        return;
      }
      const model = opts.cutModel;
      if (model && depth === 0 && !pick.rule && c.weaker >= model.minSide && c.weakerEvidence >= (model.minEvidence ?? 0)) {
        const p = cutProbability(model, c.features());
        if (p > model.threshold && (!pick.model || p > pick.model.odds)) pick.model = { cut: c.cut, odds: p };
      }
      if (!pick.nearest || c.odds > pick.nearest.odds) pick.nearest = { cut: c.cut, odds: c.odds };
    });
  }
  const chosen = pick.rule ?? pick.model;
  const nearest = pick.nearest;
  const { prefix } = score.sides(from, to);
  if (!chosen) {
    const [route, confidence] = best(prefix(to).byRoute);
    found.parts.push({ route, confidence, question: question(text, tokens, from, to) });
    if (nearest && nearest.odds >= UNPLACED_ODDS && found.unplaced === null) {
      found.unplaced = question(text, tokens, nearest.cut.resume, to);
    }
    return;
  }
  split(score, cuts, text, tokens, from, chosen.cut.at, opts, depth + 1, found, wholeConfidence);
  split(score, cuts, text, tokens, chosen.cut.resume, to, opts, depth + 1, found, wholeConfidence);
}

/** A candidate cut that passed the rules, with what the sides say. */
interface ScoredCut {
  cut: Cut;
  /** Odds of "two requests" against "one", weighed by the cut's prior. */
  odds: number;
  /** Both sides routed with the confidence they need. */
  placed: boolean;
  /** The confidence of the side routed with less. */
  weaker: number;
  /** The evidence share of the side with less to go on (1 where the scorer does not say). */
  weakerEvidence: number;
  /** The cut model's features (computed when asked for). */
  features(): Float64Array;
}

const featureBuffer = new Float64Array(CUT_FEATURES.length);

/** Calls `visit` for every candidate cut of `tokens[from..to)` the rules leave open. */
function forEachCut(
  score: SpanScorer,
  cuts: readonly Cut[],
  tokens: readonly Token[],
  from: number,
  to: number,
  opts: DecideOptions,
  wholeConfidence: number,
  visit: (c: ScoredCut) => void,
): void {
  const { prefix, suffix } = score.sides(from, to);
  const long = to - from > MAX_WORD_CUTS;
  let whole: RouteScores | undefined;
  for (const cut of cuts) {
    if (cut.at <= from || cut.resume >= to) continue;
    if (cut.kind === "word" && (long || cut.at - from < MIN_WORDS_AT_WORD_CUT || to - cut.resume < MIN_WORDS_AT_WORD_CUT)) continue;
    // A side of only function words ("What should I do?") asks nothing by itself.
    if (!score.hasContent(from, cut.at) || !score.hasContent(cut.resume, to)) continue;
    // A side that points back with one word of its own ("…, where can I find it?") goes on
    // about the other side's request: it is not a request of its own.
    if (score.pointsBackThin(from, cut.at) || score.pointsBackThin(cut.resume, to)) continue;
    // Inside a sentence, a request does not end on "my" or "to", nor start with "of".
    // A number continues the words before it ("the bill #00108", "completed 33 not added").
    if (
      (cut.kind === "word" || cut.kind === "clause") &&
      (DANGLING.has(lower(tokens[cut.at - 1]!)) || BOUND.has(lower(tokens[cut.resume]!)) || /^\p{N}/u.test(tokens[cut.resume]!.text))
    ) {
      continue;
    }
    // An unmarked cut inside a message the classifier reads as one clear request is less
    // likely still: the prior shrinks with the whole message's confidence.
    const prior = cut.kind === "word" ? opts.cutPrior.word * Math.min(1, 2 * (1 - wholeConfidence)) : opts.cutPrior[cut.kind];
    if (prior < MIN_PRIOR && !opts.cutModel) continue;
    const left = prefix(cut.at);
    const right = suffix(cut.resume);
    const { two, one } = twoOrOne(left, right);
    const odds = (Math.max(prior, MIN_PRIOR) * two) / ((1 - prior) * one);
    // Each side must be a request of its own: a side no route is confident about is not cut
    // off (it may still be a request the router cannot place: `unplaced`).
    const need = cut.kind === "word" || cut.kind === "clause" ? Math.max(opts.sideConfidence, opts.innerSideConfidence) : opts.sideConfidence;
    const weaker = Math.min(best(left.byRoute)[1], best(right.byRoute)[1]);
    const placed = weaker >= need;
    visit({
      cut,
      odds,
      placed,
      weaker,
      weakerEvidence: Math.min(left.evidence ?? 1, right.evidence ?? 1),
      features: () => {
        whole ??= prefix(to);
        const evidence = {
          kind: cut.kind,
          cueDropped: cut.resume > cut.at,
          left,
          right,
          whole,
          leftWords: cut.at - from,
          rightWords: to - cut.resume,
          position: (cut.at - from) / (to - from),
          rightUpper: /^\p{Lu}/u.test(tokens[cut.resume]!.text),
          leftWord: score.strongestWord(from, cut.at),
          rightWord: score.strongestWord(cut.resume, to),
          placedAt: need,
          odds,
        };
        return cutFeatures(evidence, two, one, featureBuffer);
      },
    });
  }
}

/** A candidate cut of a whole message and its cut-model features (fitting, `scripts/fit-cuts.ts`). */
export interface CutCandidate {
  at: number;
  resume: number;
  kind: CutKind;
  features: Float64Array;
  /** What the rule without a cut model does (odds > 1 and both sides placed). */
  ruleTakes: boolean;
}

/** The candidate cuts of a message's first level, with their features: what the cut model is fitted on. */
export function cutCandidates(scorer: RouteScorer, text: string, opts: DecideOptions): { tokens: Token[]; candidates: CutCandidate[] } {
  const trimmed = text.trim();
  const tokens = tokenize(trimmed);
  const candidates: CutCandidate[] = [];
  if (tokens.length < 2) return { tokens, candidates };
  const span = spanScorer(scorer, tokens);
  const wholeConfidence = best(scorer.scores(trimmed).byRoute)[1];
  const minSide = opts.cutModel?.minSide ?? 0;
  const minEvidence = opts.cutModel?.minEvidence ?? 0;
  forEachCut(span, candidateCuts(trimmed, tokens), tokens, 0, tokens.length, opts, wholeConfidence, (c) => {
    // What the model never takes is not fitted on, except as what the rule takes.
    if ((c.weaker < minSide || c.weakerEvidence < minEvidence) && !(c.odds > 1 && c.placed)) return;
    candidates.push({ at: c.cut.at, resume: c.cut.resume, kind: c.cut.kind, features: Float64Array.from(c.features()), ruleTakes: c.odds > 1 && c.placed });
  });
  return { tokens, candidates };
}

/** The original text of `tokens[from..to)`, with its closing punctuation. */
function question(text: string, tokens: readonly Token[], from: number, to: number): string {
  const start = tokens[from]!.start;
  const next = tokens[to];
  const end = next ? next.start : text.length;
  const raw = text.slice(start, end).trim();
  return next ? raw.replace(/[\s,;:\-\u2013\u2014(]+$/u, "") : raw;
}

/** Scores of the prefixes and suffixes of stretches of tokens, each stretch swept once. */
interface SpanScorer {
  sides(from: number, to: number): { prefix: (at: number) => RouteScores; suffix: (at: number) => RouteScores };
  hasContent(from: number, to: number): boolean;
  /** Whether `tokens[from..to)` points back (see {@link BACK}) and has at most one content word. */
  pointsBackThin(from: number, to: number): boolean;
  /** The word of `tokens[from..to)` that speaks most for one route by itself: its best route and probability. */
  strongestWord(from: number, to: number): { route: RouteName; p: number };
}

/**
 * Every candidate cut asks the same questions of its two sides; what is read of each word is
 * counted once per message (running counts), so a question costs O(1), not O(words).
 */
function spanScorer(scorer: RouteScorer, tokens: readonly Token[]): SpanScorer {
  const texts = tokens.map((t) => t.text);
  const sweep = scorer.sweepScores(texts);
  // Running counts: `count[i]` of tokens[0..i).
  const running = (of: (t: string) => number) => {
    const out = new Int32Array(texts.length + 1);
    for (let i = 0; i < texts.length; i++) out[i + 1] = out[i]! + of(texts[i]!);
    return out;
  };
  const content = running((t) => (hasContent(t) ? 1 : 0));
  // A token's content words are those of its text (contentWords of a run is that of its tokens joined).
  const contentCount = running((t) => contentWords(t).split(" ").filter(Boolean).length);
  const back = running((t) => (BACK.has(t.toLowerCase()) ? 1 : 0));
  const memo = new Map<number, ReturnType<SpanScorer["sides"]>>();
  let words: Array<[RouteName, number]> | undefined;
  return {
    sides(from, to) {
      const key = from * (texts.length + 1) + to;
      let s = memo.get(key);
      if (!s) memo.set(key, (s = sweep(from, to)));
      return s;
    },
    hasContent: (from, to) => content[to]! - content[from]! > 0,
    pointsBackThin: (from, to) => back[to]! - back[from]! > 0 && contentCount[to]! - contentCount[from]! <= 1,
    strongestWord(from, to) {
      words ??= (scorer.partScores?.(texts) ?? []).map((s) => best(s.byRoute));
      let top: [RouteName, number] = ["", 0];
      for (let i = from; i < to; i++) if (words[i] && words[i]![1] > top[1]) top = words[i]!;
      return { route: top[0], p: top[1] };
    },
  };
}

/**
 * The probability of the likeliest pair of different routes for two sides (left's, right's),
 * and of the likeliest reading as one request: one route for both, or one side a request and the
 * other none ("thanks, and where is my refund").
 */
function twoOrOne(left: RouteScores, right: RouteScores): { two: number; one: number } {
  let two = 0;
  let one = Number.MIN_VALUE;
  let bestLeft = 0;
  let bestRight = 0;
  for (const a in left.byRoute) {
    const pa = left.byRoute[a]!;
    const ra = right.byRoute[a] ?? 0;
    one = Math.max(one, pa * ra);
    bestLeft = Math.max(bestLeft, pa);
    bestRight = Math.max(bestRight, ra);
    for (const b in right.byRoute) if (a !== b) two = Math.max(two, pa * right.byRoute[b]!);
  }
  one = Math.max(one, bestLeft * right.none, left.none * bestRight);
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
  let top: RouteName | undefined;
  let max = -1;
  for (const r in p) {
    const v = p[r]!;
    if (v > max) [top, max] = [r, v];
  }
  return [top ?? "", Math.max(0, max)];
}
