/**
 * `switchboard eval-answers FILE.jsonl [--json]`: answer quality, as a customer sees it. Each line
 * `{"text", "expect": [...], "route"?, "user"?}` is sent through the whole pipeline (intake,
 * queue, router, workers, merge, outbox) as a new conversation, and its answer — the text a
 * terminal shows, with its sources — must contain every expectation: a substring (any case) or a
 * `/pattern/flags` regular expression. `route`, when given, is the route the answer should have
 * come from (the top one); `user` is who asks (default `local`, linked to a demo customer).
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { App } from "../../src/app.ts";
import { InputError } from "../../src/errors.ts";
import { describe, send } from "./chat.ts";

const LineSchema = z.object({
  text: z.string().trim().min(1, "text is empty"),
  expect: z.array(z.string().min(1)).min(1, "expect lists nothing to look for"),
  route: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
});

export interface AnswerEvalLine {
  text: string;
  expect: Expectation[];
  route?: string;
  user?: string;
  /** 1-based line number in the file. */
  line: number;
}

export interface Expectation {
  /** As written in the file. */
  source: string;
  test(answer: string): boolean;
}

export interface AnswerEvalResult {
  text: string;
  line: number;
  /** The answer as the user saw it. */
  answer: string;
  missing: string[];
  expectedRoute?: string;
  /** The top route of the answer, `none` when no route was confident. */
  route: string;
  latencyMs: number;
}

export interface AnswerEvalReport {
  n: number;
  /** Lines whose answer contained every expectation. */
  hits: number;
  hitRate: number;
  /** Lines with a `route`, and how many were answered from it. */
  routed: { n: number; correct: number };
  /** Lines that missed an expectation (or their route): what was looked for and the answer. */
  misses: Array<{ text: string; line: number; missing: string[]; expectedRoute?: string; route: string; answer: string }>;
  latencyMs: { p50: number; p99: number };
}

/** `/pattern/flags` is a regular expression (case-insensitive unless flags are given); anything else a substring, any case. */
export function parseExpectation(source: string): Expectation {
  const re = /^\/(.+)\/([dgimsuvy]*)$/s.exec(source);
  if (re) {
    const pattern = new RegExp(re[1] ?? "", re[2] || "i");
    return { source, test: (answer) => pattern.test(answer) };
  }
  const needle = source.toLowerCase();
  return { source, test: (answer) => answer.toLowerCase().includes(needle) };
}

/** Parses the JSONL content; a bad line throws an InputError naming the file and line. */
export function parseAnswerEvalLines(content: string, file: string): AnswerEvalLine[] {
  const lines: AnswerEvalLine[] = [];
  content.split("\n").forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("//")) return;
    const where = `${file}:${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      throw new InputError("eval_line_invalid", `${where}: not JSON (${(err as Error).message})`);
    }
    const parsed = LineSchema.safeParse(json);
    if (!parsed.success) {
      throw new InputError("eval_line_invalid", `${where}: ${parsed.error.issues.map((x) => `${x.path.join(".") || "line"}: ${x.message}`).join("; ")}`);
    }
    let expect: Expectation[];
    try {
      expect = parsed.data.expect.map(parseExpectation);
    } catch (err) {
      throw new InputError("eval_line_invalid", `${where}: bad pattern (${(err as Error).message})`);
    }
    lines.push({
      text: parsed.data.text,
      expect,
      line: i + 1,
      ...(parsed.data.route !== undefined ? { route: parsed.data.route } : {}),
      ...(parsed.data.user !== undefined ? { user: parsed.data.user } : {}),
    });
  });
  if (lines.length === 0) throw new InputError("eval_file_empty", `${file}: no lines to evaluate`);
  return lines;
}

export async function readAnswerEvalFile(file: string): Promise<AnswerEvalLine[]> {
  let content: string;
  try {
    content = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === "ENOENT" ? "eval_file_not_found" : "eval_file_unreadable", `${file}: ${code === "ENOENT" ? "no such file" : `cannot be read (${code})`}`, code === "ENOENT" ? 404 : 400);
  }
  return parseAnswerEvalLines(content, file);
}

/** Asks every line, one at a time and each in a new conversation, through `app`'s pipeline. */
export async function evaluateAnswers(app: App, lines: readonly AnswerEvalLine[]): Promise<AnswerEvalReport> {
  const results: AnswerEvalResult[] = [];
  for (const line of lines) {
    const started = performance.now();
    const outcome = await send(app, `cli:eval-${randomUUID()}`, line.user ?? "local", line.text);
    const latencyMs = performance.now() - started;
    // Whitespace as one space: the terminal reflows lines, and an expectation is about words.
    const answer = (await describe(app, outcome)).replace(/\s+/g, " ").trim();
    results.push({
      text: line.text,
      line: line.line,
      answer,
      missing: line.expect.filter((e) => !e.test(answer)).map((e) => e.source),
      ...(line.route !== undefined ? { expectedRoute: line.route } : {}),
      route: (outcome.kind === "reply" ? outcome.routes[0]?.route : undefined) ?? "none",
      latencyMs,
    });
  }
  return summarizeAnswers(results);
}

export function summarizeAnswers(results: readonly AnswerEvalResult[]): AnswerEvalReport {
  const routeOk = (r: AnswerEvalResult) => r.expectedRoute === undefined || r.expectedRoute === r.route;
  const hits = results.filter((r) => r.missing.length === 0).length;
  const routed = results.filter((r) => r.expectedRoute !== undefined);
  const latencies = results.map((r) => r.latencyMs).sort((a, b) => a - b);
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    n: results.length,
    hits,
    hitRate: results.length ? hits / results.length : 0,
    routed: { n: routed.length, correct: routed.filter(routeOk).length },
    misses: results
      .filter((r) => r.missing.length > 0 || !routeOk(r))
      .map((r) => ({
        text: r.text,
        line: r.line,
        missing: r.missing,
        ...(r.expectedRoute !== undefined ? { expectedRoute: r.expectedRoute } : {}),
        route: r.route,
        answer: r.answer,
      })),
    latencyMs: { p50: pick(0.5), p99: pick(0.99) },
  };
}

/** The report for a person: the figure, then each miss with what was missing and the answer's start. */
export function formatAnswerReport(file: string, r: AnswerEvalReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const out = [
    `Answer quality on ${file}`,
    `  ${r.hits} of ${r.n} answers contain everything expected (${pct(r.hitRate)})`,
  ];
  if (r.routed.n > 0) out.push(`  ${r.routed.correct} of ${r.routed.n} answered from the expected route`);
  out.push(`  time per answer: p50 ${r.latencyMs.p50.toFixed(0)} ms, p99 ${r.latencyMs.p99.toFixed(0)} ms`);
  if (r.misses.length > 0) {
    out.push("", "Misses");
    for (const m of r.misses) {
      out.push(`  line ${m.line}: ${JSON.stringify(m.text)}`);
      if (m.missing.length) out.push(`    missing: ${m.missing.map((x) => JSON.stringify(x)).join(", ")}`);
      if (m.expectedRoute !== undefined && m.expectedRoute !== m.route) out.push(`    route: expected ${m.expectedRoute}, got ${m.route}`);
      const excerpt = m.answer;
      out.push(`    answer: ${excerpt.length > 220 ? `${excerpt.slice(0, 219)}…` : excerpt}`);
    }
  }
  return `${out.join("\n")}\n`;
}
