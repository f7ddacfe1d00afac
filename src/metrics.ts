import client from "prom-client";

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
  readonly inboxDepth = new client.Gauge({ name: "switchboard_inbox_depth", help: "Conversations with queued or running messages", registers: [this.registry] });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: "switchboard_" });
  }
}
