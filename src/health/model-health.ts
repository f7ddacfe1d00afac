import type pg from "pg";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";

/** `off`: no model configured; `ok`: the last model call worked; `degraded`: recent calls fail. */
export type ModelState = "off" | "ok" | "degraded";

export interface ModelHealthOptions {
  pool: pg.Pool;
  logger: Logger;
  metrics: Metrics;
  /** Whether a model is configured at all. */
  enabled: boolean;
  /** Told once per change across all processes: the model went down (with why), or came back. */
  onChange?: (change: { state: "ok" | "degraded"; detail: string }) => void;
}

/**
 * Whether model calls work, as this process sees them (each call after the client's own retries),
 * and across processes in `service_state`. The bot goes on answering with the offline engine
 * while the model fails; this makes the outage visible: `/healthz` says `degraded`, `/metrics`
 * counts the failed calls, and the staff channel is told once when it goes down and once when it
 * is back (by the process whose write changed the shared state).
 */
export class ModelHealth {
  readonly #o: ModelHealthOptions;
  readonly #log: Logger;
  #state: ModelState;
  /** Whether this process has seen a model call yet (the shared state may be left from before). */
  #seen = false;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: ModelHealthOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "model-health" });
    this.#state = options.enabled ? "ok" : "off";
  }

  state(): ModelState {
    return this.#state;
  }

  /** A model call succeeded. */
  succeeded(): void {
    this.#o.metrics.modelCalls.inc({ result: "ok" });
    this.#set("ok", "");
  }

  /** A model call failed (after the client's retries). Cancellations are not failures. */
  failed(err: unknown): void {
    this.#o.metrics.modelCalls.inc({ result: "failed" });
    this.#set("degraded", errorMessage(err).slice(0, 300));
  }

  /** Resolves when the shared state is written (tests). */
  settled(): Promise<void> {
    return this.#writing;
  }

  #set(state: "ok" | "degraded", detail: string): void {
    if (this.#state === "off" || (this.#seen && this.#state === state)) return;
    this.#seen = true;
    const previous = this.#state;
    this.#state = state;
    if (state === "degraded") this.#log.warn({ err: detail }, "model calls are failing; answering with the offline engine");
    else if (previous === "degraded") this.#log.info("model calls work again");
    this.#writing = this.#writing.then(() => this.#share(state, detail)).catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, "could not record the model's state"));
  }

  /** Writes the state; tells `onChange` only when this write changed it. */
  async #share(state: "ok" | "degraded", detail: string): Promise<void> {
    const r = await this.#o.pool.query<{ previous: string | null }>(
      `with old as (select value from service_state where name = 'model')
       insert into service_state (name, value, detail) values ('model', $1, $2)
       on conflict (name) do update set value = excluded.value, detail = excluded.detail, changed_at = now()
         where service_state.value <> excluded.value
       returning (select value from old) as previous`,
      [state, detail],
    );
    const changed = r.rows[0];
    if (!changed) return;
    // The first word about the model is news only when it is bad.
    if (state === "degraded" || changed.previous === "degraded") this.#o.onChange?.({ state, detail });
  }
}
