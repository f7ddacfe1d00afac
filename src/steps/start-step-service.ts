import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { loadKnowledgeBase } from "../../agents/knowledge/knowledge-base.ts";
import { WorkerRegistry } from "../../agents/workers/registry.ts";
import { InProcessSteps } from "../../agents/workers/step-runner.ts";
import type { WorkerDefinition } from "../../agents/workers/types.ts";
import type { Config } from "../config.ts";
import { openDatabase, type Database } from "../db/database.ts";
import { migrate } from "../db/migrate.ts";
import { ConfigError } from "../errors.ts";
import { ModelCallLog } from "../conversations/model-call-log.ts";
import { ModelHealth } from "../health/model-health.ts";
import { GraphileJobQueue } from "../inbox/graphile-queue.ts";
import type { Logger } from "../logger.ts";
import { Metrics } from "../metrics.ts";
import { StepService } from "./step-service.ts";
import { localWorkers, openWorkerDeps } from "./worker-services.ts";

/** Seams for tests and embedders: the workers (a scripted billing), the model, the clock. */
export interface StepServiceOverrides {
  workers?: readonly WorkerDefinition[];
  model?: BaseChatModel;
  now?: () => Date;
}

/** A started step service and what it stands on. */
export interface RunningStepService {
  service: StepService;
  db: Database;
  metrics: Metrics;
  modelHealth: ModelHealth;
  close(): Promise<void>;
}

/**
 * The composition of `switchboard worker --agents billing[,…]`: the shared database (migrated,
 * with graphile-worker's schema), the listed workers with what they need (the knowledge base,
 * the model when one is configured, a database of their own such as BILLING_DATABASE_URL), and
 * a {@link StepService} taking their delegated steps. No router, no supervisor, no inbox: this
 * process answers no message, only the steps of its workers.
 */
export async function startStepService(config: Config, logger: Logger, agents: readonly string[], overrides: StepServiceOverrides = {}): Promise<RunningStepService> {
  const registry = new WorkerRegistry(overrides.workers);
  const workers = localWorkers(agents, registry, "--agents (or AGENTS)")!;
  if (!config.databaseUrl) {
    throw new ConfigError(`switchboard worker --agents ${agents.join(",")} takes its workers' steps from the shared queue: it needs a Postgres server (DATABASE_URL). On the embedded database every worker runs inside \`switchboard serve\`.`);
  }
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger: logger.child({ component: "db" }) });
  let closeDeps: (() => Promise<void>) | undefined;
  let queueDb: Database | undefined;
  try {
    await migrate(db.pool);
    await GraphileJobQueue.installSchema(db.pool, logger, false);
    const knowledge = await loadKnowledgeBase(config.knowledgeDir, { cacheDir: config.cacheDir });
    const metrics = new Metrics();
    const modelHealth = new ModelHealth({ pool: db.pool, logger, metrics, enabled: Boolean(overrides.model) || config.llmEnabled });
    const llm = !overrides.model && config.llmEnabled ? await import("../../agents/engines/llm.ts") : undefined;
    const model = overrides.model ?? llm?.createChatModel(config, modelHealth);
    const deps = await openWorkerDeps(config, workers, { pool: db.pool, knowledge, config, now: overrides.now ?? (() => new Date()) }, logger);
    closeDeps = deps.close;
    // The queue's own connections (graphile-worker's fetches and completions, the step rows, the
    // heartbeat): transient state whose commits need not wait for the WAL flush (see step-store.ts).
    // The workers' tools use `db` (or their own database), whose writes stay synchronous.
    queueDb = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      logger: logger.child({ component: "db", pool: "steps" }),
      max: config.workerConcurrency + 3,
      sessionOptions: "-c synchronous_commit=off",
    });
    // Recorded in the shared database, where the supervisor records the message's other calls.
    const modelCalls = model ? new ModelCallLog(db.pool, logger, metrics) : undefined;
    const service = new StepService({
      modelCalls,
      pool: queueDb.pool,
      logger,
      steps: new InProcessSteps(workers, deps.depsOf, model),
      concurrency: config.workerConcurrency,
      leaseMs: config.workerLeaseMs,
    });
    await service.start();
    return {
      service,
      db,
      metrics,
      modelHealth,
      close: async () => {
        await service.stop();
        await modelCalls?.flush();
        await deps.close();
        await queueDb?.close();
        await db.close();
      },
    };
  } catch (err) {
    await closeDeps?.().catch(() => {});
    await queueDb?.close().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}
