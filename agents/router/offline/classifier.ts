import type { RouteName } from "../../../src/types.ts";
import type { LabelledExample } from "../types.ts";
import { logits, trainSoftmax, type SoftmaxModel } from "./softmax.ts";
import { TfidfVectorizer, type SweepPoint, type VectorizerState } from "./vectorizer.ts";

/** Options of {@link IntentClassifier.train}. */
export interface ClassifierOptions {
  /**
   * The routes to score, in order (the registry's `routes`). Default: every route the examples
   * name, sorted. A route with no example still gets a class (it is never predicted).
   */
  routes?: readonly RouteName[];
  /** L2 penalty on the weights. Default {@link DEFAULT_L2}. */
  l2?: number;
  /**
   * Softmax temperature that turns scores into calibrated probabilities. Default
   * {@link DEFAULT_TEMPERATURE}.
   */
  temperature?: number;
  /**
   * How strongly a fragment's scores are tempered by its evidence (see
   * {@link IntentClassifier.sweepScores}). Default {@link DEFAULT_EVIDENCE_POWER}.
   */
  evidencePower?: number;
}

/**
 * A fragment's temperature is divided by (its evidence / a typical message's)^power, capped at 1.
 * Tried with `scripts/cv.ts` (`--evidence-power`) at 1, 0.5 and 0: weaker tempering finds 1 % more
 * of the tuning joins but splits single requests (0.993 kept single at 0.5, against the 0.998
 * floor), so it stays 1.
 */
export const DEFAULT_EVIDENCE_POWER = 1;

/**
 * The label of the "none of these" class: lines that are not support requests at all
 * (`../corpus/out-of-scope/`). Never a route; a worker may not be named so.
 */
export const OUT_OF_SCOPE = "out_of_scope";

/**
 * Cross-validated accuracy is flat for penalties between 0.003 and 0.03 (and lower at 0.1 and
 * above): the middle of that plateau, on a coarse grid of powers of ~3, not tuned further.
 */
export const DEFAULT_L2 = 0.01;

/**
 * Temperature fitted by `scripts/cv.ts` (minimum log-loss of out-of-fold predictions on the
 * default corpus). Below 1 because the penalty leaves the model under-confident. A model trained on
 * the full corpus is about as sharp as one trained on 9/10 of it, so the value carries over;
 * re-run the script when the features, the weights or `l2` change.
 */
export const DEFAULT_TEMPERATURE = 0.7;

/**
 * Training weight of an out-of-scope line. Lower than a support line's so that support requests
 * keep their routes (≥ 98 % of held-out support lines still routed) while text that is no
 * support request at all mostly comes out unsure; chosen on one split of the corpus and half the
 * out-of-scope topics (`scripts/cv.ts` reports all folds).
 */
export const OUT_OF_SCOPE_WEIGHT = 0.25;

/** Sources whose text is machine-generated from templates (see the corpus README). */
export const SYNTHETIC_SOURCES: ReadonlySet<string> = new Set(["bitext_customer_support"]);

/**
 * Training weight of each example. An example's own `weight` wins (a company's own lines,
 * `ROUTER_EXAMPLES`). Synthetic, templated lines (Bitext: 77 % of the corpus, many differing
 * only in a name or a typo) carry less evidence per line than real user messages, and left at
 * full weight they teach the model their phrasing at the expense of how users really write. So
 * they are weighted down until they weigh, in total, as much as everything else (real-user lines
 * and registry examples); they are never weighted up.
 */
export function exampleWeights(examples: readonly LabelledExample[]): number[] {
  const isSynthetic = (e: LabelledExample) => e.source !== undefined && SYNTHETIC_SOURCES.has(e.source);
  const inScope = examples.filter((e) => e.route !== OUT_OF_SCOPE);
  const synthetic = inScope.filter(isSynthetic).length;
  const weight = synthetic === 0 ? 1 : Math.min(1, (inScope.length - synthetic) / synthetic);
  return examples.map((e) => e.weight ?? (e.route === OUT_OF_SCOPE ? OUT_OF_SCOPE_WEIGHT : isSynthetic(e) ? weight : 1));
}

