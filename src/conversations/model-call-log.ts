import type pg from "pg";
import type { ModelCall, ModelCallSink } from "../../agents/engines/model-calls.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";

/**
 * `model_calls`: every chat-model call, next to the worker runs of its message, and its tokens in
 * `switchboard_model_tokens_total`. Written without holding up the turn (the model call took far
 * longer than the insert); a row that cannot be written is logged, never a failed answer.
 */
export class ModelCallLog implements ModelCallSink {
  readonly #pending = new Set<Promise<void>>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  record(call: ModelCall): void {
    const label = call.stage === "worker" ? (call.worker ?? "worker") : call.stage;
    if (call.promptTokens) this.metrics.modelTokens.inc({ worker: label, kind: "prompt" }, call.promptTokens);
    if (call.completionTokens) this.metrics.modelTokens.inc({ worker: label, kind: "completion" }, call.completionTokens);
    const write = this.pool
      .query(
        `insert into model_calls (message_id, stage, worker, model, prompt_tokens, completion_tokens, latency_ms, outcome, error)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [call.messageId, call.stage, call.worker, call.model, call.promptTokens, call.completionTokens, call.latencyMs, call.outcome, call.error],
      )
      .then(
        () => {},
        (err: unknown) => this.logger.warn({ stage: call.stage, worker: call.worker, err: errorMessage(err) }, "could not record a model call"),
      );
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
  }

  /** Waits for the rows being written (before the database closes). */
  async flush(): Promise<void> {
    await Promise.all(this.#pending);
  }
}
