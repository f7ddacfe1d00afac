import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadKnowledgeBase } from "../../agents/knowledge/knowledge-base.ts";
import { unwrapMarkdown } from "../../agents/knowledge/unwrap.ts";

const DEMO_DIR = fileURLToPath(new URL("../../agents/knowledge/demo", import.meta.url));

describe("unwrapping hard-wrapped markdown into paragraphs", () => {
  it("joins the lines of a paragraph", () => {
    expect(unwrapMarkdown("Refunds go back to the original payment method and take\n5–10 business days.\n\nA second\nparagraph.")).toBe(
      "Refunds go back to the original payment method and take 5–10 business days.\n\nA second paragraph.",
    );
  });

  it("keeps a list a list, joining only an item's own continuation lines", () => {
    expect(unwrapMarkdown("Intro line one\nline two:\n\n- Pro: 100 requests\n  per minute.\n- Business: 600.\n\n1. First\n   step.\n2. Second")).toBe(
      "Intro line one line two:\n\n- Pro: 100 requests per minute.\n- Business: 600.\n\n1. First step.\n2. Second",
    );
  });

  it("leaves code blocks, tables and headings exactly as written", () => {
    const source = "## Install\n\n```sh\nsudo apt install\n  ./acme.deb\n```\n\n| plan | limit |\n| --- | --- |\n| Pro | 100 |\n| Business | 600 |";
    expect(unwrapMarkdown(source)).toBe(source);
  });

  it("keeps a hard break and joins a quote's lines inside the quote", () => {
    expect(unwrapMarkdown("Line one  \nline two\ncontinues")).toBe("Line one  \nline two continues");
    expect(unwrapMarkdown("> quoted one\n> quoted two")).toBe("> quoted one quoted two");
  });

  it("leaves no sentence of the demo articles broken across lines", async () => {
    const kb = await loadKnowledgeBase(DEMO_DIR);
    const refunds = kb.docs.find((d) => d.id === "faq/refund-policy")?.sections.find((s) => s.heading === "Who can get a refund");
    expect(refunds?.text).toBe(
      "You can get a full refund of any charge within 30 days of that charge, for both monthly and annual plans. After 30 days charges are not refunded, but you can cancel so that you are not charged again. The same 30 days apply to an Acme Dock, counted from the day it is delivered.",
    );
    for (const doc of kb.docs) {
      for (const section of doc.sections) {
        const prose = section.text.replace(/```[\s\S]*?```/g, "");
        // A line break is only ever before a list item, a table row or between paragraphs.
        for (const [, next] of prose.matchAll(/(?<!\n)\n(?!\n)(.)/g)) expect(next, `${doc.id} § ${section.heading}`).toMatch(/[-*|\d\n]/);
      }
    }
  });
});
