import { beforeAll, describe, expect, it } from "vitest";
import { loadKnowledgeBase, type KnowledgeBase } from "../../agents/knowledge/knowledge-base.ts";
import type { RoutingDecision } from "../../agents/router/types.ts";
import { KNOWN_ANSWER_SCORE, withKnownAnswer, withPersonCues } from "../../agents/supervisor/routing.ts";
import { DEFAULT_KNOWLEDGE_DIR } from "../../src/config.ts";

/**
 * The right article whoever routes (issue 16): a product question the router could not place
 * ("How do I set up SSO with Okta?" was asked what it was about) is answered by the worker of the
 * article that covers it; a message no article covers keeps the clarifying question.
 */
const unsure = (extra: Partial<RoutingDecision> = {}): RoutingDecision => ({
  routes: [],
  scores: { billing: 0.1, tech_support: 0.3, faq: 0.2, human: 0.1 },
  unsure: true,
  engine: "offline",
  latencyMs: 0.1,
  ...extra,
});
const WORKERS = ["billing", "tech_support", "faq"];

describe("an unsure router overruled by the knowledge base", () => {
  let knowledge: KnowledgeBase;
  beforeAll(async () => {
    knowledge = await loadKnowledgeBase(DEFAULT_KNOWLEDGE_DIR);
  });

  it.each([
    ["How do I set up SSO with Okta?", "tech_support", "tech/"],
    ["Which payment methods do you accept?", "faq", "faq/"],
    ["How do I connect Slack?", "tech_support", "tech/"],
  ])("%s → %s, from the article that covers it", (text, worker, folder) => {
    const decision = withKnownAnswer(unsure(), text, { knowledge, workers: WORKERS });
    expect(decision.unsure).toBe(false);
    expect(decision.routes.map((r) => r.route)).toEqual([worker]);
    expect(decision.routes[0]!.confidence).toBeGreaterThanOrEqual(KNOWN_ANSWER_SCORE);
    expect(decision.fromKnowledge?.startsWith(folder)).toBe(true);
  });

  it.each(["it doesn't work", "can you help me", "what's the weather tomorrow", "can you dim my screen", "something is off"])(
    "%s: no article covers it, so the user is still asked what it is about",
    (text) => {
      const decision = withKnownAnswer(unsure(), text, { knowledge, workers: WORKERS });
      expect(decision.unsure).toBe(true);
      expect(decision.routes).toEqual([]);
      expect(decision.fromKnowledge).toBeUndefined();
    },
  );

  it("never overrules a decision the router made, or a person asked for", () => {
    const routed: RoutingDecision = { ...unsure(), unsure: false, routes: [{ route: "billing", confidence: 0.9, question: "x" }] };
    expect(withKnownAnswer(routed, "How do I set up SSO with Okta?", { knowledge, workers: WORKERS })).toBe(routed);
    const person = withPersonCues(unsure(), "get me a person, how do I set up SSO with Okta?");
    expect(withKnownAnswer(person, "get me a person, how do I set up SSO with Okta?", { knowledge, workers: WORKERS }).routes.map((r) => r.route)).toEqual(["human"]);
  });

  it("leaves the decision alone when the article's worker is not in the registry", () => {
    const decision = withKnownAnswer(unsure(), "How do I set up SSO with Okta?", { knowledge, workers: ["billing", "faq"] });
    expect(decision.unsure).toBe(true);
  });
});
