import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { LLMResult } from "@langchain/core/outputs";
import type { ModelCallRecord } from "../../src/conversations/conversation-log.ts";

/** Which part of the supervisor made a model call. */
export type ModelCallStage = ModelCallRecord["stage"];

/** One chat-model call as it ended (after the client's own retries): the stored record and its message. */
export interface ModelCall extends ModelCallRecord {
  /** The inbound message whose turn made the call; null outside a turn. */
  messageId: string | null;
}

/** Where finished model calls go (the database's `model_calls` and the token metrics). */
export interface ModelCallSink {
  record(call: ModelCall): void;
}

interface OpenCall {
  started: number;
  messageId: string | null;
  stage: ModelCallStage;
  worker: string | null;
  model: string;
}

/** Errors that mean the call was cancelled by its caller, not that the model failed. */
const CANCELLED = new Set(["AbortError", "APIUserAbortError", "WorkerTimeoutError"]);

/**
 * A LangChain callback handler for the compiled supervisor (its `callbacks`), so it sees the
 * graph's runs as well as the model's: the turn's message id comes from the graph's input
 * (`turn.messageId`) and is handed down from run to child run; the stage from the supervisor
 * node the call ran under (the first part of LangGraph's `checkpoint_ns`: `route`, `merge`, or a
 * worker's node, also inside the worker's own subgraph). With `step`, for one delegated step in a
 * worker service, where no supervisor run is around it: every call is that worker's, for that message.
 */
export function recordModelCalls(sink: ModelCallSink, workers: readonly string[], step?: { worker: string; messageId: string | null }): BaseCallbackHandler {
  const workerNames = new Set(workers);
  /** Run id → the message of its turn, for every chain run still open. */
  const messageOf = new Map<string, string | null>();
  const open = new Map<string, OpenCall>();

  const finish = (runId: string, end: { outcome: ModelCall["outcome"]; error: string | null; output?: LLMResult }) => {
    const call = open.get(runId);
    if (!call) return;
    open.delete(runId);
    const usage = end.output ? tokensOf(end.output) : { promptTokens: null, completionTokens: null };
    const { started, ...made } = call;
    sink.record({ ...made, ...usage, latencyMs: performance.now() - started, outcome: end.outcome, error: end.error });
  };
  const closeChain = (runId: string) => {
    messageOf.delete(runId);
  };

  return BaseCallbackHandler.fromMethods({
    handleChainStart(_chain, inputs, runId, parentRunId) {
      const own = (inputs as { turn?: { messageId?: unknown } } | undefined)?.turn?.messageId;
      messageOf.set(runId, typeof own === "string" ? own : parentRunId ? (messageOf.get(parentRunId) ?? null) : null);
    },
    handleChainEnd(_outputs, runId) {
      closeChain(runId);
    },
    handleChainError(_err, runId) {
      closeChain(runId);
    },
    handleChatModelStart(llm, _messages, runId, parentRunId, extraParams, _tags, metadata) {
      const node = String(metadata?.["checkpoint_ns"] ?? metadata?.["langgraph_node"] ?? "").split(/[:|]/)[0] ?? "";
      const stage: ModelCallStage = step ? "worker" : node === "route" ? "router" : node === "merge" ? "merge" : workerNames.has(node) ? "worker" : "other";
      const invocation = (extraParams as { invocation_params?: { model?: unknown; model_name?: unknown } } | undefined)?.invocation_params;
      const model = metadata?.["ls_model_name"] ?? invocation?.model ?? invocation?.model_name ?? llm.id.at(-1) ?? "unknown";
      open.set(runId, {
        started: performance.now(),
        messageId: step ? step.messageId : parentRunId ? (messageOf.get(parentRunId) ?? null) : null,
        stage,
        worker: step ? step.worker : stage === "worker" ? node : null,
        model: String(model),
      });
    },
    handleLLMEnd(output, runId) {
      finish(runId, { outcome: "ok", error: null, output });
    },
    handleLLMError(err, runId) {
      const name = (err as { name?: unknown } | undefined)?.name;
      finish(runId, { outcome: typeof name === "string" && CANCELLED.has(name) ? "cancelled" : "failed", error: err instanceof Error ? err.message : String(err) });
    },
  });
}

/** Prompt and completion tokens as the provider reported them (null when it did not). */
function tokensOf(output: LLMResult): Pick<ModelCall, "promptTokens" | "completionTokens"> {
  const generation = output.generations[0]?.[0] as { message?: { usage_metadata?: { input_tokens?: number; output_tokens?: number } } } | undefined;
  const usage = generation?.message?.usage_metadata;
  if (usage) return { promptTokens: usage.input_tokens ?? null, completionTokens: usage.output_tokens ?? null };
  const legacy = (output.llmOutput as { tokenUsage?: { promptTokens?: number; completionTokens?: number } } | undefined)?.tokenUsage;
  return { promptTokens: legacy?.promptTokens ?? null, completionTokens: legacy?.completionTokens ?? null };
}
