import type { WorkerDefinition } from "../types.ts";
import { SEARCH_TOOL, answerFromKnowledge, searchTool } from "../knowledge-tools.ts";

/**
 * FAQ: answers how things work (plans, prices, policies, limits) from the whole knowledge base,
 * FAQ articles first, with its source; says so when it does not know.
 */
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
    "You answer general questions about Acme Cloud from its help articles: plans, prices, policies, limits, how things work.",
    "Always search the knowledge base first and answer only from what it says, citing the article as a markdown link [title](url).",
    "If the articles do not answer the question, call cannot_answer with the reason: another specialist or a person will take it. Never guess.",
  ].join("\n"),
  tools: (deps) => [searchTool(deps.knowledge)],

  async answerOffline(input, tools, deps) {
    await tools.call(SEARCH_TOOL, { query: input.question });
    const answer = answerFromKnowledge(deps.knowledge, input.question, "faq");
    if (!answer) {
      // Declined, not guessed: the supervisor offers it to the next-best worker, then a person.
      return {
        status: "declined",
        reply: "I don't know the answer to that, and I'd rather not guess.",
        sources: [],
        facts: { declined: "no help article answers it" },
      };
    }
    return { status: "ok", reply: answer.text, sources: answer.sources };
  },

  // The help article the search found is the answer (the offline engine's, with its source): the
  // model need not restate it. A search that found nothing goes back to the model, which declines.
  answerFromTools(round, input, deps) {
    if (round.length !== 1 || round[0]!.name !== SEARCH_TOOL || round[0]!.text.startsWith("NO_MATCH")) return undefined;
    const query = typeof round[0]!.args["query"] === "string" ? round[0]!.args["query"] : undefined;
    const answer = answerFromKnowledge(deps.knowledge, input.question, "faq") ?? (query ? answerFromKnowledge(deps.knowledge, query, "faq") : undefined);
    return answer ? { status: "ok", reply: answer.text, sources: answer.sources } : undefined;
  },
};
