import { ROUTE_NAMES, type RouteName } from "../../../src/types.ts";
import type { LabelledExample } from "../types.ts";
import { logits, softmax, trainSoftmax, type SoftmaxModel } from "./softmax.ts";
import { TfidfVectorizer } from "./vectorizer.ts";

/** Options of {@link IntentClassifier.train}. */
export interface ClassifierOptions {
  /** L2 penalty on the weights. Default {@link DEFAULT_L2}. */
  l2?: number;
  /**
   * Softmax temperature that turns scores into calibrated probabilities. Default
   * {@link DEFAULT_TEMPERATURE}.
   */
  temperature?: number;
}

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

/** Sources whose text is machine-generated from templates (see the corpus README). */
export const SYNTHETIC_SOURCES: ReadonlySet<string> = new Set(["bitext_customer_support"]);

/**
 * Training weight of each example. Synthetic, templated lines (Bitext: 77 % of the corpus, many
 * differing only in a name or a typo) carry less evidence per line than real user messages, and
 * left at full weight they teach the model their phrasing at the expense of how users really
 * write. So they are weighted down until they weigh, in total, as much as everything else
 * (real-user lines and registry examples); they are never weighted up.
 */
export function exampleWeights(examples: readonly LabelledExample[]): number[] {
  const synthetic = examples.filter((e) => e.source !== undefined && SYNTHETIC_SOURCES.has(e.source)).length;
  const weight = synthetic === 0 ? 1 : Math.min(1, (examples.length - synthetic) / synthetic);
  return examples.map((e) => (e.source !== undefined && SYNTHETIC_SOURCES.has(e.source) ? weight : 1));
}

/** Scores one message over the four routes: TF-IDF features, softmax regression, temperature. */
export class IntentClassifier {
  private constructor(
    private readonly vectorizer: TfidfVectorizer,
    private readonly model: SoftmaxModel,
    /** Softmax temperature of {@link IntentClassifier.probabilities}. */
    readonly temperature: number,
  ) {}

  /** Trains on the examples (deterministic: the same examples give the same classifier). */
  static train(examples: readonly LabelledExample[], opts: ClassifierOptions = {}): IntentClassifier {
    const texts = examples.map((e) => e.text);
    const vectorizer = TfidfVectorizer.fit(texts);
    const xs = texts.map((t) => vectorizer.transform(t));
    const ys = examples.map((e) => ROUTE_NAMES.indexOf(e.route));
    const model = trainSoftmax(xs, ys, ROUTE_NAMES.length, vectorizer.size, {
      l2: opts.l2 ?? DEFAULT_L2,
      sampleWeights: exampleWeights(examples),
    });
    return new IntentClassifier(vectorizer, model, opts.temperature ?? DEFAULT_TEMPERATURE);
  }

  /** The same model read at another temperature (calibration experiments). */
  withTemperature(temperature: number): IntentClassifier {
    return new IntentClassifier(this.vectorizer, this.model, temperature);
  }

  /** Uncalibrated scores, in {@link ROUTE_NAMES} order. */
  logits(text: string): Float64Array {
    return logits(this.model, this.vectorizer.transform(text));
  }

  /** Calibrated probability of each route; they sum to 1. */
  probabilities(text: string): Record<RouteName, number> {
    return this.calibrated(this.logits(text));
  }

  /** Probabilities of runs of parts, each part read once (see `TfidfVectorizer.spans`). */
  spanProbabilities(parts: readonly string[]): (from: number, to: number) => Record<RouteName, number> {
    const span = this.vectorizer.spans(parts);
    return (from, to) => this.calibrated(logits(this.model, span(from, to)));
  }

  private calibrated(z: Float64Array): Record<RouteName, number> {
    const p = softmax(z, this.temperature);
    const out = {} as Record<RouteName, number>;
    ROUTE_NAMES.forEach((r, i) => (out[r] = p[i] ?? 0));
    return out;
  }
}
