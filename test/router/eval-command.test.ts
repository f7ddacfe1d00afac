import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Router, RoutingDecision } from "../../agents/router/types.ts";
import { runEval } from "../../bots/cli/eval-command.ts";
import type { RouteName } from "../../src/types.ts";

/** Routes by keyword, so the expected figures are easy to work out. */
const router: Router = {
  async route(text): Promise<RoutingDecision> {
    const scores: Record<RouteName, number> = { billing: 0.05, tech_support: 0.05, faq: 0.05, human: 0.05 };
    const routes: RoutingDecision["routes"] = [];
    const add = (route: RouteName, confidence: number) => {
      routes.push({ route, confidence, question: text });
      scores[route] = confidence;
    };
    if (/refund|invoice/.test(text)) add("billing", 0.9);
    if (/password/.test(text)) add("tech_support", 0.8);
    if (/person/.test(text)) add("human", 0.5);
    return { routes, scores, unsure: routes.length === 0, engine: "offline", latencyMs: 0 };
  },
};

let dir: string;
const file = async (name: string, lines: unknown[]) => {
  const p = path.join(dir, name);
  await writeFile(p, lines.map((l) => JSON.stringify(l)).join("\n"));
  return p;
};
const run = async (p: string, opts: { json: boolean; threshold?: number }) => {
  let out = "";
  await runEval(p, opts, router, (s) => (out += s));
  return out;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "switchboard-eval-cmd-"));
});

const labelled = [
  { text: "where is my refund", route: "billing", source: "web" },
  { text: "reset my password", route: "tech_support", source: "web" },
  { text: "my invoice is wrong", route: "human", source: "chat" },
  { text: "a person please", route: "human" },
  { text: "refund, and my password", routes: ["billing", "tech_support"] },
];

describe("runEval --json", () => {
  it("prints one JSON object with the DESIGN.md fields", async () => {
    const report = JSON.parse(await run(await file("a.jsonl", labelled), { json: true }));
    expect(report).toMatchObject({
      n: 5,
      accuracy: 0.75,
      setAccuracy: 1,
      bySource: { web: { n: 2, accuracy: 1 }, chat: { n: 1, accuracy: 0 } },
      llmThreshold: 0.6,
      llmShare: 0.2, // "a person please" is routed at 0.5
    });
    expect(report.perRoute.human).toMatchObject({ precision: 1, recall: 0.5, support: 2 });
    expect(report.confusion.human.billing).toBe(1);
    expect(Object.keys(report.latencyMs)).toEqual(["p50", "p99"]);
  });

  it("uses the given hybrid threshold for the LLM share", async () => {
    const report = JSON.parse(await run(await file("b.jsonl", labelled), { json: true, threshold: 0.85 }));
    expect(report.llmThreshold).toBe(0.85);
    expect(report.llmShare).toBe(0.4); // 0.5 and 0.8 are below 0.85
  });
});

describe("runEval (tables)", () => {
  it("prints headline figures, per-route metrics, confusion and per-source accuracy", async () => {
    const out = await run(await file("c.jsonl", labelled), { json: false });
    expect(out).toContain("5 messages: 4 with one expected route, 1 with a set of routes");
    expect(out).toMatch(/Accuracy \(top route is the expected one\)\s+75\.0%  \(3 of 4\)/);
    expect(out).toMatch(/Set accuracy \(routes are exactly the expected set\)\s+100\.0%  \(1 of 1\)/);
    expect(out).toMatch(/Would go to the LLM in hybrid mode \(confidence < 0\.6, or a request left unplaced\)\s+20\.0%/);
    // Two decimals below 10 ms, whole milliseconds above (on a loaded machine p99 can be either).
    expect(out).toMatch(/p50 (\d\.\d\d|\d{2,}) ms, p99 (\d\.\d\d|\d{2,}) ms/);
    // human: 1 of 2 found, every human prediction right
    expect(out).toMatch(/human\s+100\.0%\s+50\.0%\s+66\.7%\s+2\s+1/);
    expect(out).toMatch(/expected \\ predicted\s+billing\s+tech_support\s+faq\s+human/);
    expect(out).toMatch(/^\s+human\s+1\s+0\s+0\s+1$/m);
    expect(out).toMatch(/chat\s+0\.0%\s+1/);
    expect(out).toMatch(/web\s+100\.0%\s+2/);
    // The worst lines: what was expected, what the router acted on.
    expect(out).toMatch(/Wrong lines \(1; the 1 most confidently wrong/);
    expect(out).toMatch(/^\s+3\s+human\s+billing\s+90\.0%\s+my invoice is wrong$/m);
  });

  it("leaves out what the file has none of", async () => {
    const out = await run(await file("d.jsonl", [{ text: "refund", route: "billing" }]), { json: false });
    expect(out).toMatch(/Set accuracy \(routes are exactly the expected set\)\s+–  \(no such lines\)/);
    expect(out).not.toContain("Accuracy by source");
    expect(out).toMatch(/faq\s+–\s+–\s+–\s+0\s+0/);
  });
});

describe("runEval errors", () => {
  it("rejects bad input with an InputError and prints nothing", async () => {
    let out = "";
    const collect = (s: string) => (out += s);
    await expect(runEval(path.join(dir, "missing.jsonl"), { json: true }, router, collect)).rejects.toMatchObject({
      code: "eval_file_not_found",
    });
    const bad = path.join(dir, "bad.jsonl");
    await writeFile(bad, '{"text": "refund", "route": "billing"}\nnot json\n');
    await expect(runEval(bad, { json: false }, router, collect)).rejects.toThrow(`${bad}:2: not valid JSON`);
    const unknown = await file("unknown.jsonl", [{ text: "refund", route: "sales" }]);
    await expect(runEval(unknown, { json: false }, router, collect)).rejects.toThrow(/unknown route "sales"; valid routes: billing, tech_support, faq, human/);
    const empty = path.join(dir, "empty.jsonl");
    await writeFile(empty, "");
    await expect(runEval(empty, { json: false }, router, collect)).rejects.toMatchObject({ code: "eval_file_empty" });
    expect(out).toBe("");
  });
});
