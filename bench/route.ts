/**
 * Offline router speed: training time at start, and routing time per message, in CPU
 * milliseconds of this process (`process.cpuUsage`), so a loaded, shared machine inflates the
 * figures less than wall time would; wall time is printed beside for comparison.
 *
 *   npx tsx bench/route.ts [--rounds 5] [--trainings 3]
 *
 * Messages: every corpus line, the same lines joined in pairs with every connector of the
 * two-intent sets (`scripts/router-joins.ts`), the out-of-scope lines, and long multi-sentence
 * messages; each routed `rounds` times after a warm-up. Routing time is that of one
 * `classify()` call (what `route()` does, without the promise).
 */
import { parseArgs } from "node:util";
import { createOfflineRouter, loadDefaultCorpus, loadOutOfScopeCorpus, type OfflineRouter } from "../agents/router/offline/index.ts";
import { WorkerRegistry } from "../agents/workers/registry.ts";
import { SCORING_JOINS, TUNING_JOINS } from "../scripts/router-joins.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "5" }, trainings: { type: "string", default: "3" } },
});

const registry = new WorkerRegistry();
const cpuMs = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

const trainCpu: number[] = [];
const trainWall: number[] = [];
let router: OfflineRouter | undefined;
for (let i = 0; i < Number(values.trainings); i++) {
  const cpu = process.cpuUsage();
  router = createOfflineRouter({ examples: registry.examples(), routes: registry.routes });
  trainCpu.push(cpuMs(cpu));
  trainWall.push(router.trainMs);
}
console.log(
  `training on ${router!.trainedOn} examples: CPU ${trainCpu.map((t) => `${t.toFixed(0)} ms`).join(", ")} ` +
    `(wall ${trainWall.map((t) => `${t.toFixed(0)} ms`).join(", ")})`,
);

const corpus = loadDefaultCorpus().map((e) => e.text);
const joins = [...TUNING_JOINS, ...SCORING_JOINS];
const joined = corpus.map((a, i) => joins[i % joins.length]!.join(a, corpus[(i * 7 + 13) % corpus.length]!));
const outOfScope = loadOutOfScopeCorpus().map((e) => e.text);
const long = Array.from({ length: 20 }, (_, i) =>
  Array.from({ length: 8 }, (_, j) => corpus[(i * 31 + j * 97) % corpus.length]).join(". "),
);
const messages = [...corpus, ...joined, ...outOfScope, ...long];

for (const m of messages.slice(0, 500)) router!.classify(m);
const cpu: number[] = [];
const wall: number[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const m of messages) {
    const c = process.cpuUsage();
    const started = performance.now();
    router!.classify(m);
    wall.push(performance.now() - started);
    cpu.push(cpuMs(c));
  }
}
const at = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
};
console.log(
  `routing ${cpu.length} messages (${corpus.length} corpus lines, ${joined.length} two-intent, ${outOfScope.length} out-of-scope, ` +
    `${long.length} long; ${values.rounds} rounds)`,
);
console.log(`  CPU  p50 ${at(cpu, 0.5).toFixed(3)} ms, p99 ${at(cpu, 0.99).toFixed(3)} ms, max ${at(cpu, 1).toFixed(3)} ms`);
console.log(`  wall p50 ${at(wall, 0.5).toFixed(3)} ms, p99 ${at(wall, 0.99).toFixed(3)} ms, max ${at(wall, 1).toFixed(3)} ms`);
const longCpu = cpu.filter((_, i) => i % messages.length >= messages.length - long.length);
console.log(`  long messages only: CPU p50 ${at(longCpu, 0.5).toFixed(3)} ms, p99 ${at(longCpu, 0.99).toFixed(3)} ms`);
