import { readFile } from "node:fs/promises";
import { z } from "zod";
import { InputError } from "../../src/errors.ts";
import type { RouteName } from "../../src/types.ts";
import { ROUTE_NAMES } from "../workers/registry.ts";
import type { Router, RoutingDecision } from "./types.ts";

/**
 * Routing quality on labelled lines (`switchboard eval`, DESIGN.md §4): accuracy of the top route
 * on single-route lines, exact-set accuracy on multi-route lines, per-route precision / recall /
 * f1, confusion, accuracy per source, latency percentiles, the share of messages a hybrid
 * router would have sent to the LLM, and the lines it got wrong. A `"routes": []` line expects
 * no confident route (DESIGN.md §4.1): it is right when the router is unsure.
 */

/** One labelled line of an eval file. */
export interface EvalLine {
  /** 1-based line number in the file (for messages). */
  line: number;
  text: string;
  /** `route` lines: one expected route, scored by the top prediction. */
  route?: RouteName;
  /** `routes` lines: the expected set, scored by the predicted set; empty: expects `unsure`. */
  routes?: RouteName[];
  source?: string;
}

export interface RouteMetrics {
  /** Null when the route was never predicted. */
  precision: number | null;
  /** Null when the route was never expected. */
  recall: number | null;
  /** 2·tp / (predicted + support); null when the route was neither expected nor predicted. */
  f1: number | null;
  /** Lines that expect the route. */
  support: number;
  /** Lines where the route was predicted. */
  predicted: number;
}

/** The `eval --json` object. Ratios are in [0, 1]; null where there is nothing to divide by. */
export interface EvalReport {
  n: number;
  /** Lines with `route` whose top predicted route equals it. */
  accuracy: number | null;
  /** Lines with `routes` whose predicted route set equals it. */
  setAccuracy: number | null;
  lines: { route: number; routes: number };
  /**
   * Over all lines: a `route` line counts its top prediction, a `routes` line its predicted set.
   */
  perRoute: Record<RouteName, RouteMetrics>;
  /** `confusion[expected][predicted]`, `route` lines only, top prediction. */
  confusion: Record<RouteName, Record<RouteName, number>>;
  /** Accuracy per `source` (lines without one are left out), by each line's own criterion. */
  bySource: Record<string, { n: number; accuracy: number }>;
  /** Time of one `route()` call, measured around it. */
  latencyMs: { p50: number; p99: number };
  /** Share of messages the router was unsure about (no route confident enough). */
  unsure: number;
  /**
   * Share of messages a hybrid router sends to the LLM: top confidence below `llmThreshold`, or
   * a possible further request the offline side could not place (`unplaced`).
   */
  llmShare: number;
  llmThreshold: number;
  /** Share of messages with a possible further request the router could not place. */
  unplacedShare: number;
  /** The lines it got wrong, in file order: what was expected, what the router acted on. */
  misses: EvalMiss[];
}

/** One wrong line of {@link EvalReport.misses}. `got` is empty when the router was unsure. */
export interface EvalMiss {
  line: number;
  text: string;
  expected: RouteName[];
  got: RouteName[];
  /** The best confidence the router had (its top route's). */
  confidence: number;
}

/** What one message got: the decision and how long `route()` took. */
export interface EvalOutcome {
  decision: Pick<RoutingDecision, "routes" | "scores" | "unsure" | "unplaced">;
  latencyMs: number;
}

/** Hybrid threshold used for `llmShare` when none is given (the default HYBRID_THRESHOLD). */
export const DEFAULT_LLM_THRESHOLD = 0.6;

const Line = z.object({
  text: z.string(),
  route: z.string().optional(),
  routes: z.array(z.string()).optional(),
  source: z.string().optional(),
});

/**
 * Parses eval JSON lines. Blank lines are skipped; anything else that is not a labelled line
 * throws an {@link InputError} naming the file and line.
 */
