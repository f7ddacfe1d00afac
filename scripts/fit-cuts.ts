/**
 * Fits the shipped cut model (`agents/router/offline/cut-weights.ts`):
 *
 *   npx tsx scripts/fit-cuts.ts [--folds 10] [--seed 1]
 *
 * The corpus is cut into folds; each fold's lines are scored by a classifier trained without
 * them (as a message from a user is scored by one that never saw it), alone, joined in pairs of
 * different routes with the fitting connectors (`TUNING_JOINS`, `SCORING_JOINS`,
 * `CUT_FIT_JOINS`; never `TEST_JOINS` or `HELD_BACK_JOINS`), and with the fold's out-of-scope
 * lines; the logistic regression is fitted on the candidate cuts of all folds. `scripts/cv.ts`
 * scores the same procedure fold by fold (a model fitted without the fold it scores).
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { IntentClassifier } from "../agents/router/offline/classifier.ts";
import { loadDefaultCorpus, loadOutOfScopeCorpus, loadWrittenSupportCorpus } from "../agents/router/offline/corpus.ts";
import { CUT_FEATURES, CUT_INTERACTIONS, withInteractions } from "../agents/router/offline/cut-model.ts";
import { decideOptions } from "../agents/router/offline/index.ts";
import { ROUTE_NAMES } from "../agents/workers/registry.ts";
import { CUT_L2, CUT_MIN_EVIDENCE, CUT_MIN_SIDE, CUT_THRESHOLD, cutRows, fitLogistic, fittingJoins, JOIN_PAIRS, mulberry32, STYLED_JOINS, type CutRows } from "./cut-fitting.ts";

const { values } = parseArgs({ options: { folds: { type: "string", default: "10" }, seed: { type: "string", default: "1" } } });
const K = Number(values.folds);
const seed = Number(values.seed);

const corpus = loadDefaultCorpus();
const writtenSupport = loadWrittenSupportCorpus();
const oos = loadOutOfScopeCorpus();
const rand = mulberry32(seed);
const fold = corpus.map(() => Math.floor(rand() * K));
const oosFold = oos.map((_, i) => i % K);
const joins = fittingJoins(seed);
// Every candidate the model may be asked about: a cut model is set (its weights do not matter here).
const opts = decideOptions({ cutModel: { weights: [], bias: 0, threshold: CUT_THRESHOLD, minSide: CUT_MIN_SIDE, minEvidence: CUT_MIN_EVIDENCE } });

const rows: CutRows = { xs: [], ys: [], ws: [] };
for (let k = 0; k < K; k++) {
  const train = [...writtenSupport, ...corpus.filter((_, i) => fold[i] !== k), ...oos.filter((_, i) => oosFold[i] !== k)];
  const classifier = IntentClassifier.train(train, { routes: ROUTE_NAMES });
  cutRows(classifier, corpus.filter((_, i) => fold[i] === k), joins, opts, mulberry32(seed * 7919 + k), oos.filter((_, i) => oosFold[i] === k), JOIN_PAIRS, rows);
  console.log(`fold ${k + 1}/${K}: ${rows.xs.length} rows`);
}
const fit = fitLogistic({ ...rows, xs: rows.xs.map(withInteractions) }, CUT_L2);
const positives = rows.ys.filter((y) => y === 1).length;
const names = [...CUT_FEATURES, ...CUT_INTERACTIONS.map(([a, b]) => `${CUT_FEATURES[a]} × ${CUT_FEATURES[b]}`)];
const lines = names.map((name, k) => `    ${fit.weights[k]!.toFixed(6)}, // ${name}`).join("\n");
const out = `import type { CutModel } from "./cut-model.ts";

/**
 * Written by \`npx tsx scripts/fit-cuts.ts --folds ${K} --seed ${seed}\`: ${rows.xs.length} candidate cuts (${positives} true)
 * of held-out lines alone and joined in ${JOIN_PAIRS} ways each: ${joins.length - STYLED_JOINS} written fitting joins and ${STYLED_JOINS} made up
 * (\`scripts/join-styles.ts\`). Do not edit by hand.
 */
export const CUT_WEIGHTS: CutModel = {
  weights: [
${lines}
  ],
  bias: ${fit.bias.toFixed(6)},
  threshold: ${CUT_THRESHOLD},
  minSide: ${CUT_MIN_SIDE},
  minEvidence: ${CUT_MIN_EVIDENCE},
};
`;
const file = path.resolve(import.meta.dirname, "../agents/router/offline/cut-weights.ts");
writeFileSync(file, out);
console.log(`wrote ${file}`);
