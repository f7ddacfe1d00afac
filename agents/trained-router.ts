import { createHash } from "node:crypto";
import type { Logger } from "../src/logger.ts";
import { relevantHits, type KnowledgeBase } from "./knowledge/knowledge-base.ts";
import { diskTrainingCache } from "./router/model-cache.ts";
import { createOfflineRouter, loadDefaultCorpus, loadExamples, withKnownScope, type OfflineRouter, type OfflineRouterOptions } from "./router/offline/index.ts";
import type { LabelledExample } from "./router/types.ts";

const trained = new Map<string, OfflineRouter>();

/**
 * The offline router for these options, trained once per process and then shared: training
 * takes a few hundred ms of CPU and is deterministic, and a trained router holds no state of a
 * conversation, so every app in a process (a test file builds many) uses one. Keyed by a
 * SHA-256 of what it is trained on — the corpus when included, the extra examples, the options —
 * so different examples (a team's own, a test's) get a router of their own. `opts.cache` (not
 * part of that key) keeps it between processes as well.
 */
export function trainedOfflineRouter(opts: OfflineRouterOptions): OfflineRouter {
  const corpus = (opts.includeDefaultCorpus ?? true) ? loadDefaultCorpus() : [];
  const key = createHash("sha256")
    .update(JSON.stringify({ corpus, ...opts }))
    .digest("hex");
  let router = trained.get(key);
  if (!router) {
    router = createOfflineRouter(opts);
    trained.set(key, router);
  }
  return router;
}

/**
 * The offline router as `serve`, `worker`, `route` and `eval` train it: the corpus, the
 * out-of-scope lines, the registry's examples and routes, and the company's own lines —
 * `ROUTER_EXAMPLES` (a JSONL file or a folder of them; DESIGN.md §4.1) and the staff
 * corrections stored so far (`RouterCorrections.examples()`) — and, given the knowledge base,
 * with its articles as the judge of what is about the product (`withKnownScope`).
 */
export function offlineRouterFor(
  registry: { readonly routes: readonly string[]; examples(): LabelledExample[] },
  opts: {
    routerExamples?: string | undefined;
    corrections?: LabelledExample[];
    knowledge?: KnowledgeBase;
    /** `CACHE_DIR`: the trained router is kept there between starts (`router/model-cache.ts`). Default: none. */
    cacheDir?: string | undefined;
    logger?: Logger;
  } = {},
): OfflineRouter {
  const own = opts.routerExamples ? loadExamples(opts.routerExamples, registry.routes) : [];
  const company = [...own, ...(opts.corrections ?? [])];
  const router = trainedOfflineRouter({
    examples: registry.examples(),
    routes: registry.routes,
    ...(company.length > 0 ? { companyExamples: company } : {}),
    ...(opts.cacheDir ? { cache: diskTrainingCache(opts.cacheDir, opts.logger) } : {}),
  });
  // What the knowledge base has an article on is about the product, never "out of scope".
  const kb = opts.knowledge;
  return kb ? withKnownScope(router, (text) => relevantHits(kb, text).length > 0) : router;
}
