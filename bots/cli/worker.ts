import Fastify, { type FastifyInstance } from "fastify";
import { createApp, type AppOverrides } from "../../src/app.ts";
import { describeConfig, type Config } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";
import { checkHealth } from "../../src/health/health.ts";
import type { Logger } from "../../src/logger.ts";
import { listenError, loadPlatforms, logUnhandledRejections, stopOnSignals, usesChatPlatforms } from "./serve.ts";

export interface WorkerOptions {
  /** Serve `/healthz` and `/metrics` on this port. Default: no HTTP server. */
  port?: number | undefined;
  /** Seams for tests and embedders (a scripted supervisor, say; a scripted worker for a step service). */
  overrides?: AppOverrides;
  /**
   * `--agents`: the workers this process runs. Without `turns`, it is their service: it takes
   * only their delegated steps, no messages. Default: `AGENTS`; unset: a message worker running
   * every worker in-process.
   */
  agents?: string[] | undefined;
  /**
   * `--turns`: with `agents`, also answer messages, as a worker without `--agents` does, running
   * the listed workers here and delegating the others' steps. Default false.
   */
  turns?: boolean | undefined;
}

/**
 * `switchboard worker`: takes jobs from the shared queue and answers them; receives nothing. Any
 * number of workers (and gateways) run against one Postgres. Replies go out through the adapters'
 * `deliver` (Slack's Web API, Discord's REST API), which needs no gateway connection: the adapters
 * are built here but never started. Stops on SIGTERM/SIGINT: no new jobs, running ones finish
 * within the grace time or go back to the queue for another worker.
 */
export async function work(config: Config, logger: Logger, options: WorkerOptions = {}): Promise<void> {
  const agents = options.agents ?? config.agents;
  if (agents && !options.turns) return serveSteps(config, logger, agents, options);
  if (agents) config = { ...config, agents };
  const needsSharedQueue = "switchboard worker takes jobs from the shared queue: it needs DATABASE_URL (and JOB_QUEUE unset or postgres); on embedded Postgres run `switchboard serve`";
  // Said before anything is opened or printed: the start-up lines would suggest it was starting.
  if (!config.databaseUrl && config.jobQueue !== "postgres") throw new ConfigError(needsSharedQueue);
  logUnhandledRejections(logger);
  for (const line of describeConfig(config)) logger.info(line);
  const app = await createApp(config, logger, { ...options.overrides, startWorker: false });
  if (app.queue.kind === "memory") {
    await app.close();
    throw new ConfigError(needsSharedQueue);
  }
  // Signals are handled from here on: a job may start as soon as the worker does.
  let http: FastifyInstance | undefined;
  const stopping = stopOnSignals(logger, "no new jobs, finishing the running ones", async () => {
    await http?.close();
    await app.close();
  });

  const platforms = usesChatPlatforms(config) ? await loadPlatforms() : undefined;
  for (const adapter of platforms?.createPlatformAdapters(app, config, logger, "send").adapters ?? []) app.outbox.attach(adapter);
  // Handoffs opened while answering are announced to the staff channel from here.
  platforms?.attachStaffChannels(app, config, logger);

  if (options.port !== undefined) {
    http = await healthServer(config.host, options.port, logger, "worker health and metrics", {
      health: async () => {
        const health = await checkHealth(app, { requireQueue: true });
        return { ...health, role: "worker", workerId: app.queue.workerId ?? null };
      },
      metrics: app.metrics,
      close: () => app.close(),
    });
  }
  if (stopping()) return;
  await app.startWorker();
  await app.intake.recover();
  logger.info({ workerId: app.queue.workerId, concurrency: config.workerConcurrency }, "Switchboard worker is taking jobs");
}

/**
 * `switchboard worker --agents billing[,…]`: the service of those workers. It takes their delegated
 * steps from the shared queue (graphile-worker tasks `step:<worker>`) and nothing else, and is the
 * only process that needs their own settings (BILLING_DATABASE_URL). Stops on SIGTERM/SIGINT: no
 * new steps, running ones finish (each is bounded by its message's budget).
 */
async function serveSteps(config: Config, logger: Logger, agents: readonly string[], options: WorkerOptions): Promise<void> {
  logUnhandledRejections(logger);
  for (const line of describeConfig(config)) logger.info(line);
  const { startStepService } = await import("../../src/steps/start-step-service.ts");
  const o = options.overrides ?? {};
  const running = await startStepService(config, logger, agents, {
    ...(o.workers ? { workers: o.workers } : {}),
    ...(o.model ? { model: o.model } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
  let http: FastifyInstance | undefined;
  stopOnSignals(logger, "no new steps, finishing the running ones", async () => {
    await http?.close();
    await running.close();
  });
  if (options.port !== undefined) {
    http = await healthServer(config.host, options.port, logger, "step service health and metrics", {
      health: async () => {
        const health = await checkHealth({ db: running.db, queue: { kind: "postgres", healthy: () => running.service.healthy() }, modelHealth: running.modelHealth }, { requireQueue: true });
        return { ...health, role: "steps", workers: running.service.workers, workerId: running.service.workerId ?? null };
      },
      metrics: running.metrics,
      close: () => running.close(),
    });
  }
  logger.info({ workers: running.service.workers, workerId: running.service.workerId, concurrency: config.workerConcurrency }, `Switchboard ${running.service.workers.join(", ")} service is taking steps`);
}

/**
 * A worker process's `/healthz` (503 when not ok) and `/metrics`, listening before the process
 * takes work: a worker that cannot serve its health check must not run unseen. On a listen error
 * the process's work is closed and the error says which address was taken.
 */
async function healthServer(
  host: string,
  port: number,
  logger: Logger,
  label: string,
  o: { health: () => Promise<{ ok: boolean }>; metrics: { registry: { contentType: string; metrics(): Promise<string> } }; close: () => Promise<void> },
): Promise<FastifyInstance> {
  const http = Fastify({ logger: false });
  http.get("/healthz", async (_req, reply) => {
    const health = await o.health();
    return reply.status(health.ok ? 200 : 503).send(health);
  });
  http.get("/metrics", async (_req, reply) => {
    reply.header("content-type", o.metrics.registry.contentType);
    return o.metrics.registry.metrics();
  });
  try {
    const address = await http.listen({ port, host });
    logger.info({ address }, label);
    return http;
  } catch (err) {
    await http.close().catch(() => {});
    await o.close();
    throw listenError(err, host, port);
  }
}
