import { describe, expect, it } from "vitest";
import { candidateCuts, tokenize } from "../../agents/router/offline/segmenter.ts";
import { hasContent } from "../../agents/router/offline/text.ts";

/** The cut before word `at` of a text, as "kind:resume-word". */
const cutAt = (text: string, word: string) => {
  const tokens = tokenize(text);
  const at = tokens.findIndex((t) => t.text === word);
  const cut = candidateCuts(text, tokens).find((c) => c.at === at);
  return cut ? `${cut.kind}:${tokens[cut.resume]!.text}` : "none";
};

describe("candidateCuts", () => {
  it("offers a cut at every word boundary", () => {
    const text = "refund me now please reset my password";
    expect(candidateCuts(text, tokenize(text))).toHaveLength(tokenize(text).length - 1);
    expect(cutAt(text, "reset")).toBe("word:reset");
  });

  it("marks lines, sentences, clause marks, cue words and contrasts, and drops the cue words", () => {
    expect(cutAt("I need my invoice\nreset my password", "reset")).toBe("line:reset");
    expect(cutAt("I need my invoice. Reset my password", "Reset")).toBe("sentence:Reset");
    expect(cutAt("I need my invoice? Reset my password", "Reset")).toBe("sentence:Reset");
    expect(cutAt("I need my invoice. Also, reset my password", "Also")).toBe("sentence:reset");
    expect(cutAt("I need my invoice and also reset my password", "and")).toBe("cue:reset");
    expect(cutAt("I need my invoice, by the way reset my password", "by")).toBe("cue:reset");
    expect(cutAt("I need my invoice, but reset my password", "but")).toBe("contrast:reset");
  });

  it("takes any mark between words as a clause mark, with no list of them", () => {
    for (const mark of [";", " &", " +", " /", " -", " —", "...", " |", " (", ":"]) {
      expect(cutAt(`I need my invoice${mark} reset my password`, "reset")).toMatch(/^(clause|sentence):reset$/);
    }
  });

  it("does not take an abbreviation, an initial or a dotted name for a sentence end", () => {
    expect(cutAt("get the bill from Mr. Smith", "Smith")).toBe("word:Smith");
    expect(cutAt("D. Barshilia took a wicket", "Barshilia")).toBe("word:Barshilia");
    expect(cutAt("is acme.com down", "com")).toBe("word:com");
    expect(cutAt("my e-mail bounces", "mail")).toBe("word:mail");
  });

  it("keeps contractions whole", () => {
    expect(tokenize("I can't log in, it's broken").map((t) => t.text)).toEqual(["I", "can't", "log", "in", "it's", "broken"]);
  });
});

describe("hasContent", () => {
  it("tells a request from words that ask nothing alone", () => {
    expect(hasContent("What should I do?")).toBe(false);
    expect(hasContent("Please help, thanks!")).toBe(false);
    expect(hasContent("order not placed")).toBe(true);
  });
});
