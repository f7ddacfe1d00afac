/**
 * How answers cite the knowledge base: one format everywhere. A cited article is a
 * {@link SourceRef} (title, its URL when it has one, its path in the knowledge base) carried
 * beside the answer's text, which every channel renders the same way under the answer ("Sources:
 * …"); inside text, an article is named as the markdown link `[Title](url)` (the form the LLM
 * workers are asked to write and the search tool shows them), or by its title when it has no URL.
 */
import type { SourceRef } from "../../src/types.ts";
import type { KnowledgeBase, KnowledgeDoc, KnowledgeHit } from "./knowledge-base.ts";

/** The source an article is cited as. */
export function sourceOf(doc: KnowledgeDoc): SourceRef {
  return doc.url ? { title: doc.title, url: doc.url, path: doc.path } : { title: doc.title, path: doc.path };
}

/** An article named inside text: `[Title](url)`, or the title alone without a URL. */
export function citation(doc: KnowledgeDoc): string {
  return doc.url ? `[${doc.title}](${doc.url})` : doc.title;
}

/** One source per article, in the order of the hits. */
export function uniqueSources(hits: readonly KnowledgeHit[]): SourceRef[] {
  const seen = new Set<string>();
  return hits.filter((h) => !seen.has(h.doc.id) && seen.add(h.doc.id)).map((h) => sourceOf(h.doc));
}

/** The articles a text links to (`[title](url or path)`), so sources are recorded for LLM answers too. */
export function citedSources(text: string, kb: KnowledgeBase): SourceRef[] {
  const out: SourceRef[] = [];
  for (const m of text.matchAll(/\[([^\]]+)\]\(([^)\s]+)\)/g)) {
    const doc = kb.docs.find((d) => d.url === m[2] || d.path === m[2]);
    if (doc && !out.some((s) => s.path === doc.path)) out.push(sourceOf(doc));
  }
  return out;
}
