import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadKnowledgeBase } from "../../agents/knowledge/knowledge-base.ts";
import type { OfflineRouter } from "../../agents/router/offline/index.ts";
import { offlineRouterFor } from "../../agents/trained-router.ts";
import { WorkerRegistry } from "../../agents/workers/registry.ts";
import { DEFAULT_KNOWLEDGE_DIR } from "../../src/config.ts";

/**
 * The router's general behaviour (issue 14), on text none of its code or training lines has:
 * two requests joined in ways the segmenter has no cue word for, single requests kept single,
 * out-of-scope text left unsure, and the written SaaS messages routed as `serve` routes them.
 * Floors are what was measured when they were written, less a margin.
 */
let router: OfflineRouter;
let served: OfflineRouter;
beforeAll(async () => {
  router = offlineRouterFor(new WorkerRegistry());
  served = offlineRouterFor(new WorkerRegistry(), { knowledge: await loadKnowledgeBase(DEFAULT_KNOWLEDGE_DIR) });
});

const routesOf = (r: OfflineRouter, text: string) => r.classify(text).routes.map((p) => p.route).sort();

const REQUESTS: [string, string][] = [
  ["billing", "I was charged twice for my subscription this month"],
  ["billing", "please send me a copy of my last invoice"],
  ["tech_support", "I forgot my password and the reset email never arrives"],
  ["tech_support", "the app crashes every time I try to log in"],
  ["faq", "do you ship to Canada"],
  ["faq", "what plans do you offer"],
  ["human", "I want to talk to a real person"],
  ["human", "I want to file a complaint about your service"],
];

describe("two requests joined with connectors the segmenter has no cue for", () => {
  // None of these is a cue word or mark the segmenter lists (segmenter.ts).
  const joins: [string, (a: string, b: string) => string][] = [
    ["emoji", (a, b) => `${a} 🙏 ${b}`],
    ["pipe", (a, b) => `${a} | ${b}`],
    ["P.S.", (a, b) => `${a}. P.S. ${b}`],
    ["numbered", (a, b) => `1) ${a} 2) ${b}`],
    ["not to mention", (a, b) => `${a} not to mention ${b}`],
    ["as well as", (a, b) => `${a} as well as ${b}`],
    ["on another note", (a, b) => `${a}. On another note, ${b}`],
    ["smiley", (a, b) => `${a} :) ${b}`],
    ["another question", (a, b) => `${a} and another question ${b}`],
    ["tilde", (a, b) => `${a} ~ ${b}`],
  ];
  const cases = REQUESTS.flatMap(([ra, a]) =>
    REQUESTS.filter(([rb]) => rb !== ra).flatMap(([rb, b]) => joins.map(([name, join]) => ({ name, text: join(a, b), expected: [ra, rb].sort() }))),
  );

  it("finds both routes in at least 95 % of 480 joins (479 when written)", () => {
    const missed = cases.filter((c) => JSON.stringify(routesOf(router, c.text)) !== JSON.stringify(c.expected));
    expect(cases).toHaveLength(480);
    expect(missed.length, JSON.stringify(missed.slice(0, 5))).toBeLessThanOrEqual(24);
  });

  it("finds both in every way of joining, not only on average", () => {
    for (const [name] of joins) {
      const mine = cases.filter((c) => c.name === name);
      const ok = mine.filter((c) => JSON.stringify(routesOf(router, c.text)) === JSON.stringify(c.expected)).length;
      expect(ok, name).toBeGreaterThanOrEqual(mine.length - 6);
    }
  });
});

describe("single requests stay single", () => {
  it("gives one route (or none) to each request above and to all but one of the 74 written SaaS messages", () => {
    const saas = ["examples/saas-44-written.jsonl", "examples/saas-30-written.jsonl"].flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => (JSON.parse(l) as { text: string }).text),
    );
    const split = [...REQUESTS.map(([, t]) => t), ...saas].filter((t) => router.classify(t).routes.length > 1);
    // When written, one was cut: "is there an outage? the app won't load…" (two sentences of
    // one request, the first read as a question for the FAQ).
    expect(split.length, JSON.stringify(split)).toBeLessThanOrEqual(1);
    expect(split.filter((t) => REQUESTS.some(([, r]) => r === t))).toEqual([]);
  });
});

describe("out of scope", () => {
  // Topics and sentences in none of the out-of-scope training lines.
  const lines = [
    "what's a good recipe for lentil soup",
    "who painted the Mona Lisa",
    "how do I get to the train station from here",
    "will it snow in Oslo this weekend",
    "tell me a bedtime story about dragons",
    "what's the score of the Lakers game",
    "set a timer for ten minutes",
    "how many ounces are in a cup",
    "recommend a podcast about history",
    "what's the best way to learn Spanish",
    "how do I repot an orchid",
    "who is the prime minister of Japan",
  ];

  it("leaves at least 10 of 12 unsure (11 when written), as serve routes them", () => {
    const routed = lines.filter((t) => !served.classify(t).unsure);
    expect(routed.length, JSON.stringify(routed)).toBeLessThanOrEqual(2);
  });

  it("still routes a support request written like a customer of a SaaS product ('we', 'our')", () => {
    // The out-of-scope class once took plural, speech-like phrasing for no support request.
    expect(routesOf(router, "we were billed for three more users than we have")).toEqual(["billing"]);
    expect(routesOf(router, "our team keeps getting logged out and can't get back in")).toEqual(["tech_support"]);
  });
});

describe("written SaaS support messages, routed as serve routes them", () => {
  const score = (file: string, source?: string) => {
    const lines = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as { text: string; route: string; source?: string })
      .filter((l) => source === undefined || l.source === source);
    const right = lines.filter((l) => {
      const d = served.classify(l.text);
      return !d.unsure && d.routes.length === 1 && d.routes[0]!.route === l.route;
    });
    return { right: right.length, n: lines.length };
  };

  it("routes right at least 36 of the 44 (39 when written)", () => {
    expect(score("examples/saas-44-written.jsonl").right).toBeGreaterThanOrEqual(36);
  });

  it("routes right at least 18 of the 22 never tuned on (20 when written)", () => {
    const s = score("examples/saas-44-written.jsonl", "saas44_holdout");
    expect(s.n).toBe(22);
    expect(s.right).toBeGreaterThanOrEqual(18);
  });

  it("routes right at least 26 of the older 30 (29 when written)", () => {
    expect(score("examples/saas-30-written.jsonl").right).toBeGreaterThanOrEqual(26);
  });
});
