import { createHash } from "node:crypto";
import { createOfflineRouter, loadDefaultCorpus, loadExamples, type OfflineRouter, type OfflineRouterOptions } from "./router/offline/index.ts";
import type { LabelledExample } from "./router/types.ts";

const trained = new Map<string, OfflineRouter>();

/**
 * The offline router for these options, trained once per process and then shared: training
 * takes a few hundred ms of CPU and is deterministic, and a trained router holds no state of a
 * conversation, so every app in a process (a test file builds many) uses one. Keyed by a
 * SHA-256 of what it is trained on — the corpus when included, the extra examples, the options —
 * so different examples (a team's own, a test's) get a router of their own.
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
 * corrections stored so far (`RouterCorrections.examples()`).
 */
export function offlineRouterFor(
  registry: { readonly routes: readonly string[]; examples(): LabelledExample[] },
  opts: { routerExamples?: string | undefined; corrections?: LabelledExample[] } = {},
): OfflineRouter {
  const own = opts.routerExamples ? loadExamples(opts.routerExamples, registry.routes) : [];
  const company = [...own, ...(opts.corrections ?? [])];
  return trainedOfflineRouter({
    examples: registry.examples(),
    routes: registry.routes,
    ...(company.length > 0 ? { companyExamples: company } : {}),
  });
}
