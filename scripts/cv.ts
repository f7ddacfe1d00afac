/**
 * k-fold cross-validation of the offline router on the default corpus: every figure is measured
 * on lines the scoring model was not trained on.
 *
 *   npx tsx scripts/cv.ts [--folds 10] [--seed 1] [--repeats 1] [--verbose]
 *
 * Prints single-message accuracy (overall, per source, real-user `hint3_*` lines), calibration
 * (the temperature that fits the out-of-fold predictions best, against the shipped one), the
 * coverage/accuracy trade-off behind the unsure threshold, and two-intent set accuracy on
 * messages made by joining two held-out messages of different routes with ordinary connectors,
 * next to the share of held-out single-intent messages that stay single. `--repeats N` runs N
 * differently seeded fold splits and reports their mean; `--verbose` lists every miss.
 */
import { parseArgs } from "node:util";
import { DEFAULT_TEMPERATURE, IntentClassifier } from "../agents/router/offline/classifier.ts";
import { loadDefaultCorpus } from "../agents/router/offline/corpus.ts";
import type { DecideOptions, OfflineDecision } from "../agents/router/offline/decide.ts";
import { DEFAULT_MIN_CONFIDENCE, DEFAULT_SPLIT_PRIOR, routerFromScorer } from "../agents/router/offline/index.ts";
import { softmax } from "../agents/router/offline/softmax.ts";
import type { LabelledExample } from "../agents/router/types.ts";
import { ROUTE_NAMES, type RouteName } from "../src/types.ts";

const { values } = parseArgs({
  options: {
    folds: { type: "string", default: "10" },
    seed: { type: "string", default: "1" },
    repeats: { type: "string", default: "1" },
    verbose: { type: "boolean", default: false },
  },
});
const K = Number(values.folds);
const VERBOSE = values.verbose;

/** The connectors of the two-intent test, joining held-out messages a and b. */
const JOINS: { name: string; join: (a: string, b: string) => string }[] = [
  { name: "…. Also, …", join: (a, b) => `${bare(a)}. Also, ${b}` },
  { name: "…, but …", join: (a, b) => `${bare(a)}, but ${b}` },
  { name: "… btw …", join: (a, b) => `${bare(a)} btw ${b}` },
  { name: "new line", join: (a, b) => `${a}\n${b}` },
  { name: "… and also …", join: (a, b) => `${bare(a)} and also ${b}` },
  { name: "… and …", join: (a, b) => `${bare(a)} and ${lowerFirst(b)}` },
];

/** Split priors compared with the shipped one (addition and full stop share one value). */
const PRIOR_GRID: DecideOptions["splitPrior"][] = [
  DEFAULT_SPLIT_PRIOR,
  { addition: 0.5, sentence: 0.5, contrast: 0.5, conjunction: 0.1 },
  { addition: 0.5, sentence: 0.5, contrast: 0.2, conjunction: 0.1 },
  { addition: 0.5, sentence: 0.5, contrast: 0.05, conjunction: 0.1 },
  { addition: 0.3, sentence: 0.3, contrast: 0.1, conjunction: 0.1 },
  { addition: 0.7, sentence: 0.7, contrast: 0.1, conjunction: 0.1 },
];

interface Figures {
  overall: number;
  hint3: number;
  twoIntent: number;
  staysSingle: number;
  trainMs: number;
}

const examples = loadDefaultCorpus();
const summary: Figures[] = [];
for (let r = 0; r < Number(values.repeats); r++) {
  const seed = Number(values.seed) + r;
  summary.push(crossValidate(seed, r === 0));
}
if (summary.length > 1) {
  console.log(`\nmean of ${summary.length} seeds (shipped settings)`);
  const mean = (f: (x: Figures) => number) => (summary.reduce((s, x) => s + f(x), 0) / summary.length).toFixed(4);
  console.log(`  overall accuracy          ${mean((x) => x.overall)}`);
  console.log(`  hint3_* accuracy          ${mean((x) => x.hint3)}`);
  console.log(`  two-intent set accuracy   ${mean((x) => x.twoIntent)}`);
  console.log(`  single stays single       ${mean((x) => x.staysSingle)}`);
  console.log(`  training ms (9/10 corpus) ${mean((x) => x.trainMs)}`);
}

