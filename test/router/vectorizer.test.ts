import { describe, expect, it } from "vitest";
import { loadDefaultCorpus } from "../../agents/router/offline/corpus.ts";
import { logits } from "../../agents/router/offline/softmax.ts";
import { TfidfVectorizer } from "../../agents/router/offline/vectorizer.ts";

describe("TfidfVectorizer.sweeps", () => {
  const vectorizer = TfidfVectorizer.fit(loadDefaultCorpus().map((e) => e.text));
  const classes = 3;
  const model = { classes, features: vectorizer.size, params: new Float64Array(vectorizer.size * classes).map((_, i) => Math.sin(i)) };
  const parts = "hi , I need a copy of my last invoice I also can't log in ??".split(" ");
  const span = vectorizer.weighedSpans(parts);

  it("scores every prefix and suffix exactly as the run's own vector would", () => {
    const { prefix, suffix } = vectorizer.sweeps(parts, model.params, classes)(1, parts.length);
    for (let at = 2; at <= parts.length; at++) {
      const own = span(1, at);
      expect([...prefix[at]!.z]).toEqual([...logits(model, own.vector)].map((z) => expect.closeTo(z, 9)));
      expect(prefix[at]!.evidence).toBeCloseTo(own.evidence, 9);
    }
    for (let at = 1; at < parts.length; at++) {
      const own = span(at, parts.length);
      expect([...suffix[at]!.z]).toEqual([...logits(model, own.vector)].map((z) => expect.closeTo(z, 9)));
      expect(suffix[at]!.evidence).toBeCloseTo(own.evidence, 9);
    }
  });
});

describe("TfidfVectorizer.sweeps, read again", () => {
  const vectorizer = TfidfVectorizer.fit(loadDefaultCorpus().map((e) => e.text));
  const classes = 3;
  const params = new Float64Array(vectorizer.size * classes).map((_, i) => Math.cos(i));
  const parts = "refund refund my order , and also my app crashes crashes again".split(" ");

  it("gives the same scores however often and in whatever order its passes are read (the shared counts start at zero each time)", () => {
    const first = vectorizer.sweeps(parts, params, classes)(0, parts.length);
    const suffixFirst = first.suffix.map((p) => [...p.z]);
    const prefixFirst = first.prefix.map((p) => [...p.z]);
    // Another message's sweep in between, and a fresh sweep of the same parts read prefix first.
    vectorizer.sweeps("where is my invoice".split(" "), params, classes)(0, 4).prefix;
    const again = vectorizer.sweeps(parts, params, classes)(0, parts.length);
    expect(again.prefix.map((p) => [...p.z])).toEqual(prefixFirst);
    expect(again.suffix.map((p) => [...p.z])).toEqual(suffixFirst);
    const span = vectorizer.weighedSpans(parts);
    for (let at = 1; at <= parts.length; at++) {
      const own = span(0, at);
      const z = new Float64Array(classes);
      own.vector.index.forEach((i, k) => {
        for (let c = 0; c < classes; c++) z[c]! += params[i * classes + c]! * own.vector.value[k]!;
      });
      expect(prefixFirst[at]).toEqual([...z].map((v) => expect.closeTo(v, 9)));
    }
  });
});

describe("TfidfVectorizer.transform", () => {
  const texts = loadDefaultCorpus().map((e) => e.text);
  const vectorizer = TfidfVectorizer.fit(texts);

  it("is exactly the vector of the text read as one run (each word's features cached, read twice)", () => {
    const some = [...texts.slice(0, 200), "", "  ", "Refund REFUND refund!! and my app's crashing 123 4567", "ünïcödé café ½ ™"];
    for (let round = 0; round < 2; round++) {
      for (const text of some) {
        const own = vectorizer.weighedSpans([text])(0, 1).vector;
        const got = vectorizer.transform(text);
        expect([...got.index]).toEqual([...own.index]);
        expect([...got.value]).toEqual([...own.value]);
      }
    }
  });
});
