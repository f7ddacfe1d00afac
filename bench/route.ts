/**
 * Offline router speed: training time at start, and routing latency over many messages.
 *
 *   npx tsx bench/route.ts [--rounds 5] [--trainings 3]
 *
 * Messages: every corpus line, the same lines joined in pairs with the connectors of the
 * two-intent test, and a few long multi-sentence messages; each routed `rounds` times after a
 * warm-up. Latency is the time of one `route()` call.
 */
import { parseArgs } from "node:util";
import { createOfflineRouter, loadDefaultCorpus } from "../agents/router/offline/index.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "5" }, trainings: { type: "string", default: "3" } },
});

const trainMs: number[] = [];
let router = createOfflineRouter({ examples: [] });
for (let i = 0; i < Number(values.trainings); i++) {
  router = createOfflineRouter({ examples: [] });
  trainMs.push(router.trainMs);
}
console.log(`training on ${router.trainedOn} examples: ${trainMs.map((t) => `${t.toFixed(0)} ms`).join(", ")}`);

const corpus = loadDefaultCorpus().map((e) => e.text);
const connectors = [". Also, ", ", but ", " btw ", "\n", " and also "];
const joined = corpus.map((a, i) => `${a}${connectors[i % connectors.length]}${corpus[(i * 7 + 13) % corpus.length]}`);
const long = Array.from({ length: 20 }, (_, i) =>
  Array.from({ length: 8 }, (_, j) => corpus[(i * 31 + j * 97) % corpus.length]).join(". "),
);
const messages = [...corpus, ...joined, ...long];

for (const m of messages.slice(0, 500)) await router.route(m);
const latencies: number[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const m of messages) {
    const started = performance.now();
    await router.route(m);
    latencies.push(performance.now() - started);
  }
}
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]!;
console.log(
  `routing ${latencies.length} messages (${corpus.length} corpus lines, ${joined.length} two-intent, ${long.length} long; ` +
    `${values.rounds} rounds): p50 ${at(0.5).toFixed(3)} ms, p99 ${at(0.99).toFixed(3)} ms, max ${at(1).toFixed(3)} ms`,
);
