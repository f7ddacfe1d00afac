/**
 * The knowledge base the FAQ and tech-support workers answer from: a folder (KNOWLEDGE_DIR) with a
 * `faq/` and a `tech/` sub-folder of markdown files, indexed per `## ` section with MiniSearch.
 * Loading (files, front matter, sections) is `knowledge-docs.ts`; the index and its scoring are
 * `knowledge-search.ts`. This module puts the two together and is the one importers use.
 *
 * Each hit carries a normalized `score` so a worker can say "I don't know" (and hand off) instead
 * of answering from a weak match: compare it with {@link MIN_RELEVANCE}.
 */
import { COLLECTIONS, readKnowledgeDocs, type Collection, type KnowledgeDoc } from "./knowledge-docs.ts";
import { DEFAULT_SEARCH_LIMIT, indexSections, type KnowledgeHit, type SectionIndex } from "./knowledge-search.ts";

export { COLLECTIONS, type Collection, type KnowledgeDoc, type KnowledgeSection } from "./knowledge-docs.ts";
export { DEFAULT_SEARCH_LIMIT, MIN_RELEVANCE, type KnowledgeHit } from "./knowledge-search.ts";

export interface KnowledgeBase {
  /**
   * Sections of `collection` matching `query`, best first, at most `limit` (default
   * {@link DEFAULT_SEARCH_LIMIT}). Weak hits are included: filter on `score >= MIN_RELEVANCE`.
   */
  search(collection: Collection, query: string, limit?: number): KnowledgeHit[];
  readonly docs: readonly KnowledgeDoc[];
}

/**
 * Loads every `*.md` file under `<dir>/faq` and `<dir>/tech` (recursively; files elsewhere in
 * `dir`, such as a README, are ignored) and indexes their sections, one index per collection.
 *
 * @throws ConfigError naming KNOWLEDGE_DIR when `dir` is missing, or naming the file whose front
 *   matter is malformed.
 */
export async function loadKnowledgeBase(dir: string): Promise<KnowledgeBase> {
  const docs = await readKnowledgeDocs(dir);
  const indexes = new Map<Collection, SectionIndex>(
    COLLECTIONS.map((c) => [c, indexSections(docs.filter((d) => d.collection === c))]),
  );
  return {
    docs,
    search(collection, query, limit = DEFAULT_SEARCH_LIMIT) {
      return indexes.get(collection)?.search(query, limit) ?? [];
    },
  };
}
