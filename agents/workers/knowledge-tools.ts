import { z } from "zod";
import type { SourceRef } from "../../src/types.ts";
import type { Collection, KnowledgeBase, KnowledgeHit } from "../knowledge/knowledge-base.ts";
import { MIN_RELEVANCE } from "../knowledge/knowledge-base.ts";
import { defineTool } from "./define-tool.ts";

/** A knowledge-base search tool over one collection; results carry their source for citation. */
export function searchTool(kb: KnowledgeBase, collection: Collection, name: string, description: string) {
  return defineTool(
    { name, description, schema: z.object({ query: z.string().min(1).max(500) }) },
    async ({ query }) => {
      const hits = relevantHits(kb, collection, query, 3);
      if (hits.length === 0) return "NO_MATCH: nothing in the knowledge base answers this.";
      return hits
        .map((h) => `[${h.doc.title} — ${h.section.heading}](${h.doc.url ?? h.doc.path}) (relevance ${h.score.toFixed(2)})\n${h.section.text}`)
        .join("\n\n---\n\n");
    },
  );
}

export function relevantHits(kb: KnowledgeBase, collection: Collection, query: string, limit = 3): KnowledgeHit[] {
  return kb.search(collection, query, limit).filter((h) => h.score >= MIN_RELEVANCE);
}

/**
 * The passage to answer with: the best document's matching sections (at most `max`), in the
 * order the document gives them, so a how-to starts at its first step rather than at whichever
 * section matched best ("Still crashing?" before "Update the app").
 */
export function bestPassage(hits: KnowledgeHit[], max = 2): KnowledgeHit[] {
  const top = hits[0];
  if (!top) return [];
  const order = (h: KnowledgeHit) => top.doc.sections.indexOf(h.section);
  return hits
    .filter((h) => h.doc.id === top.doc.id)
    .slice(0, max)
    .sort((a, b) => order(a) - order(b));
}

/** One source per document, in the order given. */
export function uniqueSources(hits: KnowledgeHit[]): SourceRef[] {
  const seen = new Set<string>();
  return hits.filter((h) => !seen.has(h.doc.id) && seen.add(h.doc.id)).map(sourceOf);
}

export function sourceOf(hit: KnowledgeHit): SourceRef {
  return hit.doc.url ? { title: hit.doc.title, url: hit.doc.url, path: hit.doc.path } : { title: hit.doc.title, path: hit.doc.path };
}

/** Pulls `[title](url)` citations out of a model's reply, so sources are recorded for LLM answers too. */
export function citedSources(text: string, kb: KnowledgeBase): SourceRef[] {
  const out: SourceRef[] = [];
  for (const m of text.matchAll(/\[([^\]]+)\]\(([^)\s]+)\)/g)) {
    const doc = kb.docs.find((d) => d.url === m[2] || d.path === m[2]);
    if (doc && !out.some((s) => s.title === doc.title)) out.push(doc.url ? { title: doc.title, url: doc.url, path: doc.path } : { title: doc.title, path: doc.path });
  }
  return out;
}
