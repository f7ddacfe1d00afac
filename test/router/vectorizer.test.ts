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
