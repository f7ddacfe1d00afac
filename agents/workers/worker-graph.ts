import type { Callbacks } from "@langchain/core/callbacks/manager";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { Annotation, END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { z } from "zod";
import { errorMessage } from "../../src/errors.ts";
import { isUntraced } from "../engines/untraced-context.ts";
import { citedSources } from "../knowledge/citation.ts";
import { defineTool } from "./define-tool.ts";
import { handoffFromSignals, signalOf, signalsIn, type LoggedToolCall } from "./tool-signals.ts";
import type { ToolKit, ToolRoundCall, ToolRunConfig, WorkerDefinition, WorkerDeps, WorkerInput, WorkerOutput, WorkerResult } from "./types.ts";

/** Most tool-calling rounds one worker may take before it must answer. */
const MAX_AGENT_STEPS = 6;

const WorkerState = Annotation.Root({
  ...MessagesAnnotation.spec,
  input: Annotation<WorkerInput>(),
  output: Annotation<WorkerOutput | null>({ reducer: (_a, b) => b, default: () => null }),
});
type WorkerStateType = typeof WorkerState.State;

/** Lets an LLM worker hand the conversation to a person when it cannot finish. */
const escalateTool = defineTool(
  {
    name: "escalate_to_human",
    description: "Hand the conversation to a person on the support team when you cannot finish (a bug an engineer must look at, an approval, anything your tools cannot do).",
    schema: z.object({ reason: z.string().min(1).max(300) }),
  },
  async ({ reason }) => ({
    text: "A person on the support team will take over this conversation. Tell the user so, briefly.",
    signal: { signal: "escalate", reason },
  }),
);

/**
 * Lets an LLM worker say that the question is not one it can answer, so the supervisor offers
 * it to another worker (and then a person) instead of the user reading "I don't know".
 */
const declineTool = defineTool(
  {
    name: "cannot_answer",
    description: "Say that this question is not one you can answer: your tools and the knowledge base have nothing on it, or it belongs to another team. Another specialist (or a person) will take it.",
    schema: z.object({ reason: z.string().min(1).max(300) }),
  },
  async ({ reason }) => ({
    text: "Another specialist will take this question. Reply with one short sentence saying so; do not answer it yourself.",
    signal: { signal: "decline", reason },
  }),
);

/**
 * The findings of the steps this one waits for, as the model reads them: data, not the other
 * workers' prose to copy (their replies go to the user on their own).
 */
export function stepInputsText(inputs: WorkerInput["inputs"]): string | undefined {
  if (!inputs?.length) return undefined;
  const data = inputs.map((i) => ({ step: i.step, worker: i.worker, question: i.question, status: i.status, facts: i.facts }));
  return `Findings of the steps this part waits for (JSON; use them, do not repeat them):\n${JSON.stringify(data)}`;
}

/**
 * Runs one worker as a LangGraph subgraph: with a chat model, a tool-calling agent loop
 * (agent ⇄ tools, ending at the tools when the worker's `answerFromTools` finds their results
 * are the answer); without one, the worker's offline answer over the same tools. Compiled once
 * per worker; invoked once per task.
 */
export class WorkerRunner {
  private readonly offlineGraph;
  private readonly llmGraph;
  /**
   * The compiled subgraphs this runner invokes (`<name>_offline` always, then `<name>_agent` with
   * a model), for the supervisor to register on the worker's node so LangGraph knows them. The
   * agent comes last because an `xray` drawing shows a node's last subgraph.
   */
  readonly subgraphs;

  constructor(
    readonly def: WorkerDefinition,
    private readonly deps: WorkerDeps,
    model: BaseChatModel | undefined,
  ) {
    const tools = def.tools(deps);
    this.offlineGraph = new StateGraph(WorkerState)
      .addNode("answer", async (s: WorkerStateType, config) => {
        const kit = toolKit(tools, config.configurable as unknown as ToolRunConfig);
        return { output: await def.answerOffline(s.input, kit, deps) };
      })
      .addEdge(START, "answer")
      .addEdge("answer", END)
      // Worker runs are not resumable units: no checkpoints of their own in the supervisor's saver.
      .compile({ name: `${def.name}_offline`, checkpointer: false });

    this.llmGraph = model ? this.buildLlmGraph(model, [...tools, escalateTool, declineTool]) : undefined;
    this.subgraphs = this.llmGraph ? [this.offlineGraph, this.llmGraph] : [this.offlineGraph];
  }

  private buildLlmGraph(model: BaseChatModel, tools: ReturnType<WorkerDefinition["tools"]>) {
    if (!model.bindTools) throw new Error(`the chat model cannot call tools, which the ${this.def.name} worker needs`);
    const bound = model.bindTools(tools);
    const def = this.def;
    const deps = this.deps;
    const kb = deps.knowledge;
    const toolNode = new ToolNode(tools);
    return new StateGraph(WorkerState)
      .addNode("agent", async (s: WorkerStateType, config) => {
        const prompt: BaseMessage[] = [
          new SystemMessage(def.systemPrompt),
          ...s.input.history.map((h) => (h.role === "user" ? new HumanMessage(h.text) : new AIMessage(h.text))),
          new HumanMessage(
            [
              s.input.question === s.input.message
                ? s.input.question
                : `${s.input.question}\n\n(Answer only this part. The whole message was: "${s.input.message}")`,
              stepInputsText(s.input.inputs),
            ].filter(Boolean).join("\n\n"),
          ),
          ...s.messages,
        ];
        const steps = s.messages.filter((m) => m.getType() === "ai").length;
        const runnable = steps >= MAX_AGENT_STEPS ? model : bound;
        // The run's own cancellation (its budget ran out) aborts the model call too, and no new
        // round starts once it fired: a run that timed out stops calling tools.
        const cancelled = (config.configurable as Partial<ToolRunConfig> | undefined)?.cancelled;
        if (cancelled?.aborted) throw cancelled.reason instanceof Error ? cancelled.reason : new Error("the worker's run was cancelled");
        return { messages: [await runnable.invoke(prompt, cancelled ? { ...config, signal: cancelled } : config)] };
      })
      .addNode("tools", async (s: WorkerStateType, config) => {
        const ran = (await toolNode.invoke(s, config)) as { messages: BaseMessage[] } | BaseMessage[];
        const messages = Array.isArray(ran) ? ran : ran.messages;
        // When what the tools returned is the answer, the worker gives it as is: no second model call.
        const direct = def.answerFromTools?.(roundOf(s.messages.at(-1), messages), s.input, deps);
        return direct ? { messages, output: withHandoff(direct, [...s.messages, ...messages]) } : { messages };
      })
      .addNode("finish", (s: WorkerStateType) => {
        const last = s.messages.at(-1);
        const reply = typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "");
        return { output: outputFromAgent(reply, s.messages, citedSources(reply, kb)) };
      })
      .addEdge(START, "agent")
      .addConditionalEdges("agent", (s: WorkerStateType) => {
        const last = s.messages.at(-1) as AIMessage | undefined;
        return last?.tool_calls?.length ? "tools" : "finish";
      })
      .addConditionalEdges("tools", (s: WorkerStateType) => (s.output ? END : "agent"))
      .addEdge("finish", END)
      .compile({ name: `${def.name}_agent`, checkpointer: false });
  }

  /**
   * Answers one task. A model failure falls back to the offline answer (recorded as
   * `llm->offline`); any other failure propagates to the supervisor's error handler. `callbacks`:
   * where no supervisor run is around it (a worker service), what observes its model calls.
   */
  async run(input: WorkerInput, signal?: AbortSignal, callbacks?: Callbacks): Promise<WorkerResult> {
    const started = performance.now();
    const base = { worker: this.def.name, question: input.question };
    let engine = this.llmGraph ? "llm" : "offline";
    let toolLog: LoggedToolCall[] = [];
    let output: WorkerOutput;
    let modelError: string | undefined;
    try {
      output = await this.invoke(this.llmGraph ?? this.offlineGraph, input, toolLog, signal, callbacks);
    } catch (err) {
      if (!this.llmGraph || signal?.aborted) throw err;
      modelError = errorMessage(err);
      engine = "llm->offline";
      toolLog = [];
      output = await this.invoke(this.offlineGraph, input, toolLog, signal, callbacks);
    }
    const { facts, ...answer } = output;
    return {
      ...base,
      ...answer,
      facts: { ...facts, toolResults: toolLog.map((t) => ({ tool: t.name, args: t.args, result: t.result })) },
      toolCalls: toolLog,
      engine,
      latencyMs: performance.now() - started,
      ...(modelError ? { error: `model failed, offline answer used: ${modelError}` } : {}),
    };
  }

  private async invoke(
    graph: { invoke: (input: { input: WorkerInput }, config: object) => Promise<WorkerStateType> },
    input: WorkerInput,
    toolLog: LoggedToolCall[],
    signal: AbortSignal | undefined,
    callbacks: Callbacks | undefined,
  ): Promise<WorkerOutput> {
    const configurable: ToolRunConfig = { caller: input.caller, toolLog, ...(signal ? { cancelled: signal } : {}) };
    // The offline graph gets its cancellation as `configurable.cancelled` only: it has one node,
    // which LangGraph could not stop once started anyway, and whose tools refuse to start once it
    // fired; the budget's own race ends the step at the deadline. A `signal` in its config cost
    // LangGraph's signal combining on every task (~0.15 ms a run) for nothing. The agent loop
    // keeps it: it stops between rounds.
    const withSignal = signal && graph !== this.offlineGraph ? { signal } : {};
    const state = await graph.invoke({ input }, { configurable, recursionLimit: MAX_AGENT_STEPS * 2 + 5, ...withSignal, ...(callbacks ? { callbacks } : {}) });
    if (!state.output) throw new Error(`worker ${this.def.name} produced no answer`);
    return state.output;
  }
}

