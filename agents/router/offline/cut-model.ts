import type { RouteScores } from "./classifier.ts";
import type { CutKind } from "./segmenter.ts";
import { CUT_WEIGHTS } from "./cut-weights.ts";

/**
 * The cut model: a logistic regression over features of one candidate cut (how it is marked,
 * what the classifier says of each side and of the whole, how long the sides are), giving the
 * probability that a new request starts there. `scripts/fit-cuts.ts` fits it on joins of
 * held-out corpus lines made with many connectors (never the ones `scripts/cv.ts` reports as
 * test or held back) and writes `cut-weights.ts`. No connector is a feature: a cue word or a
 * punctuation mark only says which {@link CutKind} the boundary is.
 */
export interface CutModel {
  /** One weight per {@link CUT_FEATURES} entry. */
  weights: readonly number[];
  bias: number;
  /** A cut is taken when its probability is above this (chosen on the tuning joins and singles). */
  threshold: number;
  /** Each side of a cut the model takes must be routed with at least this confidence. */
  minSide: number;
  /**
   * Each side of a cut the model takes must have at least this much to go on: its evidence as a
   * share of a typical message's (`RouteScores.evidence`; words the corpus never had add none).
   */
  minEvidence?: number;
}

/** The features, in weight order (the names are written beside the weights in `cut-weights.ts`). */
export const CUT_FEATURES = [
  "kind:line",
  "kind:sentence",
  "kind:clause",
  "kind:cue",
  "kind:contrast",
  "kind:word",
  "cue dropped",
  "log two/one",
  "logit left best",
  "logit right best",
  "logit weaker side",
  "logit whole best",
  "routes differ",
  "left none",
  "right none",
  "whole none",
  "log two / whole best",
  "log left words",
  "log right words",
  "position",
  "both sides placed",
  "right starts upper case",
  "log odds of the rule",
  "inner cut × logit weaker side",
  "word cut × log two/one",
  "clause cut × log two/one",
  "log shorter side words",
  "whole's route is left's",
  "whole's route is right's",
  "log left evidence",
  "log right evidence",
  "log weaker evidence",
  "logit left's share of right's route",
  "logit right's share of left's route",
  "logit strongest left word",
  "logit strongest right word",
  "logit weaker strongest word",
  "strongest left word is left's route",
  "strongest right word is right's route",
] as const;

/**
 * Products of pairs of features the model also weighs (after the features, in this order): a
 * side's confidence means more when the other side is also a request, a bare word boundary's
 * evidence less than a full stop's.
 */
const INTERACTING = [
  "log two/one",
  "logit left best",
  "logit right best",
  "logit whole best",
  "left none",
  "right none",
  "log left words",
  "log right words",
  "log left evidence",
  "log right evidence",
  "logit strongest left word",
  "logit strongest right word",
  "logit left's share of right's route",
  "logit right's share of left's route",
  "routes differ",
] as const;
const KIND_INTERACTING = ["logit weaker side", "log two/one", "log weaker evidence", "logit weaker strongest word"] as const;

/** Index pairs of the interaction terms, in weight order after {@link CUT_FEATURES}. */
export const CUT_INTERACTIONS: ReadonlyArray<readonly [number, number]> = (() => {
  const at = (name: string) => (CUT_FEATURES as readonly string[]).indexOf(name);
  const out: Array<[number, number]> = [];
  for (let a = 0; a < INTERACTING.length; a++) for (let b = a + 1; b < INTERACTING.length; b++) out.push([at(INTERACTING[a]!), at(INTERACTING[b]!)]);
  for (let k = 0; k < 6; k++) for (const f of KIND_INTERACTING) out.push([k, at(f)]);
  return out;
})();

/** The features followed by their interaction terms (what a model with more weights than features reads). */
export function withInteractions(features: ArrayLike<number>): Float64Array {
  const n = CUT_FEATURES.length;
  const out = new Float64Array(n + CUT_INTERACTIONS.length);
  for (let k = 0; k < n; k++) out[k] = features[k]!;
  CUT_INTERACTIONS.forEach(([a, b], k) => (out[n + k] = features[a]! * features[b]!));
  return out;
}

/** What the features of a cut are computed from. */
export interface CutEvidence {
  kind: CutKind;
  /** The cut drops cue words ("and also"). */
  cueDropped: boolean;
  left: RouteScores;
  right: RouteScores;
  whole: RouteScores;
  leftWords: number;
  rightWords: number;
  /** Where the cut is in its stretch, 0..1. */
  position: number;
  rightUpper: boolean;
  /** The word of each side that speaks most for one route by itself (read alone): its route and probability. */
  leftWord?: { route: string; p: number };
  rightWord?: { route: string; p: number };
  /** Confidence each side needs to count as placed. */
  placedAt: number;
  /** The odds rule's odds (prior × two / one, `decide.ts`). */
  odds: number;
}

