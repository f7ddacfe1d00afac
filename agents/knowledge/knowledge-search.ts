/**
 * Searching the knowledge base: one MiniSearch index over every document's sections (a search may
 * keep to one collection), and the normalized relevance score each hit carries (see
 * {@link KnowledgeHit.score}).
 */
import { LRUCache } from "lru-cache";
import MiniSearch from "minisearch";
import type { SearchResult } from "minisearch";
import { stemmer } from "stemmer";
import type { Collection, KnowledgeDoc, KnowledgeSection } from "./knowledge-docs.ts";

export interface KnowledgeHit {
  doc: KnowledgeDoc;
  section: KnowledgeSection;
  /**
   * Relevance in 0..1: the share of the query's meaningful words found in this section (its text,
   * heading, document title or tags), each word weighted by how rare it is in the knowledge base
   * (inverse document frequency, so "refund" counts more than "account", and a word the knowledge
   * base has never seen, like "penguins", counts most). An exact word match gives full credit, a
   * prefix match 0.8 and a typo (fuzzy) match 0.6. That share is then scaled by the section's
   * BM25 score relative to the best hit of the same search, from 0.75 (weakest) to 1 (best), so
   * the score also orders hits. Stop words and chat filler ("how", "my", "wanna", "please") are
   * ignored. Compare with {@link MIN_RELEVANCE}.
   */
  score: number;
}

/**
 * Below this {@link KnowledgeHit.score} a hit should be treated as "not in the knowledge base".
 *
 * Tuned on the demo knowledge base. On-topic questions score 0.58–1: "how do I get a refund",
 * "app crashes when I log in", "do you ship to Canada" and "wanna reset my password" score 1, typos
 * such as "pasword reset" 0.72 and "refnd" 0.60 (a lone misspelt word gets the fuzzy credit).
 * Off-topic ones find nothing ("what is the capital of France", "tell me a joke about penguins",
 * "asdfgh") or score 0.2–0.32 from an incidental common word ("write me a poem about the sea").
 * Being lexical, it is fooled when an off-topic question uses the knowledge base's own words:
 * "who is the president of the united states" scores 0.55 against the shipping page.
 */
export const MIN_RELEVANCE = 0.5;

/** Default number of hits a knowledge-base search returns. */
export const DEFAULT_SEARCH_LIMIT = 5;

const CREDIT_EXACT = 1;
const CREDIT_PREFIX = 0.8;
const CREDIT_FUZZY = 0.6;
/** Score factor of the weakest BM25 hit relative to the best one (which gets 1). */
const RANK_FLOOR = 0.75;
const FIELD_BOOST = { title: 3, tags: 2, heading: 2, text: 1 } as const;

// English stop words plus the filler of chat messages: none of them says what the question is
// about, and counting them would let "hi can you please help" look like a match.
const STOP_WORDS = new Set(
  (
    "a about above after again against all also am an and any anyone anything are aren as at be " +
    "because been before being below between both but by can cannot could couldn did didn do does " +
    "doesn doing don down during each else etc ever every few for from further get gets getting " +
    "got had hadn has hasn have haven having he her here hers herself him himself his how i if in " +
    "into is isn it its itself just let ll me might mine more most must mustn my myself need needs " +
    "no nor not now of off on once only or other ought our ours ourselves out over own please pls " +
    "plz re really same shall she should shouldn so some someone something still such than that " +
    "the their theirs them themselves then there these they this those through to too under until " +
    "up us ve very want wants was wasn way we were weren what when whenever where which while who " +
    "whom why will with won would wouldn you your yours yourself yourselves " +
    "hi hey hello thanks thank thx ok okay hmm um uh wanna gonna gotta kinda lol yes yeah " +
    "help know tell like anybody somebody guys question " +
    // Question phrasing ("how long does it take", "how much", "keeps crashing since yesterday").
    "long much many take takes taking took keep keeps kept try tries trying tried since even " +
    "ever anymore always time times today yesterday tomorrow day days week going gone work works " +
    "working worked " +
    // What is asked of the company, not what it is about ("what plans do you offer", "can I
    // cancel anytime", "is it possible to…").
    "offer offers offered provide provides anytime possible able allowed"
  ).split(" "),
);

interface SectionRecord {
  id: string;
  title: string;
  tags: string;
  heading: string;
  text: string;
}

/** Sections, searchable. */
export interface SectionIndex {
  /** Sections matching `query`, best first, at most `limit`; of `collection` only when given. */
  search(query: string, limit: number, collection?: Collection): KnowledgeHit[];
}

/**
 * Indexes the sections of `docs`. A search's ranked hits are kept for the queries asked lately
 * (an LRU): one turn searches its message several times (the router's scope check, the worker's
 * answer, its sources), ~0.3 ms of CPU each, and the index never changes once built.
 */
export function indexSections(docs: readonly KnowledgeDoc[]): SectionIndex {
  const index = buildIndex(docs);
  const recent = new LRUCache<string, readonly KnowledgeHit[]>({ max: 500 });
  return {
    search: (query, limit, collection) => {
      if (limit <= 0) return [];
      const key = `${collection ?? ""}\u0000${query}`;
      let ranked = recent.get(key);
      if (ranked === undefined) {
        ranked = rankedHits(index, query, collection);
        recent.set(key, ranked);
      }
      return ranked.slice(0, limit);
    },
  };
}