/**
 * The offline path's tools. Each is invoked with a tool call, as the `ToolNode` does, so it
 * answers a `ToolMessage` and its signal arrives as the same artifact the LLM engine reads.
 */
function toolKit(tools: ReturnType<WorkerDefinition["tools"]>, configurable: ToolRunConfig): ToolKit {
  let calls = 0;
  // Without tracing nothing listens for the offline engine's tool runs (model calls are recorded
  // from chat-model events, streaming does not go through callbacks): the call leaves out the
  // graph's callbacks (an empty list replaces the inherited ones), so LangChain starts no tool run
  // in their handlers for it (~0.1 ms a call).
  const quiet = isUntraced() ? { callbacks: [] } : {};
  const run: ToolKit["run"] = async (name, args = {}) => {
    const t = tools.find((x) => x.name === name);
    if (!t) throw new Error(`no tool named ${name}`);
    const out: unknown = await t.invoke({ type: "tool_call", id: `offline_${++calls}`, name, args }, { configurable, ...(configurable.cancelled ? { signal: configurable.cancelled } : {}), ...quiet });
    if (!ToolMessage.isInstance(out)) return { text: String(out) };
    const signal = signalOf(out.artifact);
    return signal ? { text: out.text, signal } : { text: out.text };
  };
  return { run, call: async (name, args) => (await run(name, args)).text };
}

