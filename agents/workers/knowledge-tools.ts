import { z } from "zod";
import type { SourceRef } from "../../src/types.ts";
import type { Collection, KnowledgeBase, KnowledgeHit } from "../knowledge/knowledge-base.ts";
import { relevantHits } from "../knowledge/knowledge-base.ts";
import { citation, sourceOf } from "../knowledge/citation.ts";
import { defineTool } from "./define-tool.ts";

/** The one knowledge-base tool every LLM worker has. */
export const SEARCH_TOOL = "search_knowledge_base";

/**
 * Searches the whole knowledge base (FAQ and technical articles alike), so any worker can answer a
 * question about how things work from wherever its article lives. Each result starts with the
 * article's citation (`[Title](url)`) and its section heading.
 */
export function searchTool(kb: KnowledgeBase) {
  return defineTool(
    {
      name: SEARCH_TOOL,
      description:
        "Search Acme Cloud's help articles: plans, prices, policies (refunds, cancellation, trials, shipping), limits, how-tos and troubleshooting. Returns the matching sections with the article to cite.",
      schema: z.object({ query: z.string().min(1).max(500) }),
    },
    async ({ query }) => {
      const hits = relevantHits(kb, query, { limit: 3 });
      if (hits.length === 0) return "NO_MATCH: nothing in the knowledge base answers this.";
      return hits
        .map((h) => `${citation(h.doc)} — ${h.section.heading} (relevance ${h.score.toFixed(2)})\n${h.section.text}`)
        .join("\n\n---\n\n");
    },
  );
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

/** An answer taken from the knowledge base: its text (the passage's sections under their headings) and its one source. */
export interface KnowledgeAnswer {
  text: string;
  sources: SourceRef[];
  hits: KnowledgeHit[];
}

/**
 * Answers `question` from the whole knowledge base, or undefined when nothing in it is relevant.
 * `prefer`: when the best hits of both collections are about as good, the worker's own
 * collection's article answers (tech support answering "set up the Slack integration" from the
 * how-to rather than from the pricing page that mentions Slack).
 */
export function answerFromKnowledge(kb: KnowledgeBase, question: string, prefer?: Collection): KnowledgeAnswer | undefined {
  const hits = preferCollection(relevantHits(kb, question, { limit: 5 }), prefer);
  const passage = bestPassage(hits);
  const top = passage[0];
  if (!top) return undefined;
  return {
    text: passage.map((h) => (h.section.heading === h.doc.title && passage.length === 1 ? h.section.text : `**${h.section.heading}**\n${h.section.text}`)).join("\n\n"),
    sources: [sourceOf(top.doc)],
    hits,
  };
}

/** Within this much of the best score, a hit of the preferred collection goes first. */
const PREFERENCE_MARGIN = 0.05;

function preferCollection(hits: KnowledgeHit[], prefer: Collection | undefined): KnowledgeHit[] {
  const best = hits[0];
  if (!best || prefer === undefined || best.doc.collection === prefer) return hits;
  const own = hits.find((h) => h.doc.collection === prefer && best.score - h.score <= PREFERENCE_MARGIN);
  return own ? [own, ...hits.filter((h) => h !== own)] : hits;
}