function crossValidate(seed: number, detailed: boolean): Figures {
  const log = (line: string) => {
    if (detailed) console.log(line);
  };
  const random = mulberry32(seed);
  const fold = stratifiedFolds(examples, K, random);

  // 1. One classifier per fold, trained without the fold; out-of-fold raw scores.
  const classifiers: IntentClassifier[] = [];
  const oofLogits: Float64Array[] = [];
  let trainMs = 0;
  for (let k = 0; k < K; k++) {
    const started = performance.now();
    const classifier = IntentClassifier.train(examples.filter((_, i) => fold[i] !== k));
    trainMs += performance.now() - started;
    classifiers.push(classifier);
    examples.forEach((e, i) => {
      if (fold[i] === k) oofLogits[i] = classifier.logits(e.text);
    });
  }
  console.log(`\n== seed ${seed}: ${examples.length} lines, ${K} stratified folds; training ${(trainMs / K).toFixed(0)} ms per fold`);

  // 2. Single-message accuracy of the top route (as the reference figures are).
  const hit = examples.map((e, i) => ROUTE_NAMES[argmax(oofLogits[i]!)] === e.route);
  const accuracy = (keep: (e: LabelledExample) => boolean) => {
    const idx = examples.flatMap((e, i) => (keep(e) ? [i] : []));
    return { ok: idx.filter((i) => hit[i]).length, n: idx.length };
  };
  const overall = accuracy(() => true);
  const hint3 = accuracy(isHint3);
  console.log("single-message accuracy (top route)");
  console.log(`  overall                    ${ratio(overall.ok, overall.n)}`);
  console.log(`  hint3_* (real users)       ${ratio(hint3.ok, hint3.n)}`);
  for (const source of [...new Set(examples.map(sourceOf))].sort()) {
    const a = accuracy((e) => sourceOf(e) === source);
    log(`    ${source.padEnd(24)} ${ratio(a.ok, a.n)}`);
  }
  if (VERBOSE) {
    examples.forEach((e, i) => {
      if (!hit[i]) console.log(`  miss ${sourceOf(e)} ${e.route} → ${ROUTE_NAMES[argmax(oofLogits[i]!)]}: ${JSON.stringify(e.text)}`);
    });
  }

  // 3. Calibration: the temperature that minimises out-of-fold log-loss.
  const labels = examples.map((e) => ROUTE_NAMES.indexOf(e.route));
  const nll = (t: number) =>
    oofLogits.reduce((sum, z, i) => sum - Math.log(Math.max(softmax(z, t)[labels[i]!]!, 1e-12)), 0) / examples.length;
  const fitted = Math.exp(goldenSection((logT) => nll(Math.exp(logT)), Math.log(0.05), Math.log(20)));
  log(`calibration: best temperature ${fitted.toFixed(3)}, shipped ${DEFAULT_TEMPERATURE}`);
  for (const t of [1, fitted, DEFAULT_TEMPERATURE]) {
    log(`  T=${t.toFixed(3)}: log-loss ${nll(t).toFixed(4)}, expected calibration error ${ece(oofLogits, labels, t).toFixed(4)}`);
  }

  // 4. The unsure threshold: how many messages are routed, and how well, above each threshold.
  const top = oofLogits.map((z) => Math.max(...softmax(z, DEFAULT_TEMPERATURE)));
  log("unsure threshold: share of messages routed, and accuracy of those");
  for (const t of [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) {
    const routed = examples.flatMap((_, i) => (top[i]! >= t ? [i] : []));
    const ok = routed.filter((i) => hit[i]).length;
    const mark = t === DEFAULT_MIN_CONFIDENCE ? "  <- DEFAULT_MIN_CONFIDENCE" : "";
    log(`  ${t.toFixed(1)}: routed ${pct(routed.length / examples.length)}, right ${pct(ok / routed.length)}${mark}`);
  }

  // 5. Two-intent messages: each held-out line joined with a held-out line of another route.
  const twoIntent: { text: string; expected: RouteName[]; fold: number; join: string }[] = [];
  for (let k = 0; k < K; k++) {
    const held = examples.filter((_, i) => fold[i] === k);
    held.forEach((a, n) => {
      const others = held.filter((b) => b.route !== a.route);
      const b = others[Math.floor(random() * others.length)]!;
      const { name, join } = JOINS[n % JOINS.length]!;
      twoIntent.push({ text: join(a.text, b.text), expected: [a.route, b.route], fold: k, join: name });
    });
  }
  const scorers = classifiers.map((c) => c.withTemperature(DEFAULT_TEMPERATURE));
  log(`multi-intent: ${twoIntent.length} two-intent messages, ${examples.length} single-intent ones`);
  let figures: Figures | null = null;
  for (const splitPrior of detailed ? PRIOR_GRID : [DEFAULT_SPLIT_PRIOR]) {
    const routers = scorers.map((s) => routerFromScorer(s, { trainedOn: 0, trainMs: 0, splitPrior }));
    const two = twoIntent.map((c) => routers[c.fold]!.classify(c.text));
    const twoOk = two.map((d, i) => sameSet(predicted(d), twoIntent[i]!.expected));
    const single = examples.map((e, i) => routers[fold[i]!]!.classify(e.text));
    const staysSingle = single.filter((d) => d.routes.length <= 1).length;
    const shipped = splitPrior === DEFAULT_SPLIT_PRIOR;
    const name = `addition/stop ${splitPrior.addition}, but ${splitPrior.contrast}`;
    console.log(
      `  split prior ${name.padEnd(24)} two-intent set accuracy ${ratio(twoOk.filter(Boolean).length, twoOk.length)}, ` +
        `single stays single ${ratio(staysSingle, single.length)}${shipped ? "  <- shipped" : ""}`,
    );
    if (!shipped) continue;
    figures = {
      overall: overall.ok / overall.n,
      hint3: hint3.ok / hint3.n,
      twoIntent: twoOk.filter(Boolean).length / twoOk.length,
      staysSingle: staysSingle / single.length,
      trainMs: trainMs / K,
    };
    for (const { name: join } of JOINS) {
      const idx = twoIntent.flatMap((c, i) => (c.join === join ? [i] : []));
      log(`      ${join.padEnd(14)} ${ratio(idx.filter((i) => twoOk[i]).length, idx.length)}`);
    }
    if (VERBOSE) {
      twoIntent.forEach((c, i) => {
        if (!twoOk[i]) console.log(`  miss ${c.expected.join("+")} → ${describe(two[i]!)}: ${JSON.stringify(c.text)}`);
      });
      single.forEach((d, i) => {
        if (d.routes.length > 1) console.log(`  split ${examples[i]!.route} → ${describe(d)}: ${JSON.stringify(examples[i]!.text)}`);
      });
    }
  }
  return figures!;
}

/** The routes a decision acts on; an unsure decision counts as its best-scoring route. */
function predicted(d: OfflineDecision): RouteName[] {
  if (d.routes.length > 0) return d.routes.map((r) => r.route);
  return [ROUTE_NAMES.reduce((a, b) => (d.scores[b] > d.scores[a] ? b : a))];
}

function describe(d: OfflineDecision): string {
  return d.routes.map((r) => `${r.route} ${r.confidence.toFixed(2)} [${r.question}]`).join(" | ") || "unsure";
}

function sameSet(a: RouteName[], b: RouteName[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((r) => sb.has(r));
}

function argmax(z: ArrayLike<number>): number {
  let b = 0;
  for (let c = 1; c < z.length; c++) if (z[c]! > z[b]!) b = c;
  return b;
}

/** Expected calibration error of the top route, in ten confidence bins. */
function ece(logits: Float64Array[], labels: number[], t: number, bins = 10): number {
  const count = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const correct = new Array<number>(bins).fill(0);
  logits.forEach((z, i) => {
    const p = softmax(z, t);
    const top = argmax(p);
    const b = Math.min(bins - 1, Math.floor(p[top]! * bins));
    count[b]!++;
    conf[b]! += p[top]!;
    if (top === labels[i]) correct[b]!++;
  });
  return count.reduce((sum, _, b) => sum + Math.abs(conf[b]! - correct[b]!) / logits.length, 0);
}

/** Folds with each route spread evenly, so every fold sees every route. */
function stratifiedFolds(items: readonly LabelledExample[], k: number, rand: () => number): number[] {
  const out = new Array<number>(items.length).fill(0);
  for (const route of ROUTE_NAMES) {
    const idx = items.flatMap((e, i) => (e.route === route ? [i] : []));
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    idx.forEach((i, n) => (out[i] = n % k));
  }
  return out;
}

/** A small seeded PRNG: the same folds and pairings on every run. */
function mulberry32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function goldenSection(f: (x: number) => number, lo: number, hi: number): number {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  for (let i = 0; i < 60; i++) {
    const c = b - g * (b - a);
    const d = a + g * (b - a);
    if (f(c) < f(d)) b = d;
    else a = c;
  }
  return (a + b) / 2;
}

function isHint3(e: LabelledExample): boolean {
  return e.source?.startsWith("hint3_") ?? false;
}

function sourceOf(e: LabelledExample): string {
  return e.source ?? "(none)";
}

function bare(text: string): string {
  return text.replace(/[\s.!?]+$/, "");
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function ratio(ok: number, n: number): string {
  return `${(ok / n).toFixed(4)} (${ok}/${n})`;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
