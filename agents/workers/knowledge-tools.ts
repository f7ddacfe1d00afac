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