/** The model's last round of tool calls with what each returned, in the order it made them. */
function roundOf(call: BaseMessage | undefined, results: readonly BaseMessage[]): ToolRoundCall[] {
  const calls = call && AIMessage.isInstance(call) ? (call.tool_calls ?? []) : [];
  return calls.flatMap((c) => {
    const m = results.find((r) => ToolMessage.isInstance(r) && r.tool_call_id === c.id) as ToolMessage | undefined;
    if (!m) return [];
    const signal = signalOf(m.artifact);
    return [{ name: c.name, args: c.args, text: m.text, ...(signal ? { signal } : {}) }];
  });
}

/** A worker's answer from its tool results, handed to a person when any tool of its run signalled so. */
function withHandoff(output: WorkerOutput, messages: BaseMessage[]): WorkerOutput {
  if (output.status !== "ok") return output;
  const handoff = handoffFromSignals(signalsIn(messages));
  return handoff ? { ...output, status: "needs_human", handoff } : output;
}

/** The agent's answer, handed to a person when a tool signalled so (an approval, an escalation). */
function outputFromAgent(reply: string, messages: BaseMessage[], sources: WorkerOutput["sources"]): WorkerOutput {
  const signals = signalsIn(messages);
  const handoff = handoffFromSignals(signals);
  if (handoff) return { status: "needs_human", reply, sources, handoff };
  const declined = signals.find((x) => x.signal === "decline");
  return declined ? { status: "declined", reply, sources, facts: { declined: declined.reason } } : { status: "ok", reply, sources };
}