const KINDS: readonly CutKind[] = ["line", "sentence", "clause", "cue", "contrast", "word"];

const logit = (p: number) => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};

function topOf(p: Record<string, number>): [string, number] {
  let top = "";
  let max = -1;
  for (const r in p) if (p[r]! > max) [top, max] = [r, p[r]!];
  return [top, Math.max(0, max)];
}

/**
 * The feature vector of one candidate cut (see {@link CUT_FEATURES}). `two` and `one` are the
 * likeliest "two requests of different routes" and "one request" readings of the sides.
 */
export function cutFeatures(e: CutEvidence, two: number, one: number, out: Float64Array = new Float64Array(CUT_FEATURES.length)): Float64Array {
  const [lr, lp] = topOf(e.left.byRoute);
  const [rr, rp] = topOf(e.right.byRoute);
  const [wr, wp] = topOf(e.whole.byRoute);
  const twoOne = clamp(Math.log(Math.max(two, 1e-12) / Math.max(one, 1e-12)), 20);
  for (let k = 0; k < KINDS.length; k++) out[k] = e.kind === KINDS[k] ? 1 : 0;
  let i = KINDS.length;
  out[i++] = e.cueDropped ? 1 : 0;
  out[i++] = twoOne;
  out[i++] = logit(lp);
  out[i++] = logit(rp);
  out[i++] = logit(Math.min(lp, rp));
  out[i++] = logit(wp);
  out[i++] = lr !== rr ? 1 : 0;
  out[i++] = e.left.none;
  out[i++] = e.right.none;
  out[i++] = e.whole.none;
  out[i++] = clamp(Math.log(Math.max(two, 1e-12) / Math.max(wp, 1e-12)), 20);
  out[i++] = Math.log(e.leftWords);
  out[i++] = Math.log(e.rightWords);
  out[i++] = e.position;
  out[i++] = lp >= e.placedAt && rp >= e.placedAt ? 1 : 0;
  out[i++] = e.rightUpper ? 1 : 0;
  out[i++] = clamp(Math.log(Math.max(e.odds, 1e-12)), 20);
  out[i++] = e.kind === "word" || e.kind === "clause" ? logit(Math.min(lp, rp)) : 0;
  out[i++] = e.kind === "word" ? twoOne : 0;
  out[i++] = e.kind === "clause" ? twoOne : 0;
  out[i++] = Math.log(Math.min(e.leftWords, e.rightWords));
  out[i++] = wr === lr ? 1 : 0;
  out[i++] = wr === rr ? 1 : 0;
  // How much each side has to go on (its words' TF-IDF weight against a typical message's): a
  // side of common words ("I need assistance") reads as a request by itself, but says little.
  const le = logEvidence(e.left);
  const re = logEvidence(e.right);
  out[i++] = le;
  out[i++] = re;
  out[i++] = Math.min(le, re);
  // Whether a side also speaks for the other side's route (one request told in two parts).
  out[i++] = logit(e.left.byRoute[rr] ?? 0);
  out[i++] = logit(e.right.byRoute[lr] ?? 0);
  // Whether each side has a word of its own that speaks for a route ("withdrawal"), or only
  // words every route has ("I need assistance").
  const lw = logit(e.leftWord?.p ?? 0.5);
  const rw = logit(e.rightWord?.p ?? 0.5);
  out[i++] = lw;
  out[i++] = rw;
  out[i++] = Math.min(lw, rw);
  out[i++] = e.leftWord?.route === lr ? 1 : 0;
  out[i++] = e.rightWord?.route === rr ? 1 : 0;
  return out;
}

function logEvidence(s: RouteScores): number {
  return clamp(Math.log(Math.max(s.evidence ?? 1, 1e-3)), 5);
}

function clamp(x: number, bound: number): number {
  return Math.max(-bound, Math.min(bound, x));
}

/** The probability that a new request starts at a cut with these features. */
export function cutProbability(model: CutModel, features: ArrayLike<number>): number {
  let z = model.bias;
  const n = Math.min(features.length, model.weights.length);
  for (let k = 0; k < n; k++) z += model.weights[k]! * features[k]!;
  if (model.weights.length > features.length) {
    for (let k = 0; k < CUT_INTERACTIONS.length; k++) {
      const [a, b] = CUT_INTERACTIONS[k]!;
      z += model.weights[features.length + k]! * features[a]! * features[b]!;
    }
  }
  return 1 / (1 + Math.exp(-z));
}

/** The shipped cut model (`cut-weights.ts`, written by `scripts/fit-cuts.ts`). */
export const DEFAULT_CUT_MODEL: CutModel = CUT_WEIGHTS;
