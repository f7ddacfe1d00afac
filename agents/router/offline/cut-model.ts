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
] as const;

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
  return out;
}

function clamp(x: number, bound: number): number {
  return Math.max(-bound, Math.min(bound, x));
}

/** The probability that a new request starts at a cut with these features. */
export function cutProbability(model: CutModel, features: ArrayLike<number>): number {
  let z = model.bias;
  for (let k = 0; k < features.length; k++) z += model.weights[k]! * features[k]!;
  return 1 / (1 + Math.exp(-z));
}

/** The shipped cut model (`cut-weights.ts`, written by `scripts/fit-cuts.ts`). */
export const DEFAULT_CUT_MODEL: CutModel = CUT_WEIGHTS;