/** Every collection's sections in one index: one vocabulary, one set of IDF weights. */
interface SearchIndex {
  search: MiniSearch<SectionRecord>;
  sections: Map<string, { doc: KnowledgeDoc; section: KnowledgeSection }>;
  /** Processed term → number of sections containing it, for the IDF weights. */
  documentFrequency: Map<string, number>;
}

function tokenize(text: string): string[] {
  return text.split(/[^\p{L}\p{N}]+/u);
}

/** Lower-case, strip accents, drop stop words and single characters, Porter-stem. */
function processTerm(term: string): string | null {
  const word = term.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  if (word.length < 2 || STOP_WORDS.has(word)) return null;
  return stemmer(word);
}

function analyze(text: string, process: (term: string) => string | null = processTerm): string[] {
  const terms: string[] = [];
  for (const token of tokenize(text)) {
    const term = process(token);
    if (term !== null) terms.push(term);
  }
  return terms;
}

/**
 * {@link processTerm} remembering its answers. Indexing sees each word many times (the same words
 * recur across sections, and every section is read twice: by MiniSearch and for the document
 * frequencies), and normalizing and stemming them was most of building the index, which every
 * start of `ask` and `serve` does; each distinct word is now processed once.
 */
function rememberingProcessTerm(): { process: (term: string) => string | null; forget: () => void } {
  const known = new Map<string, string | null>();
  return {
    process: (term) => {
      let processed = known.get(term);
      if (processed === undefined) {
        processed = processTerm(term);
        known.set(term, processed);
      }
      return processed;
    },
    forget: () => known.clear(),
  };
}

/** Prefix matching on very short stems ("re", "ap") would match half the vocabulary. */
const allowPrefix = (term: string): boolean => term.length >= 3;
/** Edit distance tolerated for a typo: none for short words, where one edit is another word. */
const maxTypoDistance = (term: string): number =>
  term.length < 5 ? 0 : term.length < 9 ? 1 : 2;

function buildIndex(docs: readonly KnowledgeDoc[]): SearchIndex {
  const indexing = rememberingProcessTerm();
  const search = new MiniSearch<SectionRecord>({
    fields: ["title", "tags", "heading", "text"],
    tokenize,
    // Indexing remembers its words (see rememberingProcessTerm); searches process their own.
    processTerm: indexing.process,
    searchOptions: {
      processTerm,
      boost: { ...FIELD_BOOST },
      prefix: allowPrefix,
      fuzzy: maxTypoDistance,
      combineWith: "OR",
    },
  });
  const sections = new Map<string, { doc: KnowledgeDoc; section: KnowledgeSection }>();
  const documentFrequency = new Map<string, number>();
  const records: SectionRecord[] = [];

  for (const doc of docs) {
    doc.sections.forEach((section, i) => {
      const record: SectionRecord = {
        id: `${doc.id}#${i}`,
        title: doc.title,
        tags: doc.tags.join(" "),
        heading: section.heading,
        text: section.text,
      };
      records.push(record);
      sections.set(record.id, { doc, section });
      const terms = new Set(analyze(`${record.title} ${record.tags} ${record.heading} ${record.text}`, indexing.process));
      for (const term of terms) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
    });
  }
  search.addAll(records);
  indexing.forget();
  return { search, sections, documentFrequency };
}

/** Every section matching `query` (of `collection` only, when given), best first. */
function rankedHits(index: SearchIndex, query: string, collection?: Collection): KnowledgeHit[] {
  const queryTerms = [...new Set(analyze(query))];
  if (queryTerms.length === 0) return [];
  const results = index.search.search(
    query,
    collection === undefined ? {} : { filter: (r) => index.sections.get(String(r.id))?.doc.collection === collection },
  );
  if (results.length === 0) return [];

  const total = index.sections.size;
  // BM25's inverse document frequency; a term absent from the knowledge base gets the highest weight.
  const weights = queryTerms.map((term) => {
    const df = index.documentFrequency.get(term) ?? 0;
    return Math.log(1 + (total - df + 0.5) / (df + 0.5));
  });
  const weightSum = weights.reduce((sum, w) => sum + w, 0);
  const bestRaw = Math.max(...results.map((r) => r.score));

  const hits: { hit: KnowledgeHit; raw: number }[] = [];
  for (const result of results) {
    const entry = index.sections.get(String(result.id));
    if (entry === undefined) continue;
    const covered = queryTerms.reduce(
      (sum, term, i) => sum + (weights[i] ?? 0) * termCredit(term, result),
      0,
    );
    const coverage = weightSum > 0 ? covered / weightSum : 0;
    const rank = RANK_FLOOR + (1 - RANK_FLOOR) * (result.score / bestRaw);
    hits.push({ hit: { ...entry, score: coverage * rank }, raw: result.score });
  }
  return hits
    .sort((a, b) => b.hit.score - a.hit.score || b.raw - a.raw)
    .map(({ hit }) => hit);
}

/** How well `term` (a processed query term) was matched by the section terms of `result`. */
function termCredit(term: string, result: SearchResult): number {
  let best = 0;
  const typoDistance = maxTypoDistance(term);
  for (const matched of result.terms) {
    if (matched === term) return CREDIT_EXACT;
    if (allowPrefix(term) && matched.startsWith(term)) best = Math.max(best, CREDIT_PREFIX);
    else if (typoDistance > 0 && editDistance(term, matched, typoDistance) <= typoDistance) {
      best = Math.max(best, CREDIT_FUZZY);
    }
  }
  return best;
}

/** Levenshtein distance, giving up (returning `max + 1`) once it must exceed `max`. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return max + 1;
    previous = current;
  }
  return previous[b.length] ?? max + 1;
}
