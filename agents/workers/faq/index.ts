import type { WorkerDefinition } from "../types.ts";
import { bestPassage, relevantHits, searchTool, sourceOf } from "../knowledge-tools.ts";

/** FAQ: answers from the FAQ knowledge base with its source, and says so when it does not know. */
export const faqWorker: WorkerDefinition = {
  name: "faq",
  title: "General questions",
  description:
    "General questions about Acme Cloud answered by the FAQ: plans and pricing, policies, shipping and delivery of the Acme Dock, trials, discounts, security, data export, support hours.",
  examples: [
    "what plans do you offer",
    "do you ship to Canada",
    "how long does delivery take",
    "is there a student discount",
    "what are your support hours",
    "how do I export my data",
    "what is your refund policy",
    "is my data encrypted",
  ],
  systemPrompt: [
    "You answer general questions about Acme Cloud from its FAQ.",
    "Always search the FAQ first and answer only from what it says, citing the article as a markdown link [title](url).",
    "If the FAQ does not answer the question, say plainly that you don't know and offer to pass it to a person. Never guess.",
  ].join("\n"),
  tools: (deps) => [searchTool(deps.knowledge, "faq", "search_faq", "Search Acme Cloud's FAQ articles.")],

  async answerOffline(input, tools, deps) {
    await tools.call("search_faq", { query: input.question });
    const hits = relevantHits(deps.knowledge, "faq", input.question, 5);
    const top = hits[0];
    if (!top) {
      return {
        status: "ok",
        reply: "I don't know the answer to that, and I'd rather not guess. Ask me to connect you with a person and our support team will answer it here.",
        sources: [],
      };
    }
    return {
      status: "ok",
      reply: `${bestPassage(hits).map((h) => `**${h.section.heading}**\n${h.section.text.trim()}`).join("\n\n")}\n\nSource: ${top.doc.url ? `[${top.doc.title}](${top.doc.url})` : top.doc.title}`,
      sources: [sourceOf(top)],
    };
  },
};
