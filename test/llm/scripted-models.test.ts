/**
 * The supervisor graph with the LLM engine, driven by LangChain's scripted fake chat model
 * (`fakeModel()` from @langchain/core/testing: queued AIMessages with tool calls, `bindTools`
 * sharing the queue, every call recorded), as langgraph-supervisor's tests do. Fake workers with
 * fake tools, a scripted router, an in-memory checkpointer: no database, no network.
 */
import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { fakeModel, type FakeBuiltModel } from "@langchain/core/testing";
import { tool } from "@langchain/core/tools";
import { MemorySaver } from "@langchain/langgraph";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { KnowledgeBase } from "../../agents/knowledge/knowledge-base.ts";
import type { Router, RoutingDecision } from "../../agents/router/types.ts";
import { createSupervisor } from "../../agents/supervisor/graph.ts";
import { HANDOFF_TEXT } from "../../agents/supervisor/routing.ts";
import type { Turn } from "../../agents/supervisor/state.ts";
import { defineTool } from "../../agents/workers/define-tool.ts";
import { WorkerRegistry } from "../../agents/workers/registry.ts";
import { callerOf, type Caller, type WorkerDefinition } from "../../agents/workers/types.ts";
import type { PlanStep, RouteName } from "../../src/types.ts";

const emptyKnowledge: KnowledgeBase = { docs: [], search: () => [] };

/** A router that answers from a table (text → routes) and records what it was asked. */
class TableRouter implements Router {
  readonly asked: string[] = [];
  constructor(
    private readonly table: Record<string, RouteName[]>,
    /** A plan for a message, when its steps are not all independent. */
    private readonly plans: Record<string, PlanStep[]> = {},
  ) {}

  async route(text: string): Promise<RoutingDecision> {
    this.asked.push(text);
    const routes = (this.table[text] ?? []).map((route) => ({ route, confidence: 0.9, question: text }));
    const scores: Record<RouteName, number> = { billing: 0, tech_support: 0, faq: 0, human: 0 };
    for (const r of routes) scores[r.route] = r.confidence;
    const plan = this.plans[text];
    return { routes, scores, unsure: routes.length === 0, engine: "llm", latencyMs: 1, ...(plan ? { plan } : {}) };
  }
}

/** Two steps of one message where the second waits for the first's findings: their answers overlap. */
const dependent = (text: string, first: RouteName, second: RouteName): Record<string, PlanStep[]> => ({
  [text]: [
    { id: "s1", worker: first, question: text, dependsOn: [] },
    { id: "s2", worker: second, question: text, dependsOn: ["s1"] },
  ],
});

interface RecordedToolCall {
  args: Record<string, unknown>;
  caller: Caller;
}

/** A worker with one tool that records each call and the caller the service gave it. */
function worker(name: RouteName, title: string, toolCalls: RecordedToolCall[] = []): WorkerDefinition {
  return {
    name,
    title,
    description: `${title} questions`,
    examples: [`a ${name} question`],
    systemPrompt: `You are the ${name} specialist.`,
    tools: () => [
      defineTool(
        { name: "lookup_order", description: "Looks an order up.", schema: z.object({ order: z.string() }) },
        async (args, config) => {
          toolCalls.push({ args, caller: callerOf(config) });
          return `ORDER ${args.order}: shipped on 2024-05-02, tracking TRK-77`;
        },
      ),
    ],
    answerOffline: async () => ({ status: "ok", reply: `offline ${name} answer`, sources: [] }),
  };
}

function compile(workers: WorkerDefinition[], router: Router, model: FakeBuiltModel) {
  return createSupervisor({
    registry: new WorkerRegistry(workers),
    router,
    model,
    deps: { pool: {} as pg.Pool, knowledge: emptyKnowledge, config: { refundApprovalLimit: 100 }, now: () => new Date() },
    workerTimeoutMs: 5_000,
  }).compile({ checkpointer: new MemorySaver() });
}

function turn(text: string): Turn {
  return {
    messageId: `m-${text.length}-${Math.random().toString(36).slice(2)}`,
    text,
    caller: { platform: "http", userId: "u1", customerId: "cus_jordan", conversationId: "c-1" },
    ownership: "bot",
    unclearStreak: 0,
  };
}

const thread = (id: string) => ({ configurable: { thread_id: id } });

const systemText = (messages: BaseMessage[]) => messages.filter((m) => m.getType() === "system").map((m) => m.text).join("\n");

