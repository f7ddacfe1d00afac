/**
 * Fitting the cut model (`agents/router/offline/cut-model.ts`): rows of candidate-cut features
 * from joins of held-out lines, labelled by whether the cut lies between the two requests, and
 * an L2 logistic regression fitted on them by Newton's method. Used by `scripts/fit-cuts.ts`
 * (the shipped weights) and `scripts/cv.ts` (one cut model per fold, fitted without that fold).
 */
import { CUT_FEATURES, type CutModel } from "../agents/router/offline/cut-model.ts";
import { cutCandidates, type DecideOptions, type RouteScorer } from "../agents/router/offline/decide.ts";
import { tokenize } from "../agents/router/offline/segmenter.ts";
import type { LabelledExample } from "../agents/router/types.ts";
import { CUT_FIT_JOINS, SCORING_JOINS, TUNING_JOINS, type Join } from "./router-joins.ts";
import { styledJoins } from "./join-styles.ts";

/** The L2 penalty of the cut model's weights. */
export const CUT_L2 = 1;

export interface CutRows {
  xs: Float64Array[];
  ys: number[];
  /** Each row's weight in the fit. */
  ws: number[];
}

/**
 * Fitting weight of a row of a message that is one request (a line alone, an out-of-scope line)
 * against a join's: splitting a single request costs more than missing a join's second request.
 * Chosen with `scripts/cv.ts` among 1, 3 and 10 (seeds 1–3) on the fitting joins and the singles
 * kept single, with {@link CUT_THRESHOLD}.
 */
export const SINGLE_WEIGHT = 3;

/**
 * The shipped cut model's threshold: the lowest of 0.9, 0.92, 0.95, 0.97 that kept ≥ 0.998 of
 * single requests single on each of seeds 1–3 (`scripts/cv.ts --only joins --thresholds
 * 0.9,0.92,0.95,0.97`, fitting joins and singles only). Chosen again for the model with the
 * side-evidence and strongest-word features: 0.95 had been chosen for an earlier one; now 0.92
 * keeps 1546, 1545, 1545 of 1548 single (every split but one of seed 3's is the odds rule's) and
 * 0.9 keeps 1544 on seed 2.
 */
export const CUT_THRESHOLD = 0.92;

/**
 * Each side of a cut the shipped model takes must be routed with at least this confidence (none:
 * the model is fitted on and finds the joins whose short side is weakly routed; 0.3 and 0.4
 * lost more fitting joins than the interaction terms gained).
 */
export const CUT_MIN_SIDE = 0;

/**
 * …and have at least this much to go on (`RouteScores.evidence`, a share of a typical message's):
 * "I want to talk to a human <script>window.__pwned = 1</script>" had a side of words the corpus
 * never had (evidence 0.16) read as billing at 0.29, and the model cut it off; the shortest real
 * requests ("Contests", "Price") have 0.5 or more. Set at 0.3 without a grid.
 */
export const CUT_MIN_EVIDENCE = 0.3;

/**
 * How many joins made up at random (`scripts/join-styles.ts`) are fitted on beside the 65
 * written fitting joins, and how many joins of other routes each held-out line is in.
 */
export const STYLED_JOINS = 0;
export const JOIN_PAIRS = 2;

/**
 * The joins the cut model is fitted on: the written fitting joins (`TUNING_JOINS`,
 * `SCORING_JOINS`, `CUT_FIT_JOINS`; never `TEST_JOINS` or `HELD_BACK_JOINS`) and `styled` joins
 * made up from parts (the same for the same seed), taken in turn.
 */
export function fittingJoins(seed: number, styled = STYLED_JOINS): Join[] {
  const written = [...TUNING_JOINS, ...SCORING_JOINS, ...CUT_FIT_JOINS];
  return [...written, ...styledJoins(styled, mulberry32(seed * 104729 + 3))];
}

/**
 * Rows from `held` (lines the scorer was not trained on): every candidate cut of each line
 * alone (none is a true cut), and of each line joined with `pairs` lines of other routes, one
 * join each, taken in turn from `joins` (true: a cut between the two lines' words); every cut
 * of the `outOfScope` lines (held out too) is false.
 */
