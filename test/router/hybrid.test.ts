import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import { HybridRouter, LlmRouter } from "../../agents/engines/llm.ts";
import type { Router, RoutingDecision } from "../../agents/router/types.ts";
import { defaultWorkers } from "../../agents/workers/registry.ts";

const decision = (d: Partial<RoutingDecision>): RoutingDecision => ({ routes: [], scores: {}, unsure: false, engine: "offline", latencyMs: 0, ...d });

/** A router that answers one decision and counts its calls. */
function fixed(d: RoutingDecision) {
  const calls: string[] = [];
  const router: Router = {
    async route(text) {
      calls.push(text);
      return d;
    },
  };
  return { router, calls };
}

describe("HybridRouter", () => {
  const confident = decision({ routes: [{ route: "billing", confidence: 0.97, question: "I was charged twice" }] });
  const llmAnswer = decision({
    routes: ["billing", "tech_support", "faq"].map((route) => ({ route, confidence: 0.9, question: route })),
    engine: "llm",
  });

  it("answers alone when the offline side is confident and placed everything", async () => {
    const llm = fixed(llmAnswer);
    const d = await new HybridRouter(fixed(confident).router, llm.router, 0.6).route("I was charged twice");
    expect(d.engine).toBe("hybrid:offline");
    expect(llm.calls).toEqual([]);
  });

  it("asks the model when the offline side sees a further request it could not place, however confident", async () => {
    const llm = fixed(llmAnswer);
    const offline = fixed({ ...confident, unplaced: "and what plans do you offer?" });
    const text = "I was charged twice and the app crashes on login, and what plans do you offer?";
    const d = await new HybridRouter(offline.router, llm.router, 0.6).route(text);
    expect(llm.calls).toEqual([text]);
    expect(d.engine).toBe("hybrid:llm");
    expect(d.routes.map((r) => r.route)).toEqual(["billing", "tech_support", "faq"]);
  });

  it("asks the model about an out-of-scope (unsure) message", async () => {
    const llm = fixed(decision({ unsure: true, engine: "llm" }));
    await new HybridRouter(fixed(decision({ unsure: true, outOfScope: 0.9 })).router, llm.router, 0.6).route("how is the dow doing");
    expect(llm.calls).toHaveLength(1);
  });
});

describe("LlmRouter", () => {
  it("gives the model the recent transcript before the message, and scores every registry route", async () => {
    const seen: BaseMessage[][] = [];
    const model = {
      withStructuredOutput: () => ({
        invoke: async (messages: BaseMessage[]) => {
          seen.push(messages);
          return { routes: [{ route: "faq", confidence: 0.9, question: "What are the API rate limits on the Pro plan?" }] };
        },
      }),
    } as unknown as BaseChatModel;
    const router = new LlmRouter(model, defaultWorkers, fixed(decision({})).router);
    const transcript = [
      { role: "user" as const, text: "What are the API rate limits on the Business plan?" },
      { role: "assistant" as const, text: "1,000 requests a minute." },
    ];
    const d = await router.route("and on Pro?", { previousRoutes: ["faq"], transcript });
    expect(seen[0]!.map((m) => [m.getType(), m.content])).toEqual([
      ["system", expect.stringContaining("route only the last message")],
      ["human", "What are the API rate limits on the Business plan?"],
      ["ai", "1,000 requests a minute."],
      ["human", "and on Pro?"],
    ]);
    expect(d.routes.map((r) => r.route)).toEqual(["faq"]);
    expect(Object.keys(d.scores)).toEqual(["billing", "tech_support", "faq", "human"]);
  });
});
