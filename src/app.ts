import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { HybridRouter, LlmRouter, createChatModel } from "../agents/engines/llm.ts";
import { loadKnowledgeBase, type KnowledgeBase } from "../agents/knowledge/knowledge-base.ts";
import { createOfflineRouter, type OfflineRouter } from "../agents/router/offline/index.ts";
import type { LabelledExample, Router } from "../agents/router/types.ts";
import { createSupervisor } from "../agents/supervisor/graph.ts";
import { WorkerRegistry } from "../agents/workers/registry.ts";
import type { WorkerDefinition } from "../agents/workers/types.ts";
import type { Config } from "./config.ts";
import { PgConversationLog } from "./conversations/pg-conversation-log.ts";
import { openDatabase, type Database } from "./db/database.ts";
import { migrate } from "./db/migrate.ts";
import { HandoffStore } from "./handoffs/handoff-store.ts";
import { Inbox } from "./inbox/inbox.ts";
import type { Logger } from "./logger.ts";
import { Metrics } from "./metrics.ts";
import { Pipeline, type SupervisorRunnable } from "./pipeline.ts";

/** Everything a running Switchboard is made of; built by `createApp`, closed by `close`. */
export interface App {
  config: Config;
  db: Database;
  log: PgConversationLog;
  handoffs: HandoffStore;
  pipeline: Pipeline;
  router: Router;
  offlineRouter: OfflineRouter;
  registry: WorkerRegistry;
  knowledge: KnowledgeBase;
  metrics: Metrics;
  logger: Logger;
  close(): Promise<void>;
}

/** Seams for tests and embedders: swap the model, the workers, the router, the clock. */
export interface AppOverrides {
  /** A chat model to use instead of ChatOpenAI (tests pass LangChain's scripted fakes). */
  model?: BaseChatModel;
  workers?: readonly WorkerDefinition[];
  router?: Router;
  now?: () => Date;
  /** Conversations processed at once. Default 8. */
  concurrency?: number;
}

/**
 * The composition root: opens the database (embedded unless DATABASE_URL), migrates, loads the
 * demo data into a new embedded database, trains the offline router, builds the model engine
 * the config asks for, and compiles the supervisor with the Postgres checkpointer.
 */
export async function createApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger: logger.child({ component: "db" }) });
  try {
    const applied = await migrate(db.pool);
    if (applied.length) logger.info({ applied }, "database migrated");
    const registry = new WorkerRegistry(overrides.workers);
    await loadDemoData(config, db, registry, logger);

    const knowledge = await loadKnowledgeBase(config.knowledgeDir);
    const examples: LabelledExample[] = registry.workers.flatMap((w) =>
      w.examples.map((text) => ({ text, route: w.name as LabelledExample["route"], source: `registry:${w.name}` })),
    );
    const offlineRouter = createOfflineRouter({ examples });
    logger.debug({ trainedOn: offlineRouter.trainedOn, trainMs: Math.round(offlineRouter.trainMs) }, "offline router trained");

    const model = overrides.model ?? (config.llmEnabled ? createChatModel(config) : undefined);
    const router = overrides.router ?? buildRouter(config, offlineRouter, model, registry);

    const checkpointer = new PostgresSaver(db.pool);
    await checkpointer.setup();
    const supervisor = createSupervisor({
      registry,
      router,
      model,
      deps: { pool: db.pool, knowledge, config, now: overrides.now ?? (() => new Date()) },
      workerTimeoutMs: config.workerTimeoutMs,
    }).compile({ checkpointer, name: "supervisor" });

    const log = new PgConversationLog(db.pool);
    const handoffs = new HandoffStore(db.pool);
    const metrics = new Metrics();
    const inbox = new Inbox(overrides.concurrency ?? 8);
    const pipeline = new Pipeline({ log, handoffs, supervisor: supervisor as unknown as SupervisorRunnable, inbox, logger, metrics });
    return {
      config,
      db,
      log,
      handoffs,
      pipeline,
      router,
      offlineRouter,
      registry,
      knowledge,
      metrics,
      logger,
      close: async () => {
        await inbox.drain();
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

function buildRouter(config: Config, offline: OfflineRouter, model: BaseChatModel | undefined, registry: WorkerRegistry): Router {
  if (config.routerMode === "offline" || !model) return offline;
  const llm = new LlmRouter(model, registry.workers, offline);
  return config.routerMode === "llm" ? llm : new HybridRouter(offline, llm, config.hybridThreshold);
}

/** Demo data goes into a new embedded database (DEMO_DATA=auto), or always with DEMO_DATA=on. */
async function loadDemoData(config: Config, db: Database, registry: WorkerRegistry, logger: Logger): Promise<void> {
  const wanted = config.demoData === "on" || (config.demoData === "auto" && db.mode === "embedded" && db.created);
  if (!wanted) return;
  for (const w of registry.workers) {
    if (w.demoSql) await db.pool.query(w.demoSql);
  }
  logger.info("demo data loaded (fictional Acme Cloud customers, invoices and incidents; DEMO_DATA=off to skip)");
}