export function cutRows(
  scorer: RouteScorer,
  held: readonly LabelledExample[],
  joins: readonly Join[],
  opts: DecideOptions,
  rand: () => number,
  outOfScope: readonly LabelledExample[] = [],
  pairs = 2,
  out: CutRows = { xs: [], ys: [], ws: [] },
  singleWeight = SINGLE_WEIGHT,
): CutRows {
  /** Every candidate cut of a line that is one request (or none) is a cut not to take, unless the rule already cuts it. */
  const neverCut = (text: string) => {
    const alone = cutCandidates(scorer, text, opts).candidates;
    if (alone.some((x) => x.ruleTakes)) return;
    for (const c of alone) {
      out.xs.push(c.features);
      out.ys.push(0);
      out.ws.push(singleWeight);
    }
  };
  // Out-of-scope lines (held out too) are never cut: a cut would give them routes.
  for (const e of outOfScope) neverCut(e.text);
  let n = 0;
  for (const a of held) {
    neverCut(a.text);
    const others = held.filter((b) => b.route !== a.route);
    if (others.length === 0) continue;
    for (let p = 0; p < pairs; p++) {
      const b = others[Math.floor(rand() * others.length)]!;
      const join = joins[n++ % joins.length]!;
      const text = join.join(a.text, b.text);
      const { tokens, candidates } = cutCandidates(scorer, text, opts);
      const la = tokenize(a.text).length;
      const lb = tokenize(b.text).length;
      // Words before the first line's ("1) …"): the joined text does not start with its first word.
      const first = tokenize(a.text)[0]?.text.toLowerCase();
      const lead = tokens[0]?.text.toLowerCase() === first ? 0 : 1;
      const from = lead + la;
      const to = tokens.length - lb;
      // The model decides only where the rule takes no cut: it is fitted on those messages.
      if (candidates.some((c) => c.ruleTakes)) continue;
      for (const c of candidates) {
        out.xs.push(c.features);
        out.ys.push(c.at >= from && c.at <= to ? 1 : 0);
        out.ws.push(1);
      }
    }
  }
  return out;
}

/** L2-penalised logistic regression (the bias unpenalised), by Newton's method. */
export function fitLogistic(rows: CutRows, l2 = 1, iterations = 25): { weights: number[]; bias: number } {
  const d = (rows.xs[0]?.length ?? CUT_FEATURES.length) + 1; // last: bias
  const w = new Float64Array(d);
  const n = rows.xs.length;
  for (let it = 0; it < iterations; it++) {
    const g = new Float64Array(d);
    const h = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      const x = rows.xs[i]!;
      let z = w[d - 1]!;
      for (let k = 0; k < d - 1; k++) z += w[k]! * x[k]!;
      const p = 1 / (1 + Math.exp(-z));
      const wi = rows.ws[i]!;
      const r = wi * (p - rows.ys[i]!);
      const s = wi * Math.max(p * (1 - p), 1e-9);
      for (let a = 0; a < d; a++) {
        const xa = a === d - 1 ? 1 : x[a]!;
        g[a]! += r * xa;
        for (let b = 0; b <= a; b++) h[a * d + b]! += s * xa * (b === d - 1 ? 1 : x[b]!);
      }
    }
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) h[b * d + a] = h[a * d + b]!;
    for (let k = 0; k < d - 1; k++) {
      g[k]! += l2 * w[k]!;
      h[k * d + k]! += l2;
    }
    const step = solve(h, g, d);
    let size = 0;
    for (let k = 0; k < d; k++) {
      w[k]! -= step[k]!;
      size = Math.max(size, Math.abs(step[k]!));
    }
    if (size < 1e-7) break;
  }
  return { weights: [...w.slice(0, d - 1)], bias: w[d - 1]! };
}

/** Solves `A x = b` (A symmetric positive definite, d×d) by Gaussian elimination with pivoting. */
function solve(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(m[r * d + c]!) > Math.abs(m[p * d + c]!)) p = r;
    if (p !== c) {
      for (let k = 0; k < d; k++) [m[c * d + k], m[p * d + k]] = [m[p * d + k]!, m[c * d + k]!];
      [x[c], x[p]] = [x[p]!, x[c]!];
    }
    const pivot = m[c * d + c]! || 1e-12;
    for (let r = c + 1; r < d; r++) {
      const f = m[r * d + c]! / pivot;
      if (f === 0) continue;
      for (let k = c; k < d; k++) m[r * d + k]! -= f * m[c * d + k]!;
      x[r]! -= f * x[c]!;
    }
  }
  for (let c = d - 1; c >= 0; c--) {
    let s = x[c]!;
    for (let k = c + 1; k < d; k++) s -= m[c * d + k]! * x[k]!;
    x[c] = s / (m[c * d + c]! || 1e-12);
  }
  return x;
}

/** A fitted cut model with a threshold. */
export function cutModelOf(fit: { weights: number[]; bias: number }, threshold: number, minSide: number, minEvidence = CUT_MIN_EVIDENCE): CutModel {
  return { weights: fit.weights, bias: fit.bias, threshold, minSide, minEvidence };
}

/** A small seeded PRNG: the same folds and pairings on every run. */
export function mulberry32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
