import { MemorySaver } from "@langchain/langgraph";
import type pg from "pg";
import type { KnowledgeBase } from "../../agents/knowledge/knowledge-base.ts";
import type { Router, RoutingDecision } from "../../agents/router/types.ts";
import { createSupervisor } from "../../agents/supervisor/graph.ts";
import type { Turn } from "../../agents/supervisor/state.ts";
import { WorkerRegistry } from "../../agents/workers/registry.ts";
import type { WorkerDefinition, WorkerOutput } from "../../agents/workers/types.ts";
import type { RouteName } from "../../src/types.ts";
import type { Logger } from "../../src/logger.ts";
import type { Supervisor } from "../../src/ports.ts";

/** A router that answers from a table: text → routes. Unknown text: unsure. */
export function scriptedRouter(table: Record<string, Array<{ route: string; question?: string; confidence?: number }>>): Router {
  return {
    async route(text: string): Promise<RoutingDecision> {
      const routes = (table[text] ?? []).map((r) => ({ route: r.route as RouteName, confidence: r.confidence ?? 0.95, question: r.question ?? text }));
      const scores = { billing: 0, tech_support: 0, faq: 0, human: 0 } as Record<RouteName, number>;
      for (const r of routes) scores[r.route] = r.confidence;
      return { routes, scores, unsure: routes.length === 0, engine: "offline", latencyMs: 0.1 };
    },
  };
}

/** A worker without tools whose answer is a function of its input (may wait, may throw). */
export function fakeWorker(name: string, answer: (question: string) => Promise<WorkerOutput> | WorkerOutput): WorkerDefinition {
  return {
    name,
    title: name[0]!.toUpperCase() + name.slice(1),
    description: `${name} questions`,
    examples: [`a ${name} question`],
    systemPrompt: `You answer ${name} questions.`,
    tools: () => [],
    answerOffline: async (input) => answer(input.question),
  };
}

export const emptyKnowledge: KnowledgeBase = { docs: [], search: () => [] };

export function turn(text: string, extra: Partial<Turn> = {}): Turn {
  return {
    messageId: extra.messageId ?? `m-${Math.random().toString(36).slice(2)}`,
    text,
    caller: { platform: "cli", userId: "u1", customerId: null, conversationId: "c1" },
    ownership: "bot",
    unclearStreak: 0,
    ...extra,
  };
}

/** Compiles a supervisor over fake workers with an in-memory checkpointer. */
export function compileSupervisor(workers: WorkerDefinition[], router: Router, workerTimeoutMs = 5_000, logger?: Logger) {
  return createSupervisor({
    registry: new WorkerRegistry(workers),
    router,
    deps: { pool: {} as pg.Pool, knowledge: emptyKnowledge, config: { refundApprovalLimit: 100 }, now: () => new Date() },
    workerTimeoutMs,
    logger,
  }).compile({ checkpointer: new MemorySaver() });
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Routes "…two things…" to billing and tech support, anything else to billing. */
const twoPartRouter: Router = {
  async route(text) {
    const both = /two things/i.test(text);
    const routes = [
      { route: "billing" as const, confidence: 0.95, question: text },
      ...(both ? [{ route: "tech_support" as const, confidence: 0.95, question: text }] : []),
    ];
    return { routes, scores: { billing: 0.95, tech_support: both ? 0.95 : 0, faq: 0, human: 0 }, unsure: false, engine: "offline", latencyMs: 0.1 };
  },
};

/** A gate a fake worker waits at (a slow model call) until the test opens it; `close` makes a new one. */
export class Gate {
  #open!: () => void;
  #promise = this.#reset();

  #reset(): Promise<void> {
    return new Promise<void>((resolve) => (this.#open = resolve));
  }

  wait(): Promise<void> {
    return this.#promise;
  }

  open(): void {
    this.#open();
  }

  close(): void {
    this.#promise = this.#reset();
  }
}

/**
 * A compiled supervisor over two fake workers: "…two things…" asks billing (answers at once) and
 * tech support (answers when `techGate` opens); anything else, billing only.
 */
export function twoPartSupervisor(): { supervisor: Supervisor; techGate: Gate } {
  const techGate = new Gate();
  const workers = [
    fakeWorker("billing", () => ({ reply: "Your last invoice was paid on 3 March.", status: "ok", sources: [] })),
    fakeWorker("tech_support", async () => {
      await techGate.wait();
      return { reply: "Clear the app cache, then sign in again.", status: "ok", sources: [] };
    }),
  ];
  return { supervisor: compileSupervisor(workers, twoPartRouter, 60_000), techGate };
}