/** A message's calibrated scores: each route's probability, and that of "none of these". */
export interface RouteScores {
  /** Probability of each route; with {@link RouteScores.none} they sum to 1. */
  byRoute: Record<RouteName, number>;
  /** Probability that no route applies (0 when no out-of-scope lines were trained on). */
  none: number;
  /**
   * How much the text has to go on, as a share of a typical training message's (its word view's
   * TF-IDF length before normalisation; uncapped): set for the runs of {@link IntentClassifier.sweepScores}.
   * A run of common words ("I need assistance") has little, one with rarer words more.
   */
  evidence?: number;
}

/** A trained {@link IntentClassifier} as plain data. */
export interface ClassifierState {
  vectorizer: VectorizerState;
  model: SoftmaxModel;
  classes: readonly string[];
  temperature: number;
  evidencePower: number;
}

/** Scores one message over the routes: TF-IDF features, softmax regression, temperature. */
export class IntentClassifier {
  private constructor(
    private readonly vectorizer: TfidfVectorizer,
    private readonly model: SoftmaxModel,
    /** The classes, in model order: the routes, then {@link OUT_OF_SCOPE} when trained. */
    private readonly classes: readonly string[],
    /** Softmax temperature of {@link IntentClassifier.probabilities}. */
    readonly temperature: number,
    /** See {@link ClassifierOptions.evidencePower}. */
    readonly evidencePower: number = DEFAULT_EVIDENCE_POWER,
  ) {}

  /**
   * Trains on the examples (deterministic: the same examples give the same classifier). Lines
   * labelled {@link OUT_OF_SCOPE} train the "none of these" class.
   */
  static train(examples: readonly LabelledExample[], opts: ClassifierOptions = {}): IntentClassifier {
    const named = [...new Set(examples.map((e) => e.route))].filter((r) => r !== OUT_OF_SCOPE).sort();
    const routes = opts.routes ? [...opts.routes, ...named.filter((r) => !opts.routes!.includes(r))] : named;
    const classes = examples.some((e) => e.route === OUT_OF_SCOPE) ? [...routes, OUT_OF_SCOPE] : routes;
    const texts = examples.map((e) => e.text);
    const vectorizer = TfidfVectorizer.fit(texts);
    const xs = texts.map((t) => vectorizer.transform(t));
    const ys = examples.map((e) => classes.indexOf(e.route));
    const model = trainSoftmax(xs, ys, classes.length, vectorizer.size, {
      l2: opts.l2 ?? DEFAULT_L2,
      sampleWeights: exampleWeights(examples),
    });
    return new IntentClassifier(vectorizer, model, classes, opts.temperature ?? DEFAULT_TEMPERATURE, opts.evidencePower ?? DEFAULT_EVIDENCE_POWER);
  }

  /**
   * The trained classifier as plain data (maps, typed arrays, numbers, strings), which
   * {@link IntentClassifier.fromState} turns back into the same classifier: the trained-router
   * cache (`../model-cache.ts`) stores it with `v8.serialize`.
   */
  toState(): ClassifierState {
    return { vectorizer: this.vectorizer.toState(), model: this.model, classes: this.classes, temperature: this.temperature, evidencePower: this.evidencePower };
  }

  static fromState(state: ClassifierState): IntentClassifier {
    return new IntentClassifier(TfidfVectorizer.fromState(state.vectorizer), state.model, state.classes, state.temperature, state.evidencePower);
  }

  /** The routes this classifier scores, in order ({@link OUT_OF_SCOPE} is not one). */
  get routes(): readonly RouteName[] {
    return this.classes.filter((c) => c !== OUT_OF_SCOPE);
  }

