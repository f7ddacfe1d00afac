/**
 * The compiled supervisor: its declared type is what the pipeline and the bot memory use, with no
 * cast (the two interfaces are copies of the ones the service declares, src/pipeline.ts and
 * src/handoffs/bot-memory.ts; `tsc --noEmit` fails here if the compiled graph stops fitting
 * them), and each worker's own compiled graphs are registered as its node's subgraphs.
 */
import type { BaseMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { AIMessage } from "@langchain/core/messages";
import { MemorySaver } from "@langchain/langgraph";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { compileSupervisor, type CompiledSupervisor } from "../../agents/supervisor/graph.ts";
import type { SupervisorStateType, Turn } from "../../agents/supervisor/state.ts";
import { WorkerRegistry } from "../../agents/workers/registry.ts";
import type { WorkerDefinition } from "../../agents/workers/types.ts";
import { emptyKnowledge, fakeWorker, scriptedRouter, turn } from "../helpers/graph-fixtures.ts";

interface SupervisorRunnable {
  invoke(input: { turn: Turn }, config: { configurable: { thread_id: string } }): Promise<SupervisorStateType>;
}

interface CheckpointedGraph {
  updateState(config: { configurable: { thread_id: string } }, values: { messages: BaseMessage[] }, asNode?: string): Promise<unknown>;
  getState(config: { configurable: { thread_id: string } }): Promise<{ values: unknown }>;
}

const echo = (name: string): WorkerDefinition => fakeWorker(name, (q) => ({ status: "ok", reply: `re: ${q}`, sources: [] }));

// Not "hello": a greeting is answered as such and never routed (issue 14).
function compile(workers: WorkerDefinition[], model?: ReturnType<typeof fakeModel>): CompiledSupervisor {
  return compileSupervisor(
    {
      registry: new WorkerRegistry(workers),
      router: scriptedRouter({ "my invoice please": [{ route: "billing" }] }),
      model,
      deps: { pool: {} as pg.Pool, knowledge: emptyKnowledge, config: { refundApprovalLimit: 100 }, now: () => new Date() },
    },
    new MemorySaver(),
  );
}

describe("compileSupervisor", () => {
  it("returns a graph the pipeline and the bot memory take as it is", async () => {
    const compiled = compile([echo("billing")]);
    // The compile-time checks: plain assignments, no cast.
    const runnable: SupervisorRunnable = compiled;
    const checkpointed: CheckpointedGraph = compiled;

    const state = await runnable.invoke({ turn: turn("my invoice please") }, { configurable: { thread_id: "t-typed" } });
    expect(state.reply?.text).toBe("re: my invoice please");
    const saved = await checkpointed.getState({ configurable: { thread_id: "t-typed" } });
    expect((saved.values as SupervisorStateType).messages.map((m) => m.text)).toEqual(["my invoice please", "re: my invoice please"]);
    expect(compiled.name).toBe("supervisor");
  });

  it("registers each worker's compiled graphs as its node's subgraphs", async () => {
    const offline = compile([echo("billing"), echo("faq")]);
    expect([...offline.getSubgraphs()].map(([node, graph]) => [node, graph.name])).toEqual([
      ["billing", "billing_offline"],
      ["faq", "faq_offline"],
    ]);

    const model = fakeModel().respond(new AIMessage("an agent's answer"));
    const withModel = compile([echo("billing")], model);
    expect([...withModel.getSubgraphs()].map(([node, graph]) => [node, graph.name])).toEqual([
      ["billing", "billing_offline"],
      ["billing", "billing_agent"],
    ]);
    // LangGraph can look inside: the drawing shows the agent loop within the worker's node,
    // and streaming with `subgraphs: true` reports the agent's own steps under the node.
    const drawing = await withModel.getGraphAsync({ xray: true });
    expect(Object.keys(drawing.nodes)).toEqual(expect.arrayContaining(["billing:agent", "billing:tools", "billing:finish"]));
    const steps: Array<[string, string]> = [];
    const stream = await withModel.stream({ turn: turn("my invoice please") }, { configurable: { thread_id: "t-stream" }, streamMode: "updates", subgraphs: true });
    for await (const [namespace, update] of stream) {
      for (const node of Object.keys(update)) steps.push([namespace.map((n) => n.split(":")[0]).join("/"), node]);
    }
    expect(steps).toEqual(expect.arrayContaining([["billing", "agent"], ["billing", "finish"], ["", "billing"], ["", "merge"]]));
  });
});
