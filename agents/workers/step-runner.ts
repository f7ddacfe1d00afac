import type { Callbacks } from "@langchain/core/callbacks/manager";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { WorkerDefinition, WorkerDeps, WorkerInput, WorkerResult } from "./types.ts";
import { WorkerRunner } from "./worker-graph.ts";

/**
 * Where a worker's step runs: the port between the supervisor's worker node and the worker.
 * In this process (`InProcessSteps`, the default), or delegated through the shared queue to a
 * process that runs that worker (`QueuedSteps`, src/steps/). Either way the call is the same and
 * runs inside the message's budget (`runWithinBudget`): `signal` fires when the budget runs out
 * or the turn is cancelled, `deadline` is when (epoch ms).
 */
export interface StepRunner {
  /**
   * Runs one step of `worker`. Throws on a failure (the budget may retry it). `messageId`: the
   * message the step answers, for the record.
   */
  run(worker: string, input: WorkerInput, signal: AbortSignal, deadline: number, messageId?: string): Promise<WorkerResult>;
  /** The worker's compiled subgraphs when it runs in this process (LangGraph lists them on its node); none when delegated. */
  subgraphs(worker: string): WorkerRunner["subgraphs"] | [];
  /**
   * What a step of `worker` that ran out of budget did not do, for the timeout's reason: "did not
   * finish" in this process, "the billing service did not answer" when delegated. Default the former.
   */
  timeoutText?(worker: string): string;
}

/** Every step in this process: one compiled {@link WorkerRunner} per worker (today's behaviour). */
export class InProcessSteps implements StepRunner {
  readonly #runners: Map<string, WorkerRunner>;

  constructor(workers: readonly WorkerDefinition[], deps: WorkerDeps | ((w: WorkerDefinition) => WorkerDeps), model: BaseChatModel | undefined) {
    const depsOf = typeof deps === "function" ? deps : () => deps;
    this.#runners = new Map(workers.map((w) => [w.name, new WorkerRunner(w, depsOf(w), model)]));
  }

  /** Whether `worker` runs here. */
  has(worker: string): boolean {
    return this.#runners.has(worker);
  }

  get names(): string[] {
    return [...this.#runners.keys()];
  }

  run(worker: string, input: WorkerInput, signal: AbortSignal, _deadline?: number, _messageId?: string, callbacks?: Callbacks): Promise<WorkerResult> {
    const runner = this.#runners.get(worker);
    if (!runner) return Promise.reject(new Error(`the ${worker} worker does not run in this process`));
    return runner.run(input, signal, callbacks);
  }

  subgraphs(worker: string): WorkerRunner["subgraphs"] | [] {
    return this.#runners.get(worker)?.subgraphs ?? [];
  }
}
