import { stemmer } from "stemmer";

/**
 * Text → sparse feature counts for the intent classifier.
 *
 * Two views of the same words: stemmed word unigrams and bigrams carry meaning ("refund",
 * "reset password"), character n-grams inside each word carry spelling, so "reeporting",
 * "assistnace" or "pasword" still share most of their features with the correct word. Bitext
 * typos and HINT3's noisy real-user text both need the second view.
 */

/** Lowercased, accent-free text with one apostrophe style. */
export function normalize(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[\u2018\u2019`´]/g, "'");
}

/**
 * Word tokens of a text. Apostrophes are dropped inside words ("can't" → "cant", as users type
 * it anyway) and digit runs collapse to "0": amounts, order numbers and HINT3's anonymised phone
 * number then carry no spurious identity.
 */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const m of normalize(text).replace(/'/g, "").matchAll(/[a-z0-9]+/g)) {
    out.push(m[0].replace(/[0-9]+/g, "0"));
  }
  return out;
}

/** Smallest and largest character n-gram, taken inside " word " so word edges count. */
const CHAR_MIN = 3;
const CHAR_MAX = 5;

/** Markers of a text's start and end in edge bigrams ("^ how", "refund $"). */
export const START = "^";
export const END = "$";

/**
 * Features of one stretch of text. Bigrams that cross into a neighbouring stretch or touch the
 * text's edges are left to the caller ({@link bigram} with `first`/`last`), so the features of
 * several stretches joined by spaces can be summed from theirs without re-reading the text.
 */
export interface TextFeatures {
  /** Stem unigrams (`w:`) and the bigrams inside the stretch (`b:`). */
  word: Map<string, number>;
  /** Character n-grams inside each word (`c:`). */
  char: Map<string, number>;
  /** First and last stems; null when the stretch has no word. */
  first: string | null;
  last: string | null;
}

/** Features of a stretch of text (see {@link TextFeatures}). */
export function textFeatures(text: string): TextFeatures {
  const tokens = words(text);
  const word = new Map<string, number>();
  const char = new Map<string, number>();
  let prev: string | null = null;
  for (const token of tokens) {
    const s = stem(token);
    bump(word, `w:${s}`);
    if (prev !== null) bump(word, bigram(prev, s));
    prev = s;
    const padded = ` ${token} `;
    for (let n = CHAR_MIN; n <= CHAR_MAX; n++) {
      for (let i = 0; i + n <= padded.length; i++) bump(char, `c:${padded.slice(i, i + n)}`);
    }
  }
  return { word, char, first: tokens.length > 0 ? stem(tokens[0]!) : null, last: prev };
}

/** The feature key of two adjacent stems (or an edge marker and a stem). */
export function bigram(a: string, b: string): string {
  return `b:${a} ${b}`;
}

/** Porter stems are pure and users repeat their words: remember recent ones. */
const stems = new Map<string, string>();

function stem(token: string): string {
  let s = stems.get(token);
  if (s === undefined) {
    if (stems.size >= 50_000) stems.clear();
    s = stemmer(token);
    stems.set(token, s);
  }
  return s;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * Words that carry no request on their own. A part of a message made only of these ("What
 * should I do?", "Please help", "Thanks!") belongs to the request around it; the classifier,
 * which never saw such a fragment alone, would otherwise give it a confident but arbitrary route.
 */
const FUNCTION_WORDS = new Set(
  (
    "a an the i im me my mine myself you your yours u ur we us our it its this that these those " +
    "is am are was were be been being do does did done doing have has had having can cant could " +
    "would should will wont shall may might must what whats how why when where which who whom " +
    "to of in on for with at by from about into as so and or but if then than there here any " +
    "some now just also too very really still yet please pls plz kindly help need needs want " +
    "wanna gonna get got let know tell say thanks thank thx ok okay hi hello hey dear sir madam " +
    "yes no not dont doesnt didnt one 0 again asap soon"
  ).split(" "),
);

/** Whether a text has at least one word that can carry a request (see FUNCTION_WORDS). */
export function hasContent(text: string): boolean {
  return words(text).some((w) => !FUNCTION_WORDS.has(w));
}

/**
 * The words of a text that can carry a request (see FUNCTION_WORDS), joined by spaces; empty
 * when it has none. What a message is about, without how it is phrased: the out-of-scope class
 * is judged on these, because the lines it is trained on (speeches, requests to an assistant)
 * differ from the support corpus in their function words too ("we", "our", "and", "over"), and
 * a support request phrased like them ("we were charged for 25 seats") must not read as out of
 * scope for its style.
 */
export function contentWords(text: string): string {
  return words(text)
    .filter((w) => !FUNCTION_WORDS.has(w))
    .join(" ");
}
