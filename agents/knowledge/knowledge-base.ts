/**
 * The knowledge base every worker answers from: a folder (KNOWLEDGE_DIR) with a `faq/` and a
 * `tech/` sub-folder of markdown files, indexed per `## ` section with MiniSearch. One search
 * service over the whole base: a question about how things work (a policy, a price, a limit) is
 * found wherever its article lives, whichever worker asks. Loading (files, front matter, sections,
 * unwrapped into paragraphs) is `knowledge-docs.ts`; the index and its scoring are
 * `knowledge-search.ts`; how an answer cites an article is `citation.ts`. This module puts them
 * together and is the one importers use.
 *
 * Each hit carries a normalized `score` so a worker can say "I don't know" (and hand off) instead
 * of answering from a weak match: compare it with {@link MIN_RELEVANCE}, or use
 * {@link relevantHits}.
 */
import { readKnowledgeDocs, type Collection, type KnowledgeDoc, type ReadOptions } from "./knowledge-docs.ts";
import { DEFAULT_SEARCH_LIMIT, MIN_RELEVANCE, indexSections, type KnowledgeHit } from "./knowledge-search.ts";

export { COLLECTIONS, type Collection, type KnowledgeDoc, type KnowledgeSection } from "./knowledge-docs.ts";
export { DEFAULT_SEARCH_LIMIT, MIN_RELEVANCE, type KnowledgeHit } from "./knowledge-search.ts";

export interface SearchOptions {
  /** Only this collection's articles. Default: the whole knowledge base. */
  collection?: Collection;
  /** At most this many hits. Default {@link DEFAULT_SEARCH_LIMIT}. */
  limit?: number;
}

export interface KnowledgeBase {
  /**
   * Sections matching `query`, best first, from the whole knowledge base unless
   * `options.collection` says otherwise. Weak hits are included: filter on
   * `score >= MIN_RELEVANCE`, or call {@link relevantHits}.
   */
  search(query: string, options?: SearchOptions): KnowledgeHit[];
  readonly docs: readonly KnowledgeDoc[];
}

/** The hits strong enough to answer from (`score >= MIN_RELEVANCE`), best first. */
export function relevantHits(kb: KnowledgeBase, query: string, options?: SearchOptions): KnowledgeHit[] {
  return kb.search(query, options).filter((h) => h.score >= MIN_RELEVANCE);
}

/** A knowledge base over documents already read (tests build them in memory). */
export function knowledgeBaseOf(docs: readonly KnowledgeDoc[]): KnowledgeBase {
  const index = indexSections(docs);
  return {
    docs,
    search: (query, options = {}) => index.search(query, options.limit ?? DEFAULT_SEARCH_LIMIT, options.collection),
  };
}

/**
 * Loads every `*.md` file under `<dir>/faq` and `<dir>/tech` (recursively; files elsewhere in
 * `dir`, such as a README, are ignored) and indexes their sections. With `options.cacheDir`, the
 * parsed files are kept there and read back while neither they nor the parser change.
 *
 * @throws ConfigError naming KNOWLEDGE_DIR when `dir` is missing, or naming the file whose front
 *   matter is malformed.
 */
export async function loadKnowledgeBase(dir: string, options: ReadOptions = {}): Promise<KnowledgeBase> {
  return knowledgeBaseOf(await readKnowledgeDocs(dir, options));
}
