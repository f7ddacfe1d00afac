import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  evaluate,
  parseEvalLines,
  readEvalFile,
  summarize,
  type EvalLine,
  type EvalOutcome,
} from "../../agents/router/eval.ts";
import type { Router, RoutingDecision } from "../../agents/router/types.ts";
import { InputError } from "../../src/errors.ts";
import type { RouteName } from "../../src/types.ts";

const zero: Record<RouteName, number> = { billing: 0, tech_support: 0, faq: 0, human: 0 };

function decision(routes: [RouteName, number][], scores: Partial<Record<RouteName, number>> = {}): EvalOutcome["decision"] {
  const all: Record<RouteName, number> = { ...zero };
  for (const [r, c] of Object.entries(scores)) all[r] = c ?? 0;
  for (const [r, c] of routes) all[r] = Math.max(all[r] ?? 0, c);
  return { routes: routes.map(([route, confidence]) => ({ route, confidence, question: "q" })), scores: all, unsure: routes.length === 0 };
}

/** Six lines with known outcomes; the expected figures below are worked out by hand. */
const lines: EvalLine[] = [
  { line: 1, text: "a", route: "billing", source: "s1" },
  { line: 2, text: "b", route: "billing", source: "s1" },
  { line: 3, text: "c", route: "faq", source: "s2" },
  { line: 4, text: "d", route: "human" },
  { line: 5, text: "e", routes: ["billing", "tech_support"], source: "s2" },
  { line: 6, text: "f", routes: ["faq", "human"] },
];
const decisions = [
  decision([["billing", 0.9]]),
  decision([["faq", 0.55]]),
  decision([["faq", 0.8]]),
  decision([], { human: 0.4, faq: 0.3 }), // unsure: counts as its best score, human
  decision([["billing", 0.9], ["tech_support", 0.7]]),
  decision([["faq", 0.95]]),
];
const outcomes: EvalOutcome[] = decisions.map((d, i) => ({ decision: d, latencyMs: i + 1 }));

describe("summarize", () => {
  const report = summarize(lines, outcomes, 0.6);

  it("scores single-route lines by the top route and route sets exactly", () => {
    expect(report.n).toBe(6);
    expect(report.lines).toEqual({ route: 4, routes: 2 });
    expect(report.accuracy).toBe(0.75);
    expect(report.setAccuracy).toBe(0.5);
  });

  it("computes precision, recall and f1 per route", () => {
    expect(report.perRoute.billing).toEqual({ precision: 1, recall: 2 / 3, f1: 0.8, support: 3, predicted: 2 });
    expect(report.perRoute.tech_support).toEqual({ precision: 1, recall: 1, f1: 1, support: 1, predicted: 1 });
    expect(report.perRoute.faq).toEqual({ precision: 2 / 3, recall: 1, f1: 0.8, support: 2, predicted: 3 });
    expect(report.perRoute.human).toEqual({ precision: 1, recall: 0.5, f1: 2 / 3, support: 2, predicted: 1 });
  });

  it("counts confusion of single-route lines as expected → predicted", () => {
    expect(report.confusion).toEqual({
      billing: { billing: 1, tech_support: 0, faq: 1, human: 0 },
      tech_support: { billing: 0, tech_support: 0, faq: 0, human: 0 },
      faq: { billing: 0, tech_support: 0, faq: 1, human: 0 },
      human: { billing: 0, tech_support: 0, faq: 0, human: 1 },
    });
  });

  it("reports accuracy per source, unsure and LLM shares and latency percentiles", () => {
    expect(report.bySource).toEqual({ s1: { n: 2, accuracy: 0.5 }, s2: { n: 2, accuracy: 1 } });
    expect(report.unsure).toBeCloseTo(1 / 6);
    expect(report.llmShare).toBeCloseTo(2 / 6); // top confidences 0.55 and 0.4 are below 0.6
    expect(report.llmThreshold).toBe(0.6);
    expect(report.latencyMs).toEqual({ p50: 3, p99: 6 });
  });

  it("leaves ratios with nothing to divide by null", () => {
    const only = summarize([lines[0]!], [outcomes[0]!], 0.6);
    expect(only.setAccuracy).toBeNull();
    expect(only.perRoute.faq).toEqual({ precision: null, recall: null, f1: null, support: 0, predicted: 0 });
    expect(only.bySource).toEqual({ s1: { n: 1, accuracy: 1 } });
  });
});