  /** The same model read at another temperature (calibration experiments). */
  withTemperature(temperature: number): IntentClassifier {
    return new IntentClassifier(this.vectorizer, this.model, this.classes, temperature, this.evidencePower);
  }

  /** The same model with fragments tempered by another power of their evidence (tuning). */
  withEvidencePower(power: number): IntentClassifier {
    return new IntentClassifier(this.vectorizer, this.model, this.classes, this.temperature, power);
  }

  /** Uncalibrated scores, in class order ({@link IntentClassifier.routes}, then out of scope). */
  logits(text: string): Float64Array {
    return logits(this.model, this.vectorizer.transform(text));
  }

  /** Calibrated probability of each route and of none of them. */
  scores(text: string): RouteScores {
    return this.calibrated(this.logits(text));
  }

  /** Calibrated probability of each route (without the out-of-scope share). */
  probabilities(text: string): Record<RouteName, number> {
    return this.scores(text).byRoute;
  }

  /**
   * Scores of every prefix and suffix of a stretch of parts (see `TfidfVectorizer.sweeps`):
   * `prefix[at]` is `parts[from..at)`, `suffix[at]` is `parts[at..to)`. A run is read for the
   * evidence it has: its temperature is divided by its evidence as a share of a typical training
   * message's (capped at 1), so a fragment of common words ("is it possible to") does not speak
   * as loudly as a request. (Chosen on a split of the tuning joins, against the share of the
   * whole message's evidence and against none.)
   */
  sweepScores(parts: readonly string[]): (from: number, to: number) => { prefix: (at: number) => RouteScores; suffix: (at: number) => RouteScores } {
    const sweep = this.vectorizer.sweeps(parts, this.model.params, this.model.classes);
    const typical = this.vectorizer.typicalEvidence;
    // Calibrated only when asked for: most cuts of a message are ruled out before their scores.
    // (and each pass of the sweep made only when one of its points is read).
    const reader = (pass: () => SweepPoint[]) => {
      const read: RouteScores[] = [];
      let points: SweepPoint[] | undefined;
      return (at: number) => {
        if (read[at]) return read[at];
        points ??= pass();
        const share = points[at]!.evidence / typical;
        const scores = this.calibrated(points[at]!.z, Math.min(1, share) ** this.evidencePower);
        scores.evidence = share;
        return (read[at] = scores);
      };
    };
    return (from, to) => {
      const s = sweep(from, to);
      return { prefix: reader(() => s.prefix), suffix: reader(() => s.suffix) };
    };
  }

  /**
   * Each part read alone, at the calibrated temperature and not tempered by its evidence: what
   * one word says by itself ("withdrawal" speaks for billing; "I", "need", "assistance" for no
   * route in particular).
   */
  partScores(parts: readonly string[]): RouteScores[] {
    const sweep = this.vectorizer.sweeps(parts, this.model.params, this.model.classes);
    return parts.map((_, i) => this.calibrated(sweep(i, i + 1).prefix[i + 1]!.z));
  }

  private calibrated(z: Float64Array, evidence = 1): RouteScores {
    // `softmax(z, temperature)` written out (the same arithmetic, so the same doubles), without
    // its arrays: every candidate cut of a message reads two of these.
    const temperature = this.temperature / Math.max(evidence, 1e-6);
    let max = -Infinity;
    for (let c = 0; c < z.length; c++) max = Math.max(max, z[c]! / temperature);
    let sum = 0;
    for (let c = 0; c < z.length; c++) sum += Math.exp(z[c]! / temperature - max);
    const logSum = max + Math.log(sum);
    const byRoute: Record<RouteName, number> = {};
    let none = 0;
    for (let i = 0; i < this.classes.length; i++) {
      const p = i < z.length ? Math.exp(z[i]! / temperature - logSum) : 0;
      if (this.classes[i] === OUT_OF_SCOPE) none = p;
      else byRoute[this.classes[i]!] = p;
    }
    return { byRoute, none };
  }

}
