import { describe, expect, it } from "vitest";
import { splitIntents } from "../../agents/router/offline/splitter.ts";
import { hasContent } from "../../agents/router/offline/text.ts";

const cut = (text: string) => splitIntents(text).map((p) => `${p.boundary}:${p.text}`);

describe("splitIntents", () => {
  it("leaves a one-clause message whole", () => {
    expect(cut("  where is my refund?  ")).toEqual(["start:where is my refund?"]);
  });

  it("cuts at the issue's connectors, dropping them, and says how parts are joined", () => {
    expect(cut("I need my invoice. Also, reset my password")).toEqual(["start:I need my invoice.", "addition:reset my password"]);
    expect(cut("I need my invoice, but reset my password")).toEqual(["start:I need my invoice", "contrast:reset my password"]);
    expect(cut("I need my invoice btw reset my password")).toEqual(["start:I need my invoice", "addition:reset my password"]);
    expect(cut("I need my invoice\nreset my password")).toEqual(["start:I need my invoice", "addition:reset my password"]);
    expect(cut("I need my invoice and also reset my password")).toEqual(["start:I need my invoice", "addition:reset my password"]);
  });

  it("cuts at full stops, semicolons, 'by the way' and ', plus'", () => {
    expect(cut("My card was charged. The app crashes!")).toEqual(["start:My card was charged.", "sentence:The app crashes!"]);
    expect(cut("refund me; by the way, who are you")).toEqual(["start:refund me", "addition:who are you"]);
    expect(cut("refund me, plus a human please")).toEqual(["start:refund me", "addition:a human please"]);
    expect(cut("It broke. But I paid")).toEqual(["start:It broke.", "contrast:I paid"]);
  });

  it("does not cut after abbreviations and initials, or at 'also' inside a clause", () => {
    expect(cut("get the bill from Mr. Smith")).toHaveLength(1);
    expect(cut("D. Barshilia took a wicket")).toHaveLength(1);
    expect(cut("can I also get a refund")).toEqual(["start:can I also get a refund"]);
  });

  it("drops parts with no letters or digits", () => {
    expect(cut("refund?? ... !!")).toEqual(["start:refund??"]);
    expect(splitIntents("   ")).toEqual([]);
  });
});

describe("hasContent", () => {
  it("tells a request from words that ask nothing alone", () => {
    expect(hasContent("What should I do?")).toBe(false);
    expect(hasContent("Please help, thanks!")).toBe(false);
    expect(hasContent("order not placed")).toBe(true);
  });
});
