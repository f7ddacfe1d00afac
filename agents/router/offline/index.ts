import type { LabelledExample, RouteContext, RoutingDecision, Router } from "../types.ts";
import { IntentClassifier } from "./classifier.ts";
import { loadDefaultCorpus, loadOutOfScopeCorpus, loadWrittenSupportCorpus } from "./corpus.ts";
import { decide, type DecideOptions, type OfflineDecision, type RouteScorer } from "./decide.ts";
import { inferPlan } from "../plan.ts";
import { DEFAULT_CUT_MODEL } from "./cut-model.ts";

export { loadDefaultCorpus, loadExamples, loadOutOfScopeCorpus, loadWrittenSupportCorpus } from "./corpus.ts";
export { OUT_OF_SCOPE } from "./classifier.ts";
export type { OfflineDecision } from "./decide.ts";

/**
 * Below this calibrated confidence a single-route message is `unsure` (no route: the supervisor
 * asks a clarifying question or, in hybrid mode, the model). `scripts/cv.ts` prints the
 * coverage/accuracy trade-off; it matches the default hybrid threshold.
 */
export const DEFAULT_MIN_CONFIDENCE = 0.6;

/**
 * Prior odds that the two sides of a candidate cut ask for different things, by how the cut is
 * marked. A new line, a full stop or an additive cue ("also", "and", "btw") leaves it to the
 * sides' own scores; a clause mark (a comma) less so; a "but" mostly goes on about the same
 * request ("money deducted but order not placed"); a bare space between two words rarely starts
 * a new request, but can ("…my invoice I also can't log in"). Chosen with `scripts/cv.ts` on its
 * tuning joins (never on the joins it scores).
 */
export const DEFAULT_CUT_PRIOR: DecideOptions["cutPrior"] = { line: 0.5, sentence: 0.5, cue: 0.4, clause: 0.2, contrast: 0.1, word: 0.05 };

/**
 * {@link DecideOptions.scopeMargin}'s default: read on its content words, a message is in scope
 * when its best route is at least twice as likely as "none of these". Chosen with `scripts/cv.ts`
 * among 1, 2, 4, 8 on the first half of the out-of-scope topics and the support lines kept
 * (≥ 0.98), and on the tuning half of `examples/saas-44-written.jsonl`; 4 and 8 leave more SaaS
 * requests unsure.
 */
export const DEFAULT_SCOPE_MARGIN = 2;

/**
 * {@link DecideOptions.innerSideConfidence}'s default, chosen with `scripts/cv.ts` (seeds 2, 3; 0.8 and 0.9) on
 * the single-intent lines kept single and the tuning joins.
 */
export const DEFAULT_INNER_SIDE_CONFIDENCE = 0.8;

/**
 * {@link DecideOptions.contextFactor}'s default: a follow-up stays on the conversation's route
 * with a prior of about 0.8 against 0.2 shared by the three others (0.8 / 0.067 = 12). Not fitted:
 * no corpus of conversations was at hand; the follow-up tests pin what it does.
 */
export const DEFAULT_CONTEXT_FACTOR = 12;

/**
 * Training weight of each of a company's own lines (`ROUTER_EXAMPLES`, staff corrections),
 * against 1 for a real-user corpus line: a few lines of its own language must be able to
 * outweigh the corpus's phrasing. Chosen on one simulated company (`scripts/cv.ts`), reported on
 * another.
 */
export const DEFAULT_COMPANY_WEIGHT = 4;

export interface OfflineRouterOptions {
  /** Extra examples (e.g. the worker registry's), added to the corpus. */
  examples: LabelledExample[];
  /**
   * The company's own lines (`ROUTER_EXAMPLES`, staff corrections), weighted
   * {@link DEFAULT_COMPANY_WEIGHT} each unless they carry their own weight.
   */
  companyExamples?: LabelledExample[];
  /** The routes to score, in order (the registry's `routes`). Default: those the examples name. */
  routes?: readonly string[];
  /** Train on the default corpus too. Default true. */
  includeDefaultCorpus?: boolean;
  /** Train the "none of these" class on the out-of-scope corpus. Default true. */
  includeOutOfScope?: boolean;
  /** Below this, `unsure`. Default {@link DEFAULT_MIN_CONFIDENCE}. */
  minConfidence?: number;
  /**
   * Keeps trained classifiers between processes (`../model-cache.ts`): given everything training
   * reads, returns the classifier stored for it or calls `train` (and stores what it returns).
   * Default: train.
   */
  cache?: TrainingCache;
}

/** See {@link OfflineRouterOptions.cache}. */
export type TrainingCache = (examples: readonly LabelledExample[], routes: readonly string[] | undefined, train: () => IntentClassifier) => IntentClassifier;

