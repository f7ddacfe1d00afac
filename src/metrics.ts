import client from "prom-client";

/** What the handoff gauges show: unresolved handoffs by state, and how long the oldest unclaimed one has waited. */
export interface HandoffStats {
  byState: Partial<Record<"open" | "claimed", number>>;
  oldestWaitingSeconds: number;
}

/** Prometheus metrics, on their own registry so tests and several apps in one process do not collide. */
export class Metrics {
  readonly registry = new client.Registry();
  readonly messages = new client.Counter({ name: "switchboard_messages_total", help: "Inbound messages by platform and outcome", labelNames: ["platform", "outcome"], registers: [this.registry] });
  readonly routes = new client.Counter({ name: "switchboard_routes_total", help: "Routes taken, by route and engine", labelNames: ["route", "engine"], registers: [this.registry] });
  readonly routingLatency = new client.Histogram({ name: "switchboard_routing_latency_seconds", help: "Routing decision latency", labelNames: ["engine"], buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly workerLatency = new client.Histogram({ name: "switchboard_worker_latency_seconds", help: "Worker run latency", labelNames: ["worker", "status"], buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30], registers: [this.registry] });
  readonly replyLatency = new client.Histogram({ name: "switchboard_reply_latency_seconds", help: "From receipt to reply", buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers: [this.registry] });
  readonly handoffs = new client.Counter({ name: "switchboard_handoffs_total", help: "Handoffs opened, by reason", labelNames: ["reason"], registers: [this.registry] });
  readonly errors = new client.Counter({ name: "switchboard_errors_total", help: "Errors by stage", labelNames: ["stage"], registers: [this.registry] });
  /** Jobs by state, read from the queue at each scrape (see `observeQueue`); across all processes for the Postgres queue. */
  readonly queueDepth = new client.Gauge({
    name: "switchboard_queue_depth",
    help: "Inbox jobs by state: ready (waiting for a worker), scheduled (waiting out a retry backoff), running, failed (out of attempts)",
    labelNames: ["state"],
    registers: [this.registry],
    collect: async () => {
      if (!this.#depth) return;
      try {
        const depth = await this.#depth();
        for (const [state, n] of Object.entries(depth)) this.queueDepth.set({ state }, n);
      } catch {
        // The database is unreachable: leave the last values; /healthz reports it.
      }
    },
  });
  readonly jobLatency = new client.Histogram({ name: "switchboard_job_latency_seconds", help: "From receipt of a message to the end of its job (queue wait and retries included), by result", labelNames: ["result"], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120], registers: [this.registry] });
  readonly jobRetries = new client.Counter({ name: "switchboard_job_retries_total", help: "Job attempts that failed and were scheduled again with a backoff", registers: [this.registry] });
  readonly jobFailures = new client.Counter({ name: "switchboard_job_failures_total", help: "Messages whose last attempt failed; each went to a person", registers: [this.registry] });
  readonly modelCalls = new client.Counter({ name: "switchboard_model_calls_total", help: "Model calls by result (ok, failed after the client's retries)", labelNames: ["result"], registers: [this.registry] });
  /** Tokens of the chat model's calls; `worker` is the worker's name, or `router` / `merge` for those stages. */
  readonly modelTokens = new client.Counter({ name: "switchboard_model_tokens_total", help: "Model tokens by worker (or router, merge) and kind (prompt, completion)", labelNames: ["worker", "kind"], registers: [this.registry] });
  readonly modelFallbacks = new client.Counter({ name: "switchboard_model_fallbacks_total", help: "Answers or routing decisions the offline engine made because the model failed, by stage (routing, worker)", labelNames: ["stage"], registers: [this.registry] });
  readonly outboxDeliveries = new client.Counter({ name: "switchboard_outbox_deliveries_total", help: "Outbound delivery attempts by platform and result: sent, retry, failed (given up), no_adapter (this process cannot reach the platform)", labelNames: ["platform", "result"], registers: [this.registry] });
  /** Outbound messages not delivered yet, read from the database at each scrape (see `observeOutbox`). */
  readonly outboxUndelivered = new client.Gauge({
    name: "switchboard_outbox_undelivered",
    help: "Outbound messages not delivered yet, by platform and status (pending, sending, retry, no_adapter), across all processes",
    labelNames: ["platform", "status"],
    registers: [this.registry],
    collect: async () => {
      if (!this.#undelivered) return;
      try {
        const rows = await this.#undelivered();
        this.outboxUndelivered.reset();
        for (const r of rows) this.outboxUndelivered.set({ platform: r.platform, status: r.status }, r.count);
      } catch {
        // The database is unreachable: leave the last values; /healthz reports it.
      }
    },
  });
  /** Unresolved handoffs, read from the database at each scrape (see `observeHandoffs`). */
  readonly handoffsOpen = new client.Gauge({
    name: "switchboard_handoffs_open",
    help: "Unresolved handoffs by state: open (waiting for a person to claim it), claimed (a person has it), across all processes",
    labelNames: ["state"],
    registers: [this.registry],
    collect: async () => {
      await this.#collectHandoffs();
    },
  });
  readonly oldestWaitingHandoff = new client.Gauge({
    name: "switchboard_handoff_oldest_waiting_seconds",
    help: "Age of the oldest handoff nobody has claimed yet, in seconds (0 when none waits)",
    registers: [this.registry],
    collect: async () => {
      await this.#collectHandoffs();
    },
  });
  #depth: (() => Promise<Record<string, number>>) | undefined;
  #handoffStats: (() => Promise<HandoffStats>) | undefined;
  /** One query per scrape for both handoff gauges. */
  #handoffScrape: Promise<void> | undefined;
  #undelivered: (() => Promise<Array<{ platform: string; status: string; count: number }>>) | undefined;

  constructor() {
    // Node's default metrics under their standard names (process_cpu_seconds_total, nodejs_*),
    // which stock Node.js dashboards and alerts expect; the service's own are switchboard_*.
    client.collectDefaultMetrics({ register: this.registry });
  }

  /** Where `switchboard_queue_depth` comes from. */
  observeQueue(depth: () => Promise<Record<string, number>>): void {
    this.#depth = depth;
  }

  /** Where `switchboard_handoffs_open` and `switchboard_handoff_oldest_waiting_seconds` come from. */
  observeHandoffs(stats: () => Promise<HandoffStats>): void {
    this.#handoffStats = stats;
  }

  #collectHandoffs(): Promise<void> {
    if (!this.#handoffStats) return Promise.resolve();
    const read = this.#handoffStats;
    this.#handoffScrape ??= (async () => {
      try {
        const stats = await read();
        for (const state of ["open", "claimed"] as const) this.handoffsOpen.set({ state }, stats.byState[state] ?? 0);
        this.oldestWaitingHandoff.set(stats.oldestWaitingSeconds);
      } catch {
        // The database is unreachable: leave the last values; /healthz reports it.
      } finally {
        // The next scrape reads again; this one's two gauges shared one read.
        setImmediate(() => (this.#handoffScrape = undefined));
      }
    })();
    return this.#handoffScrape;
  }

  /** Where `switchboard_outbox_undelivered` comes from. */
  observeOutbox(undelivered: () => Promise<Array<{ platform: string; status: string; count: number }>>): void {
    this.#undelivered = undelivered;
  }
}
