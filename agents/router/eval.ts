import { readFile } from "node:fs/promises";
import { z } from "zod";
import { InputError } from "../../src/errors.ts";
import { ROUTE_NAMES, type RouteName } from "../../src/types.ts";
import type { Router, RoutingDecision } from "./types.ts";

/**
 * Routing quality on labelled lines (`switchboard eval`, DESIGN.md §4): accuracy of the top route
 * on single-route lines, exact-set accuracy on multi-route lines, per-route precision / recall /
 * f1, confusion, accuracy per source, latency percentiles, and the share of messages a hybrid
 * router would have sent to the LLM.
 */

/** One labelled line of an eval file. */
export interface EvalLine {
  /** 1-based line number in the file (for messages). */
  line: number;
  text: string;
  /** `route` lines: one expected route, scored by the top prediction. */
  route?: RouteName;
  /** `routes` lines: the expected set, scored by the predicted set. */
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
  /** Share of messages whose top confidence is below `llmThreshold`: a hybrid router asks the LLM. */
  llmShare: number;
  llmThreshold: number;
}

/** What one message got: the decision and how long `route()` took. */
export interface EvalOutcome {
  decision: Pick<RoutingDecision, "routes" | "scores" | "unsure">;
  latencyMs: number;
}

/** Hybrid threshold used for `llmShare` when none is given (the default HYBRID_THRESHOLD). */
export const DEFAULT_LLM_THRESHOLD = 0.6;

const Line = z.object({
  text: z.string(),
  route: z.string().optional(),
  routes: z.array(z.string()).min(1).optional(),
  source: z.string().optional(),
});

/**
 * Parses eval JSON lines. Blank lines are skipped; anything else that is not a labelled line
 * throws an {@link InputError} naming the file and line.
 */
export function parseEvalLines(content: string, file = "input"): EvalLine[] {
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
      throw new InputError("eval_line_malformed", `${where}: expected {"text": ..., "route": ...} or {"text": ..., "routes": [...]} (${detail})`);
    }
    const { text, route, routes, source } = parsed.data;
    if ((route === undefined) === (routes === undefined)) {
      throw new InputError("eval_line_malformed", `${where}: give either "route" or "routes", not ${route === undefined ? "neither" : "both"}`);
    }
    if (text.trim() === "") throw new InputError("eval_empty_text", `${where}: "text" is empty`);
    const line: EvalLine = { line: i + 1, text };
    if (route !== undefined) line.route = routeName(route, where);
    if (routes !== undefined) line.routes = [...new Set(routes.map((r) => routeName(r, where)))];
    if (source !== undefined) line.source = source;
    out.push(line);
  });
  if (out.length === 0) {
    throw new InputError("eval_file_empty", `${file} has no labelled lines (expected JSON lines like {"text": "...", "route": "billing"})`);
  }
  return out;
}

/** Reads and parses an eval file; a missing or unreadable file is an {@link InputError}. */
export async function readEvalFile(path: string): Promise<EvalLine[]> {
  let content: string;
  try {
    content = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InputError("eval_file_not_found", `${path}: no such file`, 404);
    throw new InputError("eval_file_unreadable", `${path}: cannot be read (${code ?? (err as Error).message})`);
  }
  return parseEvalLines(content, path);
}

/** Routes every line, one at a time (so latencies are not inflated by each other), and scores. */
export async function evaluate(lines: readonly EvalLine[], router: Router, opts: { threshold?: number } = {}): Promise<EvalReport> {
  const outcomes: EvalOutcome[] = [];
  for (const line of lines) {
    const started = performance.now();
    const decision = await router.route(line.text);
    outcomes.push({ decision, latencyMs: performance.now() - started });
  }
  return summarize(lines, outcomes, opts.threshold ?? DEFAULT_LLM_THRESHOLD);
}

/**
 * The report for lines and their outcomes (same order). An unsure decision counts as its
 * best-scoring route, so accuracy measures the classifier; `unsure` says how often it would
 * rather ask.
 */
export function summarize(lines: readonly EvalLine[], outcomes: readonly EvalOutcome[], threshold: number): EvalReport {
  const confusion = table(() => table(() => 0));
  const tp = table(() => 0);
  const predictedCount = table(() => 0);
  const support = table(() => 0);
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
      if (top !== undefined) confusion[line.route][top]++;
      expected = [line.route];
      counted = top === undefined ? [] : [top];
    } else {
      expected = line.routes ?? [];
      ok = predicted.length === expected.length && predicted.every((r) => expected.includes(r));
      setLines++;
      if (ok) setOk++;
      counted = predicted;
    }
    for (const r of expected) support[r]++;
    for (const r of counted) {
      predictedCount[r]++;
      if (expected.includes(r)) tp[r]++;
    }
    if (decision.unsure) unsure++;
    if (topConfidence(decision) < threshold) toLlm++;
    if (line.source !== undefined) {
      const s = sources.get(line.source) ?? { n: 0, ok: 0 };
      s.n++;
      if (ok) s.ok++;
      sources.set(line.source, s);
    }
  });

  const perRoute = table((r): RouteMetrics => {
    return {
      precision: ratio(tp[r], predictedCount[r]),
      recall: ratio(tp[r], support[r]),
      f1: ratio(2 * tp[r], predictedCount[r] + support[r]),
      support: support[r],
      predicted: predictedCount[r],
    };
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
  };
}

/** The routes a decision acts on, most confident first; unsure: its best-scoring route. */
export function predictedRoutes(decision: EvalOutcome["decision"]): RouteName[] {
  if (decision.routes.length > 0) return [...new Set(decision.routes.map((r) => r.route))];
  const best = ROUTE_NAMES.reduce((a, b) => ((decision.scores[b] ?? 0) > (decision.scores[a] ?? 0) ? b : a));
  return (decision.scores[best] ?? 0) > 0 ? [best] : [];
}

function topConfidence(decision: EvalOutcome["decision"]): number {
  return Math.max(0, ...decision.routes.map((r) => r.confidence), ...ROUTE_NAMES.map((r) => decision.scores[r] ?? 0));
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

function table<T>(make: (route: RouteName) => T): Record<RouteName, T> {
  return Object.fromEntries(ROUTE_NAMES.map((r) => [r, make(r)])) as Record<RouteName, T>;
}

function routeName(value: string, where: string): RouteName {
  if ((ROUTE_NAMES as readonly string[]).includes(value)) return value as RouteName;
  throw new InputError("eval_unknown_route", `${where}: unknown route "${value}"; valid routes: ${ROUTE_NAMES.join(", ")}`);
}