/** The embedded, trained router: no network, no API key. */
export interface OfflineRouter extends Router {
  /** The same decision as `route`, synchronously and without engine or timing. */
  classify(text: string, context?: RouteContext): OfflineDecision;
  /** The routes it scores. */
  readonly routes: readonly string[];
  /** Number of examples trained on. */
  readonly trainedOn: number;
  /** How long training took (or reading it from the cache), in milliseconds. */
  readonly trainMs: number;
}

/**
 * Trains the offline router (synchronously: well under a second on the default corpus) and
 * returns it. Training is deterministic: the same examples give the same router.
 *
 * Empty or whitespace-only text routes nowhere: `classify` and `route` return no routes and
 * `unsure: true` rather than throwing (upstream rejects such text first).
 */
export function createOfflineRouter(opts: OfflineRouterOptions): OfflineRouter {
  const company = (opts.companyExamples ?? []).map((e) => ({ ...e, weight: e.weight ?? DEFAULT_COMPANY_WEIGHT }));
  const examples = [
    ...((opts.includeDefaultCorpus ?? true) ? [...loadDefaultCorpus(), ...loadWrittenSupportCorpus()] : []),
    ...((opts.includeOutOfScope ?? true) ? loadOutOfScopeCorpus() : []),
    ...opts.examples,
    ...company,
  ];
  const started = performance.now();
  const train = () => IntentClassifier.train(examples, opts.routes ? { routes: opts.routes } : {});
  const classifier = opts.cache ? opts.cache(examples, opts.routes, train) : train();
  const trainMs = performance.now() - started;
  return routerFromScorer(classifier, {
    trainedOn: examples.length,
    trainMs,
    ...(opts.minConfidence === undefined ? {} : { minConfidence: opts.minConfidence }),
  });
}

/** The decide options of a router: the defaults, with what `info` sets. */
export function decideOptions(info: Partial<DecideOptions> = {}): DecideOptions {
  return {
    minConfidence: info.minConfidence ?? DEFAULT_MIN_CONFIDENCE,
    cutPrior: info.cutPrior ?? DEFAULT_CUT_PRIOR,
    contextFactor: info.contextFactor ?? DEFAULT_CONTEXT_FACTOR,
    scopeOnContent: info.scopeOnContent ?? true,
    scopeMargin: info.scopeMargin ?? DEFAULT_SCOPE_MARGIN,
    sideConfidence: info.sideConfidence ?? info.minConfidence ?? DEFAULT_MIN_CONFIDENCE,
    innerSideConfidence: info.innerSideConfidence ?? DEFAULT_INNER_SIDE_CONFIDENCE,
    cutModel: info.cutModel === undefined ? DEFAULT_CUT_MODEL : info.cutModel,
  };
}

/** Wraps a trained scorer as a router; cross-validation routes with each fold's classifier. */
export function routerFromScorer(
  scorer: RouteScorer,
  info: { trainedOn: number; trainMs: number } & Partial<DecideOptions>,
): OfflineRouter {
  const options = decideOptions(info);
  const classify = (text: string, context?: RouteContext): OfflineDecision =>
    decide(scorer, text, options, {
      ...(context?.previousRoutes ? { previousRoutes: context.previousRoutes } : {}),
      ...(context?.assumeInScope ? { assumeInScope: true } : {}),
    });
  return {
    routes: scorer.routes,
    trainedOn: info.trainedOn,
    trainMs: info.trainMs,
    classify,
    async route(text: string, context?: RouteContext): Promise<RoutingDecision> {
      return routed(text, () => classify(text, context));
    },
  };
}


/**
 * The offline router with the product's own knowledge as the judge of "out of scope": a message
 * the classifier would leave unsure as no support request is routed by its routes' shares when
 * `knows(text)` (the knowledge base has a relevant article: "What are the API rate limits?" is
 * about the product even though the training corpus never saw those words). Without it the
 * out-of-scope class learns the corpus's vocabulary as the only in-scope one.
 */
export function withKnownScope(router: OfflineRouter, knows: (text: string) => boolean): OfflineRouter {
  const classify = (text: string, context?: RouteContext): OfflineDecision => {
    const d = router.classify(text, context);
    if (!d.unsure || d.routes.length > 0 || (d.outOfScope ?? 0) < 0.5 || !knows(text)) return d;
    return router.classify(text, { ...context, assumeInScope: true });
  };
  return {
    routes: router.routes,
    trainedOn: router.trainedOn,
    trainMs: router.trainMs,
    classify,
    async route(text: string, context?: RouteContext): Promise<RoutingDecision> {
      return routed(text, () => classify(text, context));
    },
  };
}

/** The offline decision as the routing port's, with the plan its words show (agents/router/plan.ts). */
function routed(text: string, classify: () => OfflineDecision): RoutingDecision {
  const started = performance.now();
  const decision = classify();
  const plan = inferPlan(text, decision.routes);
  return { ...decision, ...(plan ? { plan } : {}), engine: "offline", latencyMs: performance.now() - started };
}
