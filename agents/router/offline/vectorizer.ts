import { bigram, END, START, textFeatures, words, type TextFeatures } from "./text.ts";

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

  /** See {@link TfidfVectorizer.partCounts}. */
  private readonly partCache = new Map<string, PartCounts>();
  /** See {@link TfidfVectorizer.wordCounts}. */
  private readonly wordCache = new Map<string, WordCounts>();
  /** Term frequencies of the running vector being swept (all zero between sweeps). */
  private scratch: Float64Array | undefined;

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

  /** What {@link TfidfVectorizer.fromState} needs, as plain data (the trained-router cache stores it). */
  toState(): VectorizerState {
    return { vocabulary: this.vocabulary, idf: this.idf, typicalEvidence: this.typicalEvidence };
  }

  static fromState(state: VectorizerState): TfidfVectorizer {
    const vectorizer = new TfidfVectorizer(state.vocabulary, state.idf);
    vectorizer.typicalEvidence = state.typicalEvidence;
    return vectorizer;
  }

  /** Number of features (the model's input width). */
  get size(): number {
    return this.idf.length;
  }

  /** The unit-length TF-IDF vector of a text; features never seen in training are ignored. */
  transform(text: string): SparseVector {
    // What `spans([text])(0, 1)` gives (the same features in the same order, so the same doubles),
    // from each word's features read once and kept (`wordCounts`): scoring a message and its
    // content words is then mostly a walk over cached arrays, not building n-gram strings.
    const tokens = words(text);
    if (tokens.length === 0) return { index: new Int32Array(0), value: new Float64Array(0) };
    const tf = (this.scratch ??= new Float64Array(this.idf.length));
    const word: number[] = [];
    const char: number[] = [];
    const count = (touched: number[], index: number | undefined, n = 1) => {
      if (index === undefined) return;
      if (tf[index] === 0) touched.push(index);
      tf[index]! += n;
    };
    try {
      const counts = tokens.map((t) => this.wordCounts(t));
      count(word, this.vocabulary.get(bigram(START, counts[0]!.stem)));
      let prev: string | null = null;
      for (const c of counts) {
        count(word, c.unigram);
        if (prev !== null) count(word, this.vocabulary.get(bigram(prev, c.stem)));
        prev = c.stem;
        for (let k = 0; k < c.char.length; k += 2) count(char, c.char[k]!, c.char[k + 1]!);
      }
      count(word, this.vocabulary.get(bigram(prev!, END)));
      const index = new Int32Array(word.length + char.length);
      const value = new Float64Array(index.length);
      let k = 0;
      for (const view of [word, char]) {
        const start = k;
        let norm = 0;
        for (const i of view) {
          const v = logTf(tf[i]!) * this.idf[i]!;
          index[k] = i;
          value[k++] = v;
          norm += v * v;
        }
        const scale = norm > 0 ? VIEW_WEIGHT / Math.sqrt(norm) : 0;
        for (let j = start; j < k; j++) value[j] = value[j]! * scale;
      }
      return { index, value };
    } finally {
      for (const i of word) tf[i] = 0;
      for (const i of char) tf[i] = 0;
    }
  }

  /** One word's (a `words()` token's) stem, unigram feature and character n-grams, kept for the next messages. */
  private wordCounts(token: string): WordCounts {
    let c = this.wordCache.get(token);
    if (c === undefined) {
      if (this.wordCache.size >= PART_CACHE_SIZE) this.wordCache.clear();
      const f = textFeatures(token);
      const known = this.counts(f);
      c = { stem: f.first!, unigram: this.vocabulary.get(`w:${f.first!}`), char: flat(known.char) };
      this.wordCache.set(token, c);
    }
    return c;
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

  /**
   * Linear scores `W·x` (and evidence) of every prefix `parts[from..at)` and every suffix
   * `parts[at..to)` of a stretch, each exactly what `weighedSpans` gives for that run, in one
   * pass each way: a part's counts are added once and the scores and norms are updated feature
   * by feature, so trying every word boundary of a message costs about as much as reading it
   * twice. `weights` is feature-major (`weights[feature * classes + c]`), as the softmax model's.
   */
  sweeps(parts: readonly string[], weights: Float64Array, classes: number): (from: number, to: number) => Sweep {
    const counts = parts.map((p) => this.partCounts(p));
    const edge = (a: string, b: string) => this.vocabulary.get(bigram(a, b));
    const prefixPass = (from: number, to: number): SweepPoint[] => {
      const prefix: SweepPoint[] = [];
      const run = this.runningVector(weights, classes);
      try {
        let prev: string = START;
        let empty: SweepPoint = { z: new Float64Array(classes), evidence: 0 };
        for (let at = from + 1; at <= to; at++) {
          const c = counts[at - 1]!;
          if (c.first !== null && c.last !== null) {
            run.add(true, edge(prev, c.first));
            run.addAll(c);
            prev = c.last;
            empty = run.readWith(edge(prev, END));
          }
          prefix[at] = empty;
        }
      } finally {
        run.release();
      }
      return prefix;
    };
    const suffixPass = (from: number, to: number): SweepPoint[] => {
      const suffix: SweepPoint[] = [];
      const run = this.runningVector(weights, classes);
      try {
        let next: string | null = null;
        let empty: SweepPoint = { z: new Float64Array(classes), evidence: 0 };
        for (let at = to - 1; at >= from; at--) {
          const c = counts[at]!;
          if (c.first !== null && c.last !== null) {
            run.add(true, next === null ? edge(c.last, END) : edge(c.last, next));
            run.addAll(c);
            next = c.first;
            empty = run.readWith(edge(START, c.first));
          }
          suffix[at] = empty;
        }
      } finally {
        run.release();
      }
      return suffix;
    };
    // Each pass is made when first read: a stretch that is only scored whole (a side of a cut
    // that is not cut again) needs its prefixes only.
    return (from, to) => new LazySweep(() => prefixPass(from, to), () => suffixPass(from, to));
  }

  /**
   * A part's known features as flat arrays, kept for the next messages (users repeat their
   * words): reading a word's stems and character n-grams is most of what scoring a cut costs.
   */
  private partCounts(part: string): PartCounts {
    let c = this.partCache.get(part);
    if (c === undefined) {
      if (this.partCache.size >= PART_CACHE_SIZE) this.partCache.clear();
      const { word, char, first, last } = this.counts(textFeatures(part));
      c = { word: flat(word), char: flat(char), first, last };
      this.partCache.set(part, c);
    }
    return c;
  }

  /** A running vector over this vectorizer's shared term-frequency scratch (one at a time; `release` it). */
  private runningVector(weights: Float64Array, classes: number): RunningVector {
    this.scratch ??= new Float64Array(this.idf.length);
    return new RunningVector(this.idf, weights, classes, this.scratch);
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

/** A fitted vectorizer as plain data: maps, typed arrays and numbers, which `v8.serialize` keeps. */
export interface VectorizerState {
  vocabulary: Map<string, number>;
  idf: Float64Array;
  typicalEvidence: number;
}

/** Scores of one run of parts (see {@link TfidfVectorizer.sweeps}). */
export interface SweepPoint {
  /** `W·x` of the run's unit vector. */
  z: Float64Array;
  /** The run's word-view length before normalisation. */
  evidence: number;
}

/** `prefix[at]`: the run `parts[from..at)`; `suffix[at]`: the run `parts[at..to)`. */
export interface Sweep {
  prefix: SweepPoint[];
  suffix: SweepPoint[];
}

/**
 * A {@link Sweep} whose passes are made when first read. A class, so that its getters are its
 * prototype's: an object literal with getters of its own gets a hidden class of its own each
 * time, which the garbage collector then has to keep and copy (scavenges of ~2 MB).
 */
class LazySweep implements Sweep {
  private prefixPoints: SweepPoint[] | undefined;
  private suffixPoints: SweepPoint[] | undefined;

  constructor(
    private readonly prefixPass: () => SweepPoint[],
    private readonly suffixPass: () => SweepPoint[],
  ) {}

  get prefix(): SweepPoint[] {
    return (this.prefixPoints ??= this.prefixPass());
  }

  get suffix(): SweepPoint[] {
    return (this.suffixPoints ??= this.suffixPass());
  }
}

/** A part's known features: `[index, count, index, count, …]` per view, in the order `textFeatures` gives them. */
interface PartCounts {
  word: number[];
  char: number[];
  first: string | null;
  last: string | null;
}

/** A word's features (see {@link TfidfVectorizer.wordCounts}); `char` as in {@link PartCounts}. */
interface WordCounts {
  stem: string;
  unigram: number | undefined;
  char: number[];
}

/**
 * Parts (and words) kept by {@link TfidfVectorizer.partCounts} (and `wordCounts`) before the
 * cache starts over: a few hundred bytes each, so a few MB at most; the corpus has ~6,000
 * distinct words.
 */
const PART_CACHE_SIZE = 10_000;

function flat(view: Map<number, number>): number[] {
  const out: number[] = new Array(2 * view.size);
  let k = 0;
  for (const [i, n] of view) {
    out[k++] = i;
    out[k++] = n;
  }
  return out;
}

/** `1 + ln(tf)` for small counts (the same doubles `Math.log` gives). */
const LOG_TF = Float64Array.from({ length: 64 }, (_, tf) => (tf > 0 ? 1 + Math.log(tf) : 0));
const logTf = (tf: number) => (tf < LOG_TF.length ? LOG_TF[tf]! : 1 + Math.log(tf));

/**
 * A TF-IDF vector built up one count at a time, keeping per view the dot products with each
 * class's weights and the squared norm, so its normalised scores are read at any point. Its
 * term frequencies live in a dense scratch array shared by the vectorizer's sweeps (no map per
 * sweep); `release` sets the ones it touched back to zero.
 */
class RunningVector {
  private readonly touched: number[] = [];
  private readonly dotWord: Float64Array;
  private readonly dotChar: Float64Array;
  private sqWord = 0;
  private sqChar = 0;

  constructor(
    private readonly idf: Float64Array,
    private readonly weights: Float64Array,
    private readonly classes: number,
    private readonly tf: Float64Array,
  ) {
    this.dotWord = new Float64Array(classes);
    this.dotChar = new Float64Array(classes);
  }

  /** Adds `n` of feature `index` to the word view (`word`) or the character view. */
  add(word: boolean, index: number | undefined, n = 1): void {
    if (index === undefined) return;
    const before = this.tf[index]!;
    const after = before + n;
    const idf = this.idf[index]!;
    const u0 = before > 0 ? logTf(before) * idf : 0;
    const u1 = after > 0 ? logTf(after) * idf : 0;
    if (before === 0) this.touched.push(index);
    this.tf[index] = after > 0 ? after : 0;
    const d = u1 - u0;
    const dot = word ? this.dotWord : this.dotChar;
    const base = index * this.classes;
    for (let c = 0; c < this.classes; c++) dot[c]! += d * this.weights[base + c]!;
    if (word) this.sqWord += u1 * u1 - u0 * u0;
    else this.sqChar += u1 * u1 - u0 * u0;
  }

  /** Adds a part's word and character features. */
  addAll(c: PartCounts): void {
    const { word, char } = c;
    for (let k = 0; k < word.length; k += 2) this.add(true, word[k]!, word[k + 1]!);
    for (let k = 0; k < char.length; k += 2) this.add(false, char[k]!, char[k + 1]!);
  }

  /** The scores with one more word feature counted (an edge bigram), which is then taken away. */
  readWith(index: number | undefined): SweepPoint {
    this.add(true, index);
    const z = new Float64Array(this.classes);
    if (this.sqWord > 1e-12) {
      const scale = VIEW_WEIGHT / Math.sqrt(this.sqWord);
      for (let c = 0; c < this.classes; c++) z[c]! += this.dotWord[c]! * scale;
    }
    if (this.sqChar > 1e-12) {
      const scale = VIEW_WEIGHT / Math.sqrt(this.sqChar);
      for (let c = 0; c < this.classes; c++) z[c]! += this.dotChar[c]! * scale;
    }
    const evidence = Math.sqrt(Math.max(0, this.sqWord));
    this.add(true, index, -1);
    return { z, evidence };
  }

  /** Sets the shared term frequencies back to zero. */
  release(): void {
    for (const i of this.touched) this.tf[i] = 0;
    this.touched.length = 0;
  }
}

function add(map: Map<number, number>, index: number | undefined, n = 1): void {
  if (index !== undefined) map.set(index, (map.get(index) ?? 0) + n);
}
