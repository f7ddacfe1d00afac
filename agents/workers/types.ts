import type { StructuredToolInterface } from "@langchain/core/tools";
import type { RunnableConfig } from "@langchain/core/runnables";
import type pg from "pg";
import type { Config } from "../../src/config.ts";
import type { HandoffReason, Platform, SourceRef } from "../../src/types.ts";
import type { KnowledgeBase } from "../knowledge/knowledge-base.ts";
import type { LoggedToolCall, ToolOutcome } from "./tool-signals.ts";

/**
 * Who is asking, as the service knows it (never as the user or model claims it). Tools read
 * this from `config.configurable.caller`, so a model cannot name another customer.
 */
export interface Caller {
  platform: Platform;
  userId: string;
  /** The customer linked to this platform account; null when the account is not linked. */
  customerId: string | null;
  conversationId: string;
}

/** What every worker gets from the composition root. */
export interface WorkerDeps {
  pool: pg.Pool;
  knowledge: KnowledgeBase;
  config: Pick<Config, "refundApprovalLimit">;
  now: () => Date;
}

/** One worker's task for one message. */
export interface WorkerInput {
  /** The part of the message this worker answers. */
  question: string;
  /** The whole message, for context. */
  message: string;
  /** Recent turns of the conversation, oldest first, for context. */
  history: Array<{ role: "user" | "assistant"; text: string }>;
  caller: Caller;
}

export interface WorkerOutput {
  status: "ok" | "needs_human";
  reply: string;
  sources: SourceRef[];
  /** When the worker cannot finish: why a person must take over. */
  handoff?: { reason: HandoffReason; detail: string };
}

export interface WorkerResult extends Omit<WorkerOutput, "status"> {
  worker: string;
  question: string;
  status: "ok" | "needs_human" | "failed" | "timeout";
  toolCalls: LoggedToolCall[];
  error?: string;
  latencyMs: number;
  /** `llm`, `offline`, or `llm->offline` when the model failed and the offline path answered. */
  engine: string;
}

/** The offline path's view of the worker's tools: call them by name. */
export interface ToolKit {
  /** The tool's text result, as a model would read it. */
  call(name: string, args?: Record<string, unknown>): Promise<string>;
  /**
   * The tool's text and the signal it raised, if any: the same structured value the LLM engine
   * reads from the tool message's artifact.
   */
  run(name: string, args?: Record<string, unknown>): Promise<ToolOutcome>;
}

/**
 * A worker, as the registry knows it. Adding a worker is a folder exporting one of these and a
 * line in `registry.ts`; the supervisor reads everything it needs from here.
 */
export interface WorkerDefinition {
  /** Route name, e.g. `billing`. */
  name: string;
  /** Section heading when several workers answer one message. */
  title: string;
  /** What it handles; the LLM router reads this. */
  description: string;
  /** Example utterances: the offline router trains on them, the LLM router sees a few. */
  examples: string[];
  /** The system prompt of its tool-calling agent (LLM engine). */
  systemPrompt: string;
  /** Its tools. They read the caller from `config.configurable.caller`. */
  tools(deps: WorkerDeps): StructuredToolInterface[];
  /** The offline engine's answer: deterministic use of the same tools and the knowledge base. */
  answerOffline(input: WorkerInput, tools: ToolKit, deps: WorkerDeps): Promise<WorkerOutput>;
  /** SQL that loads this worker's demo data into a new embedded database. */
  demoSql?: string;
}

/** The per-run values tools see in `config.configurable`. */
export interface ToolRunConfig {
  caller: Caller;
  /** Tools append what they did here, for the worker-run log. */
  toolLog: LoggedToolCall[];
  /**
   * Fires when the worker's run is cancelled (its time budget ran out). Carried here, beside the
   * caller, because it must reach every tool and model call whatever LangGraph does with
   * `config.signal` in nested graphs (which did not reliably pass the abort on).
   */
  cancelled?: AbortSignal;
}

export function callerOf(config: RunnableConfig | undefined): Caller {
  const caller = (config?.configurable as Partial<ToolRunConfig> | undefined)?.caller;
  if (!caller) throw new Error("tool called without a caller in config.configurable");
  return caller;
}
