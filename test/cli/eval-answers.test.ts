/**
 * `switchboard eval-answers`: questions through the whole pipeline (offline engine, demo data),
 * on embedded Postgres and, with TEST_DATABASE_URL, on a server too.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { evaluateAnswers, parseAnswerEvalLines, readAnswerEvalFile } from "../../bots/cli/eval-answers.ts";
import { buildProgram } from "../../bots/cli/main.ts";
import { InputError } from "../../src/errors.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { startTestApp, type RunningApp } from "../helpers/app.ts";

const SHIPPED = path.resolve(import.meta.dirname, "../../examples/answers.jsonl");

describe("eval-answers lines", () => {
  it("reads substrings (any case) and /patterns/, and names the line that is wrong", () => {
    const [line] = parseAnswerEvalLines('{"text": "refunds?", "expect": ["30 DAYS", "/5.10 business/"], "route": "faq"}\n', "f.jsonl");
    expect(line?.route).toBe("faq");
    expect(line?.expect.map((e) => e.test("Within 30 days; 5–10 business days."))).toEqual([true, true]);
    expect(line?.expect.map((e) => e.test("Within a month."))).toEqual([false, false]);

    for (const bad of ['{"text": "x"}', '{"text": "", "expect": ["a"]}', "not json", '{"text": "x", "expect": ["/(/"]}']) {
      const err = (() => {
        try {
          parseAnswerEvalLines(`{"text": "ok", "expect": ["a"]}\n${bad}\n`, "f.jsonl");
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/^f\.jsonl:2: /);
    }
  });

  it("ships at least 40 questions about the demo knowledge base", async () => {
    expect((await readAnswerEvalFile(SHIPPED)).length).toBeGreaterThanOrEqual(40);
  });
});

const targets: Array<[string, () => Promise<{ env: Record<string, string>; drop: () => Promise<void> }>]> = [
  ["embedded", async () => ({ env: {}, drop: async () => {} })],
];
if (process.env["TEST_DATABASE_URL"]) {
  targets.push([
    "server",
    async () => {
      const server = await freshServerDatabase(process.env["TEST_DATABASE_URL"]!);
      return { env: { DATABASE_URL: server.url, DEMO_DATA: "on", JOB_QUEUE: "memory" }, drop: server.drop };
    },
  ]);
}

describe.each(targets)("eval-answers through the pipeline (%s)", { timeout: 120_000 }, (name, target) => {
  let s: RunningApp;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const t = await target();
    drop = t.drop;
    s = await startTestApp(t.env, {}, undefined, { embedded: name === "embedded" });
  });
  afterAll(async () => {
    await s?.close();
    await drop?.();
  });

  it("counts the answers that contain what they should, and lists the misses with what was missing", async () => {
    const lines = parseAnswerEvalLines(
      [
        '{"text": "How long until a refund shows up on my statement?", "expect": ["/5.10 business days/"], "route": "billing"}',
        '{"text": "Do you ship to Canada?", "expect": ["Canada", "a free pony"]}',
        '{"text": "What plans do you offer?", "expect": ["Business"], "route": "tech_support"}',
      ].join("\n"),
      "inline.jsonl",
    );
    const report = await evaluateAnswers(s.app, lines);
    expect(report).toMatchObject({ n: 3, hits: 2, routed: { n: 2, correct: 1 } });
    expect(report.hitRate).toBeCloseTo(2 / 3);
    expect(report.misses).toHaveLength(2);
    expect(report.misses[0]).toMatchObject({ line: 2, text: "Do you ship to Canada?", missing: ["a free pony"] });
    expect(report.misses[0]?.answer).toMatch(/Canada/);
    expect(report.misses[1]).toMatchObject({ line: 3, missing: [], expectedRoute: "tech_support", route: "faq" });
  });
});

describe("switchboard eval-answers FILE --json", { timeout: 180_000 }, () => {
  it("runs on a database of its own and prints the report", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "switchboard-eval-test-"));
    const file = path.join(dir, "q.jsonl");
    await writeFile(file, '{"text": "What are the API rate limits?", "expect": ["600 requests per minute"]}\n{"text": "Is there a student discount?", "expect": ["/school email/"]}\n');
    const printed: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      await buildProgram().exitOverride().parseAsync(["node", "switchboard", "eval-answers", file, "--json"]);
    } finally {
      write.mockRestore();
    }
    const report = JSON.parse(printed.join(""));
    expect(report).toMatchObject({ n: 2, hits: 2, hitRate: 1, misses: [] });
  });
});
