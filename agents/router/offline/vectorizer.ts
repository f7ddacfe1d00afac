import { bigram, END, START, textFeatures, type TextFeatures } from "./text.ts";

/** A sparse vector: parallel arrays of feature indexes and values. */
export interface SparseVector {
  index: Int32Array;
  value: Float64Array;
}

/** Raw counts of known features of one stretch of text, by feature index. */
interface Counts {
  word: Map<number, number>;
  char: Map<number, number>;
  first: string | null;
  last: string | null;
}

/** Two views of equal weight: a vector with both has unit length. */
const VIEW_WEIGHT = Math.SQRT1_2;

/**
 * TF-IDF over the word and character views of `text.ts`, each view L2-normalised on its own and
 * weighted equally. Normalising per view stops long messages (many character n-grams) from
 * drowning their few word features, and keeps every vector at unit length, so one regularisation
 * strength suits short HINT3 queries and long Bitext sentences alike.
 */
export class TfidfVectorizer {
  /**
   * The median evidence of a training text (see {@link TfidfVectorizer.weighedSpans}): what a
   * whole request usually has to go on.
   */
  typicalEvidence = 1;

  private constructor(
    private readonly vocabulary: Map<string, number>,
    private readonly idf: Float64Array,
  ) {}

  /** Learns the vocabulary and inverse document frequencies from training texts. */
  static fit(texts: readonly string[]): TfidfVectorizer {
    const df = new Map<string, number>();
    for (const text of texts) {
      const f = textFeatures(text);
      const keys = new Set([...f.word.keys(), ...f.char.keys()]);
      if (f.first !== null && f.last !== null) {
        keys.add(bigram(START, f.first));
        keys.add(bigram(f.last, END));
      }
      for (const key of keys) df.set(key, (df.get(key) ?? 0) + 1);
    }
    // Sorted so feature indexes (and so training) do not depend on the corpus's line order.
    const keys = [...df.keys()].sort();
    const vocabulary = new Map<string, number>();
    const idf = new Float64Array(keys.length);
    keys.forEach((key, i) => {
      vocabulary.set(key, i);
      idf[i] = Math.log((1 + texts.length) / (1 + (df.get(key) ?? 0))) + 1;
    });
    const vectorizer = new TfidfVectorizer(vocabulary, idf);
    const evidence = texts.map((t) => vectorizer.weighedSpans([t])(0, 1).evidence).sort((a, b) => a - b);
    vectorizer.typicalEvidence = evidence[Math.floor(evidence.length / 2)] || 1;
    return vectorizer;
  }

  /** Number of features (the model's input width). */
  get size(): number {
    return this.idf.length;
  }

  /** The unit-length TF-IDF vector of a text; features never seen in training are ignored. */
  transform(text: string): SparseVector {
    return this.spans([text])(0, 1);
  }

  /**
   * Vectors of runs of parts: `span(from, to)` is exactly `transform` of `parts[from..to)`
   * joined by spaces, but each part is read once however many runs include it, so trying every
   * cut of a message costs little more than reading it.
   */
  spans(parts: readonly string[]): (from: number, to: number) => SparseVector {
    const span = this.weighedSpans(parts);
    return (from, to) => span(from, to).vector;
  }

  /**
   * Like {@link TfidfVectorizer.spans}, with each span's evidence: the length of its word view
   * before normalisation (how much there is to go on; a fragment has less than its message).
   */
  weighedSpans(parts: readonly string[]): (from: number, to: number) => { vector: SparseVector; evidence: number } {
    const counts = parts.map((p) => this.counts(textFeatures(p)));
    return (from, to) => {
      const word = new Map<number, number>();
      const char = new Map<number, number>();
      let prev: string = START;
      for (const c of counts.slice(from, to)) {
        if (c.first === null || c.last === null) continue;
        add(word, this.vocabulary.get(bigram(prev, c.first)));
        for (const [i, n] of c.word) add(word, i, n);
        for (const [i, n] of c.char) add(char, i, n);
        prev = c.last;
      }
      if (prev !== START) add(word, this.vocabulary.get(bigram(prev, END)));
      return { vector: this.weigh([word, char]), evidence: this.norm(word) };
    };
  }

  private norm(view: Map<number, number>): number {
    let sum = 0;
    for (const [i, tf] of view) sum += ((1 + Math.log(tf)) * this.idf[i]!) ** 2;
    return Math.sqrt(sum);
  }

  private counts(f: TextFeatures): Counts {
    const known = (features: Map<string, number>) => {
      const out = new Map<number, number>();
      for (const [key, n] of features) add(out, this.vocabulary.get(key), n);
      return out;
    };
    return { word: known(f.word), char: known(f.char), first: f.first, last: f.last };
  }

  private weigh(views: Map<number, number>[]): SparseVector {
    const index: number[] = [];
    const value: number[] = [];
    for (const view of views) {
      const start = index.length;
      let norm = 0;
      for (const [i, tf] of view) {
        const v = (1 + Math.log(tf)) * this.idf[i]!;
        index.push(i);
        value.push(v);
        norm += v * v;
      }
      const scale = norm > 0 ? VIEW_WEIGHT / Math.sqrt(norm) : 0;
      for (let k = start; k < value.length; k++) value[k] = value[k]! * scale;
    }
    return { index: Int32Array.from(index), value: Float64Array.from(value) };
  }
}

function add(map: Map<number, number>, index: number | undefined, n = 1): void {
  if (index !== undefined) map.set(index, (map.get(index) ?? 0) + n);
}
