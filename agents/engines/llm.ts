import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { AIMessage, HumanMessage, SystemMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import { z } from "zod";
import type { Config } from "../../src/config.ts";
import { errorMessage } from "../../src/errors.ts";
import type { RouteName } from "../../src/types.ts";
import type { RouteContext, Router, RoutingDecision, RoutedPart } from "../router/types.ts";
import type { WorkerDefinition } from "../workers/types.ts";
import { planFromPositions } from "../router/plan.ts";

/**
 * The production chat model: any OpenAI-compatible endpoint (`OPENAI_BASE_URL`: Ollama, vLLM,
 * LM Studio, Azure, a gateway). A local server without keys gets a placeholder key.
 */
export function createChatModel(config: Pick<Config, "openaiApiKey" | "openaiBaseUrl" | "llmModel">, observer?: ModelCallObserver): ChatOpenAI {
  return new ChatOpenAI({
    ...(observer ? { callbacks: [observeModelCalls(observer)] } : {}),
    model: config.llmModel,
    apiKey: config.openaiApiKey ?? "not-needed",
    temperature: 0,
    maxRetries: 2,
    timeout: 30_000,
    ...(config.openaiBaseUrl ? { configuration: { baseURL: config.openaiBaseUrl } } : {}),
  });
}

/** Told of every model call's end (after the client's retries): the service's model health. */
export interface ModelCallObserver {
  succeeded(): void;
  failed(err: unknown): void;
}

/** A LangChain callback handler that reports each model call to `observer`; a cancelled call (a worker's budget ran out) is neither. */
export function observeModelCalls(observer: ModelCallObserver): BaseCallbackHandler {
  return BaseCallbackHandler.fromMethods({
    handleLLMEnd() {
      observer.succeeded();
    },
    handleLLMError(err: unknown) {
      const name = (err as { name?: unknown } | undefined)?.name;
      if (name === "AbortError" || name === "APIUserAbortError" || name === "WorkerTimeoutError") return;
      observer.failed(err);
    },
  });
}

/** Model output for routing; confidences are the model's own estimate. */
export function routingSchema(routeNames: readonly string[]) {
  return z.object({
    routes: z
      .array(
        z.object({
          route: z.enum(routeNames as [string, ...string[]]).describe("who must answer this part"),
          confidence: z.number().min(0).max(1).describe("how sure you are, 0 to 1"),
          question: z.string().describe("the part of the message this route must answer, rewritten to stand alone"),
          // A default, so a model (or a scripted one) that leaves it out still routes: no dependencies.
          after: z
            .array(z.number().int().min(0))
            .default([])
            .describe("positions (0-based) of earlier entries of this list whose findings this part needs before it can be answered; empty when it can be answered on its own"),
        }),
      )
      .describe("one entry per distinct request in the message; empty when it is unclear what the user wants"),
  });
}

export function routingPrompt(workers: readonly WorkerDefinition[]): string {
  const lines = workers.map((w) => `- ${w.name}: ${w.description} Examples: ${w.examples.slice(0, 3).map((e) => `"${e}"`).join(", ")}`);
  return [
    "You route customer-support messages of Acme Cloud to specialists.",
    ...lines,
    "- human: the user asks for a person, an agent, a call, or files a complaint.",
    "Split a message that asks several things into one route per thing; one request gets exactly one route.",
    "When a part can only be answered with another part's finding (\"I was charged while your app was down yesterday, can I get that back?\": tech_support checks the outage, then billing decides the refund), list the finding first and name its position in the later part's `after`; parts that stand alone have an empty `after` and are answered in parallel.",
    "Earlier turns of the conversation come before the message: use them to place a short follow-up (\"and on Pro?\"), but route only the last message.",
    "If it is unclear what the user wants, or it is not a request any of these can take (small talk, questions about other things), return no routes.",
  ].join("\n");
}

/**
 * Routes with the model's structured output; when the model fails (after the client's retries),
 * the fallback router answers and the decision records the model's error.
 */
export class LlmRouter implements Router {
  private readonly structured;

  constructor(
    model: BaseChatModel,
    private readonly workers: readonly WorkerDefinition[],
    private readonly fallback: Router,
    private readonly minConfidence = 0.5,
  ) {
    this.structured = model.withStructuredOutput(routingSchema([...workers.map((w) => w.name), "human"]), { name: "route_message" });
  }

  async route(text: string, context: RouteContext = {}): Promise<RoutingDecision> {
    const started = performance.now();
    try {
      // The recent transcript, so the model can place a follow-up; the message to route last.
      const transcript = (context.transcript ?? []).slice(-TRANSCRIPT_TURNS).map((t) => (t.role === "user" ? new HumanMessage(t.text) : new AIMessage(t.text)));
      const out = await this.structured.invoke([new SystemMessage(routingPrompt(this.workers)), ...transcript, new HumanMessage(text)]);
      const all: RoutedPart[] = out.routes.map((r) => ({ route: r.route as RouteName, confidence: r.confidence, question: r.question || text }));
      const routes = dedupe(all.filter((r) => r.confidence >= this.minConfidence));
      const scores: Record<RouteName, number> = Object.fromEntries([...this.workers.map((w) => w.name), "human"].map((r) => [r, 0]));
      for (const r of all) scores[r.route] = Math.max(scores[r.route] ?? 0, r.confidence);
      // Only worker routes are steps (`human` is a handoff, not a step).
      const workerNames = new Set(this.workers.map((w) => w.name));
      const plan = planFromPositions(out.routes.map((r) => ({ route: r.route, after: r.after ?? [] })), routes.filter((r) => workerNames.has(r.route)));
      return { routes, scores, unsure: routes.length === 0, engine: "llm", latencyMs: performance.now() - started, ...(plan ? { plan } : {}) };
    } catch (err) {
      const d = await this.fallback.route(text, context);
      return { ...d, engine: "llm->offline", latencyMs: performance.now() - started, error: errorMessage(err) };
    }
  }
}

/** Turns of the transcript the model router sees before the message. */
const TRANSCRIPT_TURNS = 6;

/**
 * Offline first; the model when the offline router is below the threshold, unsure (an
 * out-of-scope message too), or sees a possible further request it could not place
 * (`unplaced`: "I was charged twice and the app crashes on login, and what plans do you offer?"
 * with only two routes found).
 */
export class HybridRouter implements Router {
  constructor(
    private readonly offline: Router,
    private readonly llm: Router,
    private readonly threshold: number,
  ) {}

  async route(text: string, context: RouteContext = {}): Promise<RoutingDecision> {
    const started = performance.now();
    const first = await this.offline.route(text, context);
    const top = Math.max(0, ...first.routes.map((r) => r.confidence));
    if (!first.unsure && top >= this.threshold && first.unplaced === undefined) return { ...first, engine: "hybrid:offline" };
    const second = await this.llm.route(text, context);
    if (second.engine === "llm->offline") return { ...first, engine: "llm->offline", latencyMs: performance.now() - started, ...(second.error ? { error: second.error } : {}) };
    return { ...second, engine: "hybrid:llm", latencyMs: performance.now() - started };
  }
}

function dedupe(parts: RoutedPart[]): RoutedPart[] {
  const byRoute = new Map<string, RoutedPart>();
  for (const p of parts) {
    const seen = byRoute.get(p.route);
    if (!seen) byRoute.set(p.route, { ...p });
    else {
      seen.question = `${seen.question} ${p.question}`;
      seen.confidence = Math.max(seen.confidence, p.confidence);
    }
  }
  return [...byRoute.values()].sort((a, b) => b.confidence - a.confidence);
}
