/**
 * The written SaaS support messages through the router as `serve` trains it (corpus,
 * out-of-scope lines, the default registry, the demo knowledge base judging scope), per half:
 *
 *   npx tsx scripts/saas-eval.ts [FILE.jsonl ...] [--no-knowledge] [--verbose]
 *
 * Default files: `examples/saas-44-written.jsonl` (source `saas44_tune`: the half settings may be
 * chosen on; `saas44_holdout`: never tuned on) and `examples/saas-30-written.jsonl`. "Routed
 * right" is what a user sees: a route given, and the right one (unsure counts as wrong);
 * "top route" counts an unsure line by its best-scoring route, as `switchboard eval` does.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadKnowledgeBase } from "../agents/knowledge/knowledge-base.ts";
import { offlineRouterFor } from "../agents/trained-router.ts";
import { WorkerRegistry } from "../agents/workers/registry.ts";
import { DEFAULT_KNOWLEDGE_DIR } from "../src/config.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "no-knowledge": { type: "boolean", default: false }, verbose: { type: "boolean", default: false } },
});
const files = positionals.length > 0 ? positionals : ["examples/saas-44-written.jsonl", "examples/saas-30-written.jsonl"];
const knowledge = values["no-knowledge"] ? undefined : await loadKnowledgeBase(DEFAULT_KNOWLEDGE_DIR);
const router = offlineRouterFor(new WorkerRegistry(), knowledge ? { knowledge } : {});

for (const file of files) {
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { text: string; route: string; source?: string });
  const groups = new Map<string, typeof lines>();
  for (const l of lines) groups.set(l.source ?? "(all)", [...(groups.get(l.source ?? "(all)") ?? []), l]);
  console.log(`${file}${knowledge ? "" : " (no knowledge base)"}`);
  for (const [source, group] of [...groups, ...(groups.size > 1 ? [["(all)", lines] as const] : [])]) {
    let right = 0;
    let top = 0;
    let unsure = 0;
    let tech = 0;
    let techRight = 0;
    for (const l of group) {
      const d = router.classify(l.text);
      const best = Object.entries(d.scores).reduce((a, b) => (b[1] > a[1] ? b : a))[0];
      const got = d.routes[0]?.route ?? best;
      if (d.unsure) unsure++;
      if (got === l.route) top++;
      const ok = !d.unsure && d.routes.length === 1 && d.routes[0]!.route === l.route;
      if (ok) right++;
      if (l.route === "tech_support") {
        tech++;
        if (ok) techRight++;
      }
      if (values.verbose && !ok && source !== "(all)") {
        const what = d.unsure ? `unsure (best ${best}, none ${(d.outOfScope ?? 0).toFixed(2)})` : d.routes.map((r) => `${r.route} ${r.confidence.toFixed(2)}`).join(" + ");
        console.log(`    ${l.route} → ${what}: ${JSON.stringify(l.text)}`);
      }
    }
    console.log(
      `  ${source.padEnd(16)} routed right ${right}/${group.length} (${(right / group.length).toFixed(3)}), top route ${top}/${group.length}, unsure ${unsure}, tech recall ${techRight}/${tech}`,
    );
  }
}