describe("lines that expect no route (DESIGN.md §4.1)", () => {
  const none: EvalLine[] = [
    { line: 1, text: "can you dim my screen", routes: [] },
    { line: 2, text: "how much has the dow moved", routes: [] },
    { line: 3, text: "refund please", route: "billing" },
  ];
  const got = [decision([], { faq: 0.4 }), decision([["tech_support", 0.7]]), decision([["billing", 0.9]])];
  const report = summarize(none, got.map((d) => ({ decision: d, latencyMs: 1 })), 0.6);

  it("counts a `routes: []` line right only when the router is unsure", () => {
    expect(report.lines).toEqual({ route: 1, routes: 2 });
    expect(report.setAccuracy).toBe(0.5);
    expect(report.accuracy).toBe(1);
    // The confident wrong route is a false positive of tech_support.
    expect(report.perRoute.tech_support).toMatchObject({ predicted: 1, support: 0, precision: 0 });
  });

  it("lists the lines it got wrong as misses: {text, expected, got}", () => {
    expect(report.misses).toEqual([{ line: 2, text: "how much has the dow moved", expected: [], got: ["tech_support"], confidence: 0.7 }]);
  });

  it("parses `\"routes\": []`", () => {
    expect(parseEvalLines('{"text": "tell me a joke", "routes": []}')).toEqual([{ line: 1, text: "tell me a joke", routes: [] }]);
  });

  it("sends a message with an unplaced further request to the LLM in llmShare, and counts it", () => {
    const d = { ...decision([["billing", 0.95]]), unplaced: "and what plans do you offer" };
    const r = summarize([{ line: 1, text: "x", route: "billing" }], [{ decision: d, latencyMs: 1 }], 0.6);
    expect(r.unplacedShare).toBe(1);
    expect(r.llmShare).toBe(1);
  });
});

describe("routes from the registry", () => {
  it("scores a fourth route the registry has, and validates lines against the given routes", () => {
    const routes = ["billing", "tech_support", "faq", "shipping", "human"];
    const parsed = parseEvalLines('{"text": "where is my parcel", "route": "shipping"}', "f", routes);
    const r = summarize(parsed, [{ decision: decision([["shipping", 0.9]]), latencyMs: 1 }], 0.6, routes);
    expect(r.accuracy).toBe(1);
    expect(r.perRoute.shipping).toMatchObject({ precision: 1, recall: 1, support: 1 });
    expect(Object.keys(r.confusion)).toEqual(routes);
    expect(() => parseEvalLines('{"text": "x", "route": "shipping"}', "f")).toThrow(/unknown route "shipping"/);
  });
});

describe("evaluate", () => {
  it("routes every line through the router and times each call", async () => {
    const byText = new Map(lines.map((l, i) => [l.text, decisions[i]!]));
    const router: Router = {
      async route(text): Promise<RoutingDecision> {
        return { ...byText.get(text)!, engine: "offline", latencyMs: 0 };
      },
    };
    const report = await evaluate(lines, router);
    expect(report.accuracy).toBe(0.75);
    expect(report.llmThreshold).toBe(0.6);
    expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50);
  });
});

describe("parseEvalLines", () => {
  it("reads route and routes lines, skipping blank lines, keeping line numbers", () => {
    const parsed = parseEvalLines(
      '{"text": "refund please", "route": "billing", "source": "x"}\n\n{"text": "hi", "routes": ["faq", "human", "faq"]}\r\n',
    );
    expect(parsed).toEqual([
      { line: 1, text: "refund please", route: "billing", source: "x" },
      { line: 3, text: "hi", routes: ["faq", "human"] },
    ]);
  });

  const error = (content: string): InputError => {
    try {
      parseEvalLines(content, "f.jsonl");
    } catch (err) {
      if (err instanceof InputError) return err;
      throw err;
    }
    throw new Error("no error thrown");
  };

  it("names the line of malformed JSON", () => {
    const err = error('{"text": "a", "route": "faq"}\n{"text": "b", "route": \n');
    expect(err.code).toBe("eval_line_malformed");
    expect(err.message).toMatch(/^f\.jsonl:2: not valid JSON/);
  });

  it("rejects lines of the wrong shape", () => {
    expect(error('{"route": "faq"}').message).toMatch(/^f\.jsonl:1: expected .*text/);
    expect(error('["faq"]').code).toBe("eval_line_malformed");
    expect(error('{"text": "a"}').message).toContain('give either "route" or "routes", not neither');
    expect(error('{"text": "a", "route": "faq", "routes": ["faq"]}').message).toContain("not both");
  });

  it("names an unknown route and lists the valid ones", () => {
    const err = error('{"text": "a", "route": "faq"}\n{"text": "b", "route": "billling"}');
    expect(err.code).toBe("eval_unknown_route");
    expect(err.message).toBe('f.jsonl:2: unknown route "billling"; valid routes: billing, tech_support, faq, human');
    expect(error('{"text": "b", "routes": ["faq", "sales"]}').message).toContain('f.jsonl:1: unknown route "sales"');
  });

  it("rejects empty text and empty files", () => {
    expect(error('{"text": "  ", "route": "faq"}')).toMatchObject({ code: "eval_empty_text", message: 'f.jsonl:1: "text" is empty' });
    expect(error("").code).toBe("eval_file_empty");
    expect(error("\n  \n").message).toContain("f.jsonl has no labelled lines");
  });
});

describe("readEvalFile", () => {
  it("says plainly that a file is missing", async () => {
    const missing = path.join(tmpdir(), "switchboard-no-such-file.jsonl");
    await expect(readEvalFile(missing)).rejects.toMatchObject({ name: "InputError", code: "eval_file_not_found" });
    await expect(readEvalFile(missing)).rejects.toThrow(`${missing}: no such file`);
  });

  it("reads a file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "switchboard-eval-"));
    const file = path.join(dir, "e.jsonl");
    await writeFile(file, '{"text": "refund", "route": "billing"}\n');
    expect(await readEvalFile(file)).toEqual([{ line: 1, text: "refund", route: "billing" }]);
  });
});
