import { createHash } from "node:crypto";
import { createOfflineRouter, loadDefaultCorpus, type OfflineRouter, type OfflineRouterOptions } from "./router/offline/index.ts";

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
    .update(JSON.stringify({ corpus, examples: opts.examples, minConfidence: opts.minConfidence ?? null }))
    .digest("hex");
  let router = trained.get(key);
  if (!router) {
    router = createOfflineRouter(opts);
    trained.set(key, router);
  }
  return router;
}
