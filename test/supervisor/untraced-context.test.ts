/**
 * Without LangSmith tracing, LangChain's run context holds the running config in a plain object
 * instead of a new `RunTree` per call (agents/engines/untraced-context.ts): what reads it still
 * finds it (LangGraph's `getConfig()`, a graph invoked inside a node, a runnable inside a node), and with a
 * LangSmith tracer handed in the run is traced as before.
 */
import { LangChainTracer } from "@langchain/core/tracers/tracer_langchain";
import { RunnableLambda } from "@langchain/core/runnables";
import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons";
import { Annotation, END, START, StateGraph, getConfig } from "@langchain/langgraph";
import { isRunTree } from "langsmith/run_trees";
import { describe, expect, it } from "vitest";
import { untracedRunContext } from "../../agents/engines/untraced-context.ts";

const State = Annotation.Root({ seen: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }) });

function inner() {
  return new StateGraph(State)
    .addNode("inner", () => ({ seen: [`inner:${String(getConfig().configurable?.["thread_id"])}`] }))
    .addEdge(START, "inner")
    .addEdge("inner", END)
    .compile({ checkpointer: false });
}

function outer(stores: unknown[]) {
  const sub = inner();
  const nested = RunnableLambda.from(() => AsyncLocalStorageProviderSingleton.getRunnableConfig()?.configurable?.["thread_id"] as string);
  return new StateGraph(State)
    .addNode("outer", async () => {
      stores.push(AsyncLocalStorageProviderSingleton.getInstance().getStore());
      return { seen: [`outer:${String(getConfig().configurable?.["thread_id"])}`, `nested:${await nested.invoke({})}`] };
    })
    // Invoked with no config: the nested graph finds its parent's through the run context.
    .addNode("sub", async () => ({ seen: (await sub.invoke({})).seen }))
    .addEdge(START, "outer")
    .addEdge("outer", "sub")
    .addEdge("sub", END)
    .compile();
}

describe("LangChain's run context without tracing", () => {
  it("is installed over this @langchain/core's runWithConfig", () => {
    // False means @langchain/core changed how it stores the run context: look at the module again.
    expect(untracedRunContext()).toBe(true);
  });

  it("still hands the running config to what reads it, and builds no RunTree", async () => {
    untracedRunContext();
    const stores: unknown[] = [];
    const state = await outer(stores).invoke({}, { configurable: { thread_id: "t-1" } });
    expect(state.seen).toEqual(["outer:t-1", "nested:t-1", "inner:t-1"]);
    expect(stores).toHaveLength(1);
    expect(isRunTree(stores[0])).toBe(false);
  });

  it("traces as before when a LangSmith tracer is handed in", async () => {
    untracedRunContext();
    const posted: string[] = [];
    const client = { createRun: async (run: { name: string }) => void posted.push(run.name), updateRun: async () => {}, awaitPendingTraceBatches: async () => {} };
    const tracer = new LangChainTracer({ client: client as never, projectName: "test" });
    const stores: unknown[] = [];
    const state = await outer(stores).invoke({}, { configurable: { thread_id: "t-2" }, callbacks: [tracer] });
    expect(state.seen).toEqual(["outer:t-2", "nested:t-2", "inner:t-2"]);
    expect(isRunTree(stores[0])).toBe(true);
  });
});
