import { evaluate, readEvalFile, type EvalReport } from "../../agents/router/eval.ts";
import type { Router } from "../../agents/router/types.ts";
import { ROUTE_NAMES } from "../../agents/workers/registry.ts";

/**
 * `switchboard eval FILE.jsonl [--json]`: routes every labelled line and prints the report,
 * as one JSON object (DESIGN.md §4) or as tables a support lead can read. Bad input (missing
 * file, malformed line, unknown route, empty file) throws an `InputError` before anything is
 * printed.
 *
 * `threshold` is the hybrid threshold behind `llmShare` (default 0.6); `routes` the routes a
 * line may name (the registry's; default the default registry's). The router is trained by the
 * caller with the same `ROUTER_EXAMPLES` as `serve` (`trainOfflineRouter`).
 */
export async function runEval(
  file: string,
  opts: { json: boolean; threshold?: number; routes?: readonly string[] },
  router: Router,
  out: (s: string) => void,
): Promise<void> {
  const routes = opts.routes ?? ROUTE_NAMES;
  const lines = await readEvalFile(file, routes);
  const report = await evaluate(lines, router, { routes, ...(opts.threshold === undefined ? {} : { threshold: opts.threshold }) });
  out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(file, report));
}

/** How many wrong lines the human-readable report lists (the most confidently wrong first). */
const WORST_LINES = 15;

/** The human-readable report. */
export function formatReport(file: string, r: EvalReport): string {
  const out: string[] = [];
  const correct = (share: number | null, n: number) =>
    share === null ? "–  (no such lines)" : `${pct(share)}  (${Math.round(share * n)} of ${n})`;

  out.push(`Routing quality on ${file}`);
  out.push(`  ${r.n} messages: ${r.lines.route} with one expected route, ${r.lines.routes} with a set of routes`);
  out.push("");
  out.push(...columns([
    ["Accuracy (top route is the expected one)", correct(r.accuracy, r.lines.route)],
    ["Set accuracy (routes are exactly the expected set)", correct(r.setAccuracy, r.lines.routes)],
    ["Unsure (no route confident enough)", pct(r.unsure)],
    [`Would go to the LLM in hybrid mode (confidence < ${r.llmThreshold}, or a request left unplaced)`, pct(r.llmShare)],
    ["A possible further request left unplaced", pct(r.unplacedShare)],
    ["Routing time per message", `p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}`],
  ]).map((l) => `  ${l}`));

  const names = Object.keys(r.perRoute);
  out.push("", "Per route (how often a predicted route is right, how many expected ones are found)");
  out.push(...columns(
    [
      ["route", "precision", "recall", "f1", "expected", "predicted"],
      ...names.map((route) => {
        const m = r.perRoute[route]!;
        return [route, pctOrDash(m.precision), pctOrDash(m.recall), pctOrDash(m.f1), String(m.support), String(m.predicted)];
      }),
    ],
    "right",
  ).map((l) => `  ${l}`));

  if (r.lines.route > 0) {
    out.push("", "Confusion (one-route lines; rows: expected route, columns: predicted top route)");
    out.push(...columns(
      [
        ["expected \\ predicted", ...names],
        ...names.map((expected) => [expected, ...names.map((p) => String(r.confusion[expected]?.[p] ?? 0))]),
      ],
      "right",
    ).map((l) => `  ${l}`));
  }

  const sources = Object.entries(r.bySource);
  if (sources.length > 0) {
    out.push("", "Accuracy by source");
    out.push(...columns([
      ["source", "accuracy", "messages"],
      ...sources.map(([source, s]) => [source, pct(s.accuracy), String(s.n)]),
    ], "right").map((l) => `  ${l}`));
  }
  if (r.misses.length > 0) {
    const worst = [...r.misses].sort((a, b) => b.confidence - a.confidence).slice(0, WORST_LINES);
    out.push("", `Wrong lines (${r.misses.length}; the ${worst.length} most confidently wrong; all of them in --json "misses")`);
    out.push(...columns([
      ["line", "expected", "got", "confidence", "text"],
      ...worst.map((m) => [String(m.line), m.expected.join("+") || "(unsure)", m.got.join("+") || "(unsure)", pct(m.confidence), clip(m.text)]),
    ]).map((l) => `  ${l}`));
  }
  return `${out.join("\n")}\n`;
}

function clip(text: string): string {
  const one = text.replace(/\s+/g, " ");
  return one.length > 70 ? `${one.slice(0, 69)}…` : one;
}

/** Aligns rows into columns; the first column is left-aligned, the rest as `align` says. */
function columns(rows: string[][], align: "left" | "right" = "left"): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === 0 || align === "left" ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function pctOrDash(x: number | null): string {
  return x === null ? "–" : pct(x);
}

function ms(x: number): string {
  return `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms`;
}