export function parseEvalLines(content: string, file = "input", known: readonly RouteName[] = ROUTE_NAMES): EvalLine[] {
  const out: EvalLine[] = [];
  const rows = content.replace(/^\uFEFF/, "").split(/\r?\n/);
  rows.forEach((row, i) => {
    if (row.trim() === "") return;
    const where = `${file}:${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(row);
    } catch (err) {
      throw new InputError("eval_line_malformed", `${where}: not valid JSON (${(err as Error).message})`);
    }
    const parsed = Line.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const detail = issue ? `${issue.path.join(".") || "line"}: ${issue.message}` : "bad shape";
      throw new InputError("eval_line_malformed", `${where}: expected {"text": ..., "route": ...} or {"text": ..., "routes": [...]} ("routes": [] for a message no route should take) (${detail})`);
    }
    const { text, route, routes, source } = parsed.data;
    if ((route === undefined) === (routes === undefined)) {
      throw new InputError("eval_line_malformed", `${where}: give either "route" or "routes", not ${route === undefined ? "neither" : "both"}`);
    }
    if (text.trim() === "") throw new InputError("eval_empty_text", `${where}: "text" is empty`);
    const line: EvalLine = { line: i + 1, text };
    if (route !== undefined) line.route = routeName(route, where, known);
    if (routes !== undefined) line.routes = [...new Set(routes.map((r) => routeName(r, where, known)))];
    if (source !== undefined) line.source = source;
    out.push(line);
  });
  if (out.length === 0) {
    throw new InputError("eval_file_empty", `${file} has no labelled lines (expected JSON lines like {"text": "...", "route": "billing"})`);
  }
  return out;
}

/** Reads and parses an eval file; a missing or unreadable file is an {@link InputError}. */
export async function readEvalFile(path: string, routes: readonly RouteName[] = ROUTE_NAMES): Promise<EvalLine[]> {
  let content: string;
  try {
    content = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InputError("eval_file_not_found", `${path}: no such file`, 404);
    throw new InputError("eval_file_unreadable", `${path}: cannot be read (${code ?? (err as Error).message})`);
  }
  return parseEvalLines(content, path, routes);
}

/** Routes every line, one at a time (so latencies are not inflated by each other), and scores. */
export async function evaluate(
  lines: readonly EvalLine[],
  router: Router,
  opts: { threshold?: number; routes?: readonly RouteName[] } = {},
): Promise<EvalReport> {
  const outcomes: EvalOutcome[] = [];
  for (const line of lines) {
    const started = performance.now();
    const decision = await router.route(line.text);
    outcomes.push({ decision, latencyMs: performance.now() - started });
  }
  return summarize(lines, outcomes, opts.threshold ?? DEFAULT_LLM_THRESHOLD, opts.routes);
}

/**
 * The report for lines and their outcomes (same order). An unsure decision counts as its
 * best-scoring route, so accuracy measures the classifier; `unsure` says how often it would
 * rather ask.
 */
export function summarize(
  lines: readonly EvalLine[],
  outcomes: readonly EvalOutcome[],
  threshold: number,
  routes: readonly RouteName[] = ROUTE_NAMES,
): EvalReport {
  // Every route the registry has, and any the lines or the router name beyond them.
  const names = [...new Set([
    ...routes,
    ...lines.flatMap((l) => (l.route !== undefined ? [l.route] : (l.routes ?? []))),
    ...outcomes.flatMap((o) => [...Object.keys(o.decision.scores), ...o.decision.routes.map((r) => r.route)]),
  ])];
  const table = <T>(make: (route: RouteName) => T): Record<RouteName, T> => Object.fromEntries(names.map((r) => [r, make(r)]));
  const confusion = table(() => table(() => 0));
  const tp = table(() => 0);
  const predictedCount = table(() => 0);
  const support = table(() => 0);
  const bump = (t: Record<RouteName, number>, r: RouteName) => (t[r] = (t[r] ?? 0) + 1);
  const misses: EvalMiss[] = [];
  let unplaced = 0;
  const sources = new Map<string, { n: number; ok: number }>();
  let routeLines = 0;
  let routeOk = 0;
  let setLines = 0;
  let setOk = 0;
  let unsure = 0;
  let toLlm = 0;

  lines.forEach((line, i) => {
    const { decision } = outcomes[i]!;
    const predicted = predictedRoutes(decision);
    let ok: boolean;
    let expected: RouteName[];
    let counted: RouteName[];
    if (line.route !== undefined) {
      const top = predicted[0];
      ok = top === line.route;
      routeLines++;
      if (ok) routeOk++;
      if (top !== undefined) bump(confusion[line.route]!, top);
      expected = [line.route];
      counted = top === undefined ? [] : [top];
    } else {
      expected = line.routes ?? [];
      // A line that expects nothing is right only when nothing was confident enough to act on.
      counted = expected.length === 0 ? (decision.unsure ? [] : [...new Set(decision.routes.map((r) => r.route))]) : predicted;
      ok = counted.length === expected.length && counted.every((r) => expected.includes(r));
      setLines++;
      if (ok) setOk++;
    }
    for (const r of expected) bump(support, r);
    for (const r of counted) {
      bump(predictedCount, r);
      if (expected.includes(r)) bump(tp, r);
    }
    if (!ok) misses.push({ line: line.line, text: line.text, expected, got: decision.unsure && expected.length === 0 ? [] : counted, confidence: topConfidence(decision) });
    if (decision.unsure) unsure++;
    if (decision.unplaced !== undefined) unplaced++;
    if (topConfidence(decision) < threshold || decision.unplaced !== undefined) toLlm++;
    if (line.source !== undefined) {
      const s = sources.get(line.source) ?? { n: 0, ok: 0 };
      s.n++;
      if (ok) s.ok++;
      sources.set(line.source, s);
    }
  });

  const perRoute = table((r): RouteMetrics => {
    const [t, p, s] = [tp[r] ?? 0, predictedCount[r] ?? 0, support[r] ?? 0];
    return { precision: ratio(t, p), recall: ratio(t, s), f1: ratio(2 * t, p + s), support: s, predicted: p };
  });
  const latencies = outcomes.map((o) => o.latencyMs).sort((a, b) => a - b);
  return {
    n: lines.length,
    accuracy: ratio(routeOk, routeLines),
    setAccuracy: ratio(setOk, setLines),
    lines: { route: routeLines, routes: setLines },
    perRoute,
    confusion,
    bySource: Object.fromEntries(
      [...sources.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, v]) => [s, { n: v.n, accuracy: v.ok / v.n }]),
    ),
    latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) },
    unsure: lines.length === 0 ? 0 : unsure / lines.length,
    llmShare: lines.length === 0 ? 0 : toLlm / lines.length,
    llmThreshold: threshold,
    unplacedShare: lines.length === 0 ? 0 : unplaced / lines.length,
    misses,
  };
}

/** The routes a decision acts on, most confident first; unsure: its best-scoring route. */
export function predictedRoutes(decision: EvalOutcome["decision"]): RouteName[] {
  if (decision.routes.length > 0) return [...new Set(decision.routes.map((r) => r.route))];
  let best: RouteName | undefined;
  for (const [r, p] of Object.entries(decision.scores)) if (p > 0 && (best === undefined || p > (decision.scores[best] ?? 0))) best = r;
  return best === undefined ? [] : [best];
}

function topConfidence(decision: EvalOutcome["decision"]): number {
  return Math.max(0, ...decision.routes.map((r) => r.confidence), ...Object.values(decision.scores));
}

/** Nearest-rank percentile of sorted values, rounded to microseconds. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return Math.round(v * 1000) / 1000;
}

function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

function routeName(value: string, where: string, known: readonly RouteName[]): RouteName {
  if (known.includes(value)) return value;
  throw new InputError("eval_unknown_route", `${where}: unknown route "${value}"; valid routes: ${known.join(", ")}`);
}
