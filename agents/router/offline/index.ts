import type { LabelledExample, RoutingDecision, Router } from "../types.ts";
import { IntentClassifier } from "./classifier.ts";
import { loadDefaultCorpus } from "./corpus.ts";
import { decide, type DecideOptions, type OfflineDecision, type RouteScorer } from "./decide.ts";

export { loadDefaultCorpus } from "./corpus.ts";
export { splitIntents, type Boundary, type MessagePart } from "./splitter.ts";
export type { OfflineDecision } from "./decide.ts";

/**
 * Below this calibrated confidence a single-route message is `unsure` (no route: the supervisor
 * asks a clarifying question or, in hybrid mode, the model). On cross-validation 99 % of the
 * messages at or above it are routed right and about 1 % fall below it (`scripts/cv.ts` prints the
 * trade-off); it matches the default hybrid threshold.
 */
export const DEFAULT_MIN_CONFIDENCE = 0.6;

/**
 * Prior odds that the two sides of a boundary ask for different things. An explicit addition
 * ("also", "btw", a new line) or a full stop is neutral (0.5): the sides' own scores decide. A
 * "but" mostly goes on about the same request ("money deducted but order not placed"): one in
 * ten is taken to start another. Checked with `scripts/cv.ts` (two-intent set accuracy against
 * single-intent messages wrongly given a second route).
 */
export const DEFAULT_SPLIT_PRIOR: DecideOptions["splitPrior"] = { addition: 0.5, sentence: 0.5, contrast: 0.1, conjunction: 0.1 };

export interface OfflineRouterOptions {
  /** Extra examples (e.g. the worker registry's), added to the corpus. */
  examples: LabelledExample[];
  /** Train on the default corpus too. Default true. */
  includeDefaultCorpus?: boolean;
  /** Below this, `unsure`. Default {@link DEFAULT_MIN_CONFIDENCE}. */
  minConfidence?: number;
}

/** The embedded, trained router: no network, no API key. */
export interface OfflineRouter extends Router {
  /** The same decision as `route`, synchronously and without engine or timing. */
  classify(text: string): OfflineDecision;
  /** Number of examples trained on. */
  readonly trainedOn: number;
  /** How long training took, in milliseconds. */
  readonly trainMs: number;
}

/**
 * Trains the offline router (synchronously: about a second on the default corpus) and returns
 * it. Training is deterministic: the same examples give the same router.
 *
 * Empty or whitespace-only text routes nowhere: `classify` and `route` return no routes and
 * `unsure: true` rather than throwing (upstream rejects such text first).
 */
export function createOfflineRouter(opts: OfflineRouterOptions): OfflineRouter {
  const examples = [...((opts.includeDefaultCorpus ?? true) ? loadDefaultCorpus() : []), ...opts.examples];
  const started = performance.now();
  const classifier = IntentClassifier.train(examples);
  const trainMs = performance.now() - started;
  return routerFromScorer(classifier, {
    trainedOn: examples.length,
    trainMs,
    ...(opts.minConfidence === undefined ? {} : { minConfidence: opts.minConfidence }),
  });
}

/** Wraps a trained scorer as a router; cross-validation routes with each fold's classifier. */
export function routerFromScorer(
  scorer: RouteScorer,
  info: { trainedOn: number; trainMs: number } & Partial<DecideOptions>,
): OfflineRouter {
  const options: DecideOptions = {
    minConfidence: info.minConfidence ?? DEFAULT_MIN_CONFIDENCE,
    splitPrior: info.splitPrior ?? DEFAULT_SPLIT_PRIOR,
  };
  const classify = (text: string): OfflineDecision => decide(scorer, text, options);
  return {
    trainedOn: info.trainedOn,
    trainMs: info.trainMs,
    classify,
    async route(text: string): Promise<RoutingDecision> {
      const started = performance.now();
      const decision = classify(text);
      return { ...decision, engine: "offline", latencyMs: performance.now() - started };
    },
  };
}