describe("supervisor graph with a scripted chat model", () => {
  it("runs a tool-calling worker loop: agent → tool → agent → answer", async () => {
    const calls: RecordedToolCall[] = [];
    const model = fakeModel()
      .respondWithTools([{ name: "lookup_order", args: { order: "A-1" }, id: "call_1" }])
      .respond((messages) => {
        const result = messages.find((m): m is ToolMessage => ToolMessage.isInstance(m));
        return new AIMessage(`Your order shipped: ${result?.text.replace(/^ORDER A-1: /, "")}.`);
      });
    const text = "where is my order A-1?";
    const graph = compile([worker("billing", "Orders", calls)], new TableRouter({ [text]: ["billing"] }), model);

    const state = await graph.invoke({ turn: turn(text) }, thread("t-loop"));

    // The tool ran once, with the model's arguments and the service's caller (not the model's).
    expect(calls).toEqual([{ args: { order: "A-1" }, caller: expect.objectContaining({ userId: "u1", customerId: "cus_jordan" }) }]);
    // The second model call saw the tool's result, answered to the tool call it made.
    expect(model.callCount).toBe(2);
    const secondPrompt = model.calls[1]!.messages;
    const toolMessage = secondPrompt.find((m): m is ToolMessage => ToolMessage.isInstance(m));
    expect(toolMessage?.tool_call_id).toBe("call_1");
    expect(toolMessage?.text).toContain("TRK-77");
    expect(systemText(model.calls[0]!.messages)).toBe("You are the billing specialist.");

    expect(state.results).toHaveLength(1);
    expect(state.results[0]).toMatchObject({
      worker: "billing",
      status: "ok",
      engine: "llm",
      reply: "Your order shipped: shipped on 2024-05-02, tracking TRK-77.",
      toolCalls: [{ name: "lookup_order", args: { order: "A-1" }, result: expect.stringContaining("TRK-77") }],
    });
    // One worker: its reply is the answer, no merge call.
    expect(state.reply?.text).toBe("Your order shipped: shipped on 2024-05-02, tracking TRK-77.");
    expect(state.handoff).toBeNull();
  });

  it("turns an escalate_to_human call into a needs_engineer handoff", async () => {
    const model = fakeModel()
      .respondWithTools([{ name: "escalate_to_human", args: { reason: "crash persists after reinstall; needs logs" } }])
      .respond(() => new AIMessage("I've asked an engineer to look at your crash."));
    const text = "the app still crashes after reinstalling";
    const graph = compile([worker("tech_support", "Technical support")], new TableRouter({ [text]: ["tech_support"] }), model);

    const state = await graph.invoke({ turn: turn(text) }, thread("t-escalate"));

    expect(state.results[0]).toMatchObject({
      worker: "tech_support",
      status: "needs_human",
      engine: "llm",
      handoff: { reason: "needs_engineer", detail: "crash persists after reinstall; needs logs" },
      toolCalls: [
        {
          name: "escalate_to_human",
          args: { reason: "crash persists after reinstall; needs logs" },
          signal: { signal: "escalate", reason: "crash persists after reinstall; needs logs" },
        },
      ],
    });
    // The model was told in words; the graph acted on the tool message's artifact.
    const toolMessage = model.calls[1]!.messages.find((m): m is ToolMessage => ToolMessage.isInstance(m));
    expect(toolMessage?.text).toMatch(/A person on the support team will take over/);
    expect(toolMessage?.artifact).toEqual({ signal: "escalate", reason: "crash persists after reinstall; needs logs" });
    expect(JSON.stringify(state.results)).not.toMatch(/ESCALATED/);
    expect(state.handoff).toEqual({ reason: "needs_engineer", detail: "crash persists after reinstall; needs logs" });
    expect(state.reply?.text).toBe(`I've asked an engineer to look at your crash.\n\n${HANDOFF_TEXT.needs_engineer}`);
  });

  it("acts on a tool's signal artifact, not on its words", async () => {
    // A tool whose text looks like the old sentinels, without a signal: no handoff. And a tool
    // with an artifact that is no signal: ignored.
    const wordy: WorkerDefinition = {
      ...worker("billing", "Billing"),
      tools: () => [
        defineTool({ name: "lookup_order", description: "Looks an order up.", schema: z.object({ order: z.string() }) }, async () => "NEEDS_APPROVAL: ESCALATED: just words"),
        tool(async () => ["looked up", { signal: "needs_approval", note: "not a signal: fields missing" }], {
          name: "foreign_tool",
          description: "A tool from elsewhere with an artifact of its own.",
          schema: z.object({}),
          responseFormat: "content_and_artifact",
        }),
      ],
    };
    const model = fakeModel()
      .respondWithTools([{ name: "lookup_order", args: { order: "A-1" }, id: "c1" }, { name: "foreign_tool", args: {}, id: "c2" }])
      .respond(() => new AIMessage("All good."));
    const text = "check order A-1";
    const graph = compile([wordy], new TableRouter({ [text]: ["billing"] }), model);

    const state = await graph.invoke({ turn: turn(text) }, thread("t-words"));

    expect(state.results[0]).toMatchObject({ status: "ok", engine: "llm" });
    expect(state.results[0]?.toolCalls.map((c) => c.name)).toEqual(["lookup_order"]);
    expect(state.handoff).toBeNull();
  });

  it("runs two independent workers and gives their answers as the reply's sections, without a merge call", async () => {
    const text = "I was charged twice and where is order B-2?";
    const answer = (messages: BaseMessage[]) => new AIMessage(systemText(messages).includes("billing") ? "A refund of $24 is on its way." : "Orders ship within 2 business days.");
    const model = fakeModel().respond(answer).respond(answer);
    const graph = compile([worker("billing", "Billing"), worker("faq", "Questions")], new TableRouter({ [text]: ["billing", "faq"] }), model);

    const state = await graph.invoke({ turn: turn(text) }, thread("t-no-merge"));

    expect(model.callCount).toBe(2);
    expect(model.calls.map((c) => systemText(c.messages))).not.toContainEqual(expect.stringMatching(/^You merge answers/));
    // Each part under its title, in the order the user asked: what the merge would have laid out.
    expect(state.reply?.text).toBe("**Billing**\nA refund of $24 is on its way.\n\n**Questions**\nOrders ship within 2 business days.");
    expect(state.reply?.sections.map((s) => s.route)).toEqual(["billing", "faq"]);
  });

  it("runs two workers, one waiting for the other, and has the model merge their overlapping replies into one", async () => {
    const text = "I was charged twice and where is order B-2?";
    const drafts: Record<string, string> = {
      "You are the billing specialist.": "You were charged twice on May 2; a refund of $24 is on its way.",
      "You are the faq specialist.": "Orders ship within 2 business days.",
    };
    // The two workers call the shared model in parallel, so every reply is chosen from the
    // prompt, not from the order of calls.
    const answer = (messages: BaseMessage[]) => {
      const system = systemText(messages);
      if (system.startsWith("You merge answers")) {
        return new AIMessage("You were charged twice on May 2 and a $24 refund is on its way. Orders ship within 2 business days.");
      }
      const draft = drafts[system];
      return draft ? new AIMessage(draft) : new Error(`unexpected prompt: ${system}`);
    };
    const model = fakeModel().respond(answer).respond(answer).respond(answer);
    const graph = compile([worker("billing", "Billing"), worker("faq", "Questions")], new TableRouter({ [text]: ["billing", "faq"] }, dependent(text, "billing", "faq")), model);

    const state = await graph.invoke({ turn: turn(text) }, thread("t-merge"));

    expect(model.callCount).toBe(3);
    const merge = model.calls.find((c) => systemText(c.messages).startsWith("You merge answers"));
    const mergeInput = merge?.messages.find((m) => m.getType() === "human")?.text ?? "";
    expect(mergeInput).toContain(text);
    expect(mergeInput).toContain(`## Billing\n${drafts["You are the billing specialist."]}`);
    expect(mergeInput).toContain(`## Questions\n${drafts["You are the faq specialist."]}`);

    expect(state.reply?.text).toBe("You were charged twice on May 2 and a $24 refund is on its way. Orders ship within 2 business days.");
    // The per-worker sections stay as the workers wrote them (adapters render them as blocks).
    expect(state.reply?.sections.map((s) => [s.route, s.text]).sort()).toEqual([
      ["billing", drafts["You are the billing specialist."]],
      ["faq", drafts["You are the faq specialist."]],
    ]);
    expect(state.results.map((r) => r.engine)).toEqual(["llm", "llm"]);
  });

  it("keeps both answers as sections when the merge call fails", async () => {
    const text = "two questions at once";
    const answer = (messages: BaseMessage[]) => {
      const system = systemText(messages);
      if (system.startsWith("You merge answers")) return new Error("merge model down");
      return new AIMessage(system.includes("billing") ? "billing part" : "faq part");
    };
    const model = fakeModel().respond(answer).respond(answer).respond(answer);
    const graph = compile([worker("billing", "Billing"), worker("faq", "Questions")], new TableRouter({ [text]: ["billing", "faq"] }, dependent(text, "billing", "faq")), model);

    const state = await graph.invoke({ turn: turn(text) }, thread("t-merge-fail"));

    expect(state.reply?.text).toContain("**Billing**\nbilling part");
    expect(state.reply?.text).toContain("**Questions**\nfaq part");
    expect(state.handoff).toBeNull();
  });

  it("answers offline when the model fails, and says so on the run", async () => {
    const model = fakeModel().alwaysThrow(new Error("503 upstream unavailable"));
    const text = "what is my balance";
    const graph = compile([worker("billing", "Billing")], new TableRouter({ [text]: ["billing"] }), model);

    const state = await graph.invoke({ turn: turn(text) }, thread("t-fallback"));

    expect(state.results[0]).toMatchObject({
      worker: "billing",
      status: "ok",
      engine: "llm->offline",
      reply: "offline billing answer",
      error: expect.stringContaining("503 upstream unavailable"),
    });
    expect(state.reply?.text).toBe("offline billing answer");
    expect(state.handoff).toBeNull();
  });
});
