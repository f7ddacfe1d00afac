import type { StructuredToolInterface } from "@langchain/core/tools";
import type { RunnableConfig } from "@langchain/core/runnables";
import type pg from "pg";
import type { Config } from "../../src/config.ts";
import type { HandoffReason, Platform, SourceRef, WorkerRunStatus } from "../../src/types.ts";
import type { KnowledgeBase } from "../knowledge/knowledge-base.ts";
import type { LoggedToolCall, ToolOutcome, ToolSignal } from "./tool-signals.ts";

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
  /**
   * What the steps this one waits for found, in plan order (a routing plan's dependencies): empty
   * or absent for an independent step.
   */
  inputs?: StepInput[];
}

/**
 * What an earlier step of the message found, handed to a step that waits for it: its outcome and
 * its findings as data, beside the answer it gave the user.
 */
export interface StepInput {
  step: string;
  worker: string;
  question: string;
  status: WorkerRunStatus;
  reply: string;
  facts: StepFacts;
}

/**
 * A step's findings as data. `toolResults`: what each of its tool calls returned (every engine);
 * a worker adds its own keys (tech support's `incident`: the open incident that explains it).
 */
export interface StepFacts {
  toolResults: Array<{ tool: string; args: Record<string, unknown>; result: string }>;
  [key: string]: unknown;
}

export interface WorkerOutput {
  /**
   * `declined`: the worker cannot answer this question (nothing in its knowledge, outside its
   * tools); the supervisor offers it to the next-best worker before a person takes it.
   */
  status: "ok" | "needs_human" | "declined";
  reply: string;
  sources: SourceRef[];
  /** When the worker cannot finish: why a person must take over. */
  handoff?: { reason: HandoffReason; detail: string };
  /** Findings of its own beyond its tool results, for steps that wait for this one. */
  facts?: Record<string, unknown>;
}

export interface WorkerResult extends Omit<WorkerOutput, "status" | "facts"> {
  worker: string;
  question: string;
  status: WorkerRunStatus;
  /** The plan step this run answered. */
  step?: string;
  /** What it found, for the steps that wait for it. */
  facts?: StepFacts;
  /** Set on a run that could not answer its step and passed it on: the worker it passed it to. */
  reassignedTo?: string;
  /** Set on a run that took over a step from another worker: that worker. */
  reassignedFrom?: string;
  toolCalls: LoggedToolCall[];
  error?: string;
  latencyMs: number;
  /** `llm`, `offline`, or `llm->offline` when the model failed and the offline path answered. */
  engine: string;
}

/** One tool call of the model's last round, with what the tool returned (its text and signal). */
export interface ToolRoundCall {
  name: string;
  args: Record<string, unknown>;
  text: string;
  signal?: ToolSignal;
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
  /**
   * LLM engine: the answer when the tool calls the model just made already are it (the help
   * article that answers the question, the refund that is now requested, the account that is not
   * linked), so the worker replies without asking the model again to restate them. Called after
   * each round of tool calls; undefined (the default, and always when absent): the model writes
   * the answer from the results.
   */
  answerFromTools?(round: ToolRoundCall[], input: WorkerInput, deps: WorkerDeps): WorkerOutput | undefined;
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
