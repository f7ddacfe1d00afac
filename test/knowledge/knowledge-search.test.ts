/**
 * The search half of the knowledge base on its own: documents built in memory, no folder. Loading
 * is covered by knowledge-base.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { KnowledgeDoc } from "../../agents/knowledge/knowledge-docs.ts";
import { MIN_RELEVANCE, indexSections } from "../../agents/knowledge/knowledge-search.ts";

const doc = (id: string, title: string, sections: Array<[string, string]>, tags: string[] = []): KnowledgeDoc => ({
  id: `faq/${id}`,
  collection: "faq",
  title,
  path: `faq/${id}.md`,
  tags,
  sections: sections.map(([heading, text]) => ({ heading, text })),
});

const index = indexSections([
  doc("refunds", "Refund policy", [
    ["Who can get a refund", "Any charge is refundable in full within 30 days."],
    ["How long it takes", "Refunds reach your card in 5–10 business days."],
  ], ["billing"]),
  doc("shipping", "Shipping the Acme Dock", [["Countries", "We ship the Dock to Canada, the US and the EU."]]),
]);

describe("indexSections", () => {
  it("finds the section that answers, scored above the relevance bar", () => {
    const [top] = index.search("when will the refund reach my card", 5);
    expect(top?.doc.id).toBe("faq/refunds");
    expect(top?.section.heading).toBe("How long it takes");
    expect(top?.score).toBeGreaterThanOrEqual(MIN_RELEVANCE);
  });

  it("forgives a typo, with less credit than the exact word", () => {
    const exact = index.search("shipping canada", 1)[0]!;
    const typo = index.search("shipping canda", 1)[0]!;
    expect(typo.doc.id).toBe("faq/shipping");
    expect(typo.score).toBeLessThan(exact.score);
  });

  it("scores an off-topic question below the bar, and stop words not at all", () => {
    expect(index.search("tell me a joke about penguins", 5).every((h) => h.score < MIN_RELEVANCE)).toBe(true);
    expect(index.search("hi can you please help me", 5)).toEqual([]);
    expect(index.search("refund", 0)).toEqual([]);
  });
});
