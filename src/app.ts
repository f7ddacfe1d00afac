import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { loadKnowledgeBase, type KnowledgeBase } from "../agents/knowledge/knowledge-base.ts";
import type { OfflineRouter } from "../agents/router/offline/index.ts";
import { RouterCorrections } from "../agents/router/corrections.ts";
import { offlineRouterFor } from "../agents/trained-router.ts";
import type { Router } from "../agents/router/types.ts";
import { compileSupervisor } from "../agents/supervisor/graph.ts";
import { WorkerRegistry } from "../agents/workers/registry.ts";
import type { WorkerDefinition } from "../agents/workers/types.ts";
import type { Config } from "./config.ts";
import { ModelCallLog } from "./conversations/model-call-log.ts";
import { PgConversationLog } from "./conversations/pg-conversation-log.ts";
import { LatestCheckpointSaver } from "./db/checkpoint-saver.ts";
import { appDatabaseOptions, openDatabase, type Database } from "./db/database.ts";
import { migrate } from "./db/migrate.ts";
import { GraphMemory, type BotMemory } from "./handoffs/bot-memory.ts";
import { HandoffService } from "./handoffs/handoff-service.ts";
import { HandoffStore } from "./handoffs/handoff-store.ts";
import { RefundApprovals, createRefundLookup } from "./handoffs/refund-approvals.ts";
import { TurnStore } from "./turns/turn-store.ts";
import { ConversationLeases } from "./inbox/conversation-leases.ts";
import { InProcessJobQueue } from "./inbox/in-process-queue.ts";
import type { JobQueue } from "./inbox/job-queue.ts";
import { OutcomeWaiter } from "./inbox/outcome-waiter.ts";
import { CHANNELS, PgListener } from "./db/pg-listener.ts";
import { InProcessSteps } from "../agents/workers/step-runner.ts";
import { QueuedSteps } from "./steps/queued-steps.ts";
import { delegationNeedsServer, localWorkers, openWorkerDeps, type WorkerDepsSet } from "./steps/worker-services.ts";
import type { Logger } from "./logger.ts";
import { Metrics } from "./metrics.ts";
import { readHandoffStats } from "./handoffs/handoff-stats.ts";
import { ModelHealth } from "./health/model-health.ts";
import { Intake } from "./inbox/intake.ts";
import { createRedactor } from "./inbox/redact.ts";
import { Outbox } from "./outbox/outbox.ts";
import { AgentDirectory } from "./staff/agent-directory.ts";
import { StaffDesk } from "./staff/staff-desk.ts";
import { SavedReplies } from "./staff/saved-replies.ts";
import { HandoffNotes } from "./handoffs/handoff-notes.ts";
import { CustomerContext } from "./handoffs/customer-context.ts";
import { InboxChanges } from "./handoffs/inbox-changes.ts";
import { CHAT_PLATFORMS, type ChannelAdapter, type Supervisor } from "./ports.ts";
import { TurnRunner } from "./turns/turn-runner.ts";
import { createHttpChannel } from "../bots/http/channel.ts";
import { createCliChannel } from "../bots/cli/channel.ts";

/** Everything a running Switchboard is made of; built by `createApp`, closed by `close`. */
export interface App {
  config: Config;
  db: Database;
  log: PgConversationLog;
  handoffs: HandoffStore;
  /** The way in: adapters submit messages here (store, queue). */
  intake: Intake;
  /** The way out: every outbound message is recorded and delivered here; adapters are attached to it. */
  outbox: Outbox;
  /** Answers queued messages (the queue's job handler). */
  turns: TurnRunner;
  /** The inbox (graphile-worker on Postgres, or in-process with JOB_QUEUE=memory). */
  queue: JobQueue;
  /**
   * Makes this process a worker: it takes jobs from the queue. Call after attaching the
   * adapters replies go out through. Done by `createApp` itself unless `startWorker: false`.
   */
  startWorker(): Promise<void>;
  /** The human handoff loop: claim, reply, resolve, staff channels, SLA (`start()` runs its timer). */
  handoffService: HandoffService;
  /** Whether model calls work (`/healthz`'s `model`). */
  modelHealth: ModelHealth;
  /** The bot's memory of each conversation (the supervisor's checkpoints). */
  memory: BotMemory;
  router: Router;
  offlineRouter: OfflineRouter;
  /** Staff corrections of the router (the console's "Teach the router"); trained on at start. */
  corrections: RouterCorrections;
  /** The support team: agents and their tokens (`switchboard agents`). */
  agents: AgentDirectory;
  /** Refunds above the approval limit, approved or rejected by a person. */
  refunds: RefundApprovals;
  /** What Slack and Discord staff do in the staff channels, as the agent they are linked to. */
  staffDesk: StaffDesk;
  /** Internal notes on handoffs (never sent to a user). */
  notes: HandoffNotes;
  /** The team's saved replies (the console's reply picker). */
  savedReplies: SavedReplies;
  /** The console's customer panel: plan, invoices, payments, incidents, earlier handoffs. */
  customerContext: CustomerContext;
  /** What the console's live view compares to see that something changed. */
  inboxChanges: InboxChanges;
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
  /** How often unclaimed handoffs are checked against the SLA, in ms. Default 30000. */
  slaCheckIntervalMs?: number;
  /** Answers messages instead of the compiled supervisor graph (tests: a fast scripted one). */
  supervisor?: Supervisor;
  /** How often the outbox looks for undelivered messages, in ms. Default 2000. */
  outboxSweepMs?: number;
  /** How long `Submission.done` (the HTTP API's answer) waits for a worker, in ms. Default 60000. */
  replyTimeoutMs?: number;
  /** Conversations processed at once. Default WORKER_CONCURRENCY (8). */
  concurrency?: number;
  /**
   * Start processing queued messages at once. Default true. `serve` and `worker` pass false and
   * call `App.startWorker()` once their adapters are attached; a gateway never does.
   */
  startWorker?: boolean;
  /**
   * Connections of the database pool. Default: 10 on a server; embedded 1 (8 with
   * JOB_QUEUE=postgres). Tests pass fewer: they start dozens of apps on one shared server, whose
   * connections are limited (`max_connections`).
   */
  poolMax?: number;
  /**
   * The database, already being opened with `appDatabaseOptions(config, logger, poolMax)` (the CLI
   * starts it while this module loads). The app owns it from here: `close` (or a failed start) closes it.
   */
  database?: Promise<Database>;
}

/**
 * The composition root: opens the database (embedded unless DATABASE_URL), migrates, loads the
 * demo data into a new embedded database, trains the offline router, builds the model engine
 * the config asks for, and compiles the supervisor with the Postgres checkpointer.
 */
export async function createApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  const registry = new WorkerRegistry(overrides.workers);
  // AGENTS: the workers run here; the others' steps are delegated (said before anything is opened).
  const local = localWorkers(config.agents, registry);
  const delegating = local !== undefined && local.length < registry.workers.length;
  if (delegating && !config.databaseUrl) {
    await overrides.database?.then((d) => d.close()).catch(() => {});
    throw delegationNeedsServer(config, "This process");
  }
  // The knowledge base (files, or its parsed cache) is read while the database opens; a failure
  // to read it is thrown below, where it is awaited.
  const knowledgeLoad = loadKnowledgeBase(config.knowledgeDir, { cacheDir: config.cacheDir });
  knowledgeLoad.catch(() => {});
  const db = await (overrides.database ?? openDatabase(appDatabaseOptions(config, logger, overrides.poolMax)));
  // The process's one LISTEN connection (a server): message outcomes and delegated steps' results.
  const listener = db.mode === "server" ? new PgListener({ url: db.url, logger, channels: [CHANNELS.messageFinished, CHANNELS.stepFinished] }) : undefined;
  let workerDeps: WorkerDepsSet | undefined;
  try {
    // A new embedded folder may come migrated (a copy of the migrated template): its migrations were applied too.
    const applied = [...db.seededMigrations, ...(await migrate(db.pool))];
    if (applied.length) logger.info({ applied }, "database migrated");
    await listener?.start();
    await loadDemoData(config, db, registry, logger);

    const knowledge = await knowledgeLoad;
    // The company's own lines (ROUTER_EXAMPLES) and the staff corrections stored so far teach it.
    const corrections = new RouterCorrections(db.pool, registry.routes);
    const offlineRouter = offlineRouterFor(registry, {
      routerExamples: config.routerExamples,
      corrections: await corrections.examples(),
      knowledge,
      cacheDir: config.cacheDir,
      logger,
    });
    logger.debug({ trainedOn: offlineRouter.trainedOn, trainMs: Math.round(offlineRouter.trainMs) }, "offline router ready");

    const metrics = new Metrics();
    // Staff hear of a model outage (and its end) through the handoff loop's staff channels.
    let tellStaff: (text: string) => void = () => {};
    const modelHealth = new ModelHealth({
      pool: db.pool,
      logger,
      metrics,
      enabled: Boolean(overrides.model) || config.llmEnabled,
      onChange: ({ state, detail }) =>
        tellStaff(
          state === "degraded"
            ? `:warning: The model is failing (${detail}). The bot goes on answering with the offline engine; answers may be plainer until it is back.`
            : "The model works again; the bot answers with it as before.",
        ),
    });
    // The LLM engine (and @langchain/openai under it) is loaded only when a model is configured.
    const llm = overrides.model || config.llmEnabled ? await import("../agents/engines/llm.ts") : undefined;
    const model = overrides.model ?? (llm && config.llmEnabled ? llm.createChatModel(config, modelHealth) : undefined);
    const router = overrides.router ?? buildRouter(config, offlineRouter, model, registry, llm);

    const checkpointer = new LatestCheckpointSaver(db.pool);
    await checkpointer.setup();
    // Every model call is recorded (model_calls, token metrics); the offline engine makes none.
    const modelCalls = model ? new ModelCallLog(db.pool, logger, metrics) : undefined;
    const deps = { pool: db.pool, knowledge, config, now: overrides.now ?? (() => new Date()) };
    // A worker with a database of its own (BILLING_DATABASE_URL) gets it where it runs, and where
    // this process is given the setting for the console's refund approvals and customer panel.
    const billing = registry.get("billing");
    const here = local ?? registry.workers;
    const opened = billing && config.billingDatabaseUrl && !here.includes(billing) ? [...here, billing] : here;
    workerDeps = await openWorkerDeps(config, opened, deps, logger);
    const refundTables = { main: db.pool, billing: billing ? workerDeps.depsOf(billing).pool : db.pool };
    const inProcess = new InProcessSteps(local ?? registry.workers, workerDeps.depsOf, model);
    let steps: QueuedSteps | undefined;
    if (delegating) {
      if (!listener) throw delegationNeedsServer(config, "This process");
      const { GraphileJobQueue } = await import("./inbox/graphile-queue.ts");
      await GraphileJobQueue.installSchema(db.pool, logger, false);
      steps = new QueuedSteps({ pool: db.pool, logger, local: inProcess, listener });
      steps.start();
      logger.info({ inProcess: inProcess.names, delegated: registry.names.filter((n) => steps!.delegates(n)) }, "delegating the other workers' steps through the shared queue");
    }
    const supervisor = compileSupervisor({
      registry,
      router,
      model,
      deps,
      steps: steps ?? inProcess,
      workerTimeoutMs: config.workerTimeoutMs,
      modelCalls,
      logger: logger.child({ component: "supervisor" }),
    }, checkpointer);

    const log = new PgConversationLog(db.pool, { preparedStatements: db.mode === "server" });
    const handoffs = new HandoffStore(db.pool);
    const queue = await createQueue(config, db, logger, overrides.concurrency ?? config.workerConcurrency);
    metrics.observeQueue(() => queue.depth());
    metrics.observeHandoffs(() => readHandoffStats(db.pool));
    const outcomes = new OutcomeWaiter({
      pool: db.pool,
      logger,
      listener,
      // The in-process queue hands every outcome over here (`settle`), so reading them back is
      // only a safety net: without a listener (embedded) the default poll read every waiting
      // message's outcome 5 times a second, about 9 ms of the database's CPU each time.
      ...(queue instanceof InProcessJobQueue ? { pollMs: IN_PROCESS_OUTCOME_POLL_MS } : {}),
      ...(overrides.replyTimeoutMs ? { timeoutMs: overrides.replyTimeoutMs } : {}),
    });
    await outcomes.start();
    const leases = new ConversationLeases({ pool: db.pool, logger, leaseMs: config.workerLeaseMs, waitMs: 2 * config.workerLeaseMs, preparedStatements: db.mode === "server" });
    const outbox = new Outbox({ pool: db.pool, logger, metrics, preparedStatements: db.mode === "server", ...(overrides.outboxSweepMs !== undefined ? { sweepMs: overrides.outboxSweepMs } : {}) });
    // HTTP and terminal users get their messages in this process; chat platforms through the adapters attached later.
    for (const channel of defaultChannels(config, logger)) outbox.attach(channel);
    outbox.start();
    const memory = new GraphMemory(supervisor);
    const handoffService = new HandoffService({
      store: handoffs,
      log,
      outbox,
      leases,
      memory,
      logger,
      slaMinutes: config.handoffSlaMinutes,
      supportHours: config.supportHours,
      ...(overrides.now ? { now: overrides.now } : {}),
      ...(overrides.slaCheckIntervalMs ? { slaCheckIntervalMs: overrides.slaCheckIntervalMs } : {}),
      refunds: createRefundLookup(refundTables),
    });
    tellStaff = (text) => handoffService.announce(text);
    const agents = new AgentDirectory(db.pool);
    const refunds = new RefundApprovals({ tables: refundTables, store: handoffs, log, outbox, logger, staff: handoffService });
    const staffDesk = new StaffDesk({ agents, handoffs: handoffService, refunds, logger });
    const intake = new Intake({ log, queue, outbox, outcomes, logger, metrics, redactor: createRedactor(config.redaction), recovers: db.mode !== "embedded-shared" });
    const turns = new TurnRunner({
      log,
      handoffs,
      handoffService,
      supervisor: overrides.supervisor ?? supervisor,
      outbox,
      queue,
      outcomes,
      leases,
      store: new TurnStore(db.pool, db.mode === "server"),
      ...(overrides.supervisor ? {} : { checkpoints: checkpointer }),
      logger,
      metrics,
      partialReplyMs: config.partialReplyMs,
    });
    let working = false;
    const startWorker = async () => {
      if (working) return;
      working = true;
      // A worker leaves the jobs of chat platforms it cannot reach to workers that can.
      const skipPlatforms = () => CHAT_PLATFORMS.filter((p) => !outbox.platforms().includes(p));
      await queue.start((job, attempt) => turns.runJob(job, attempt), { skipPlatforms });
    };
    if (overrides.startWorker !== false) await startWorker();
    return {
      config,
      db,
      log,
      handoffs,
      intake,
      outbox,
      turns,
      queue,
      startWorker,
      handoffService,
      modelHealth,
      memory,
      router,
      offlineRouter,
      corrections,
      agents,
      refunds,
      staffDesk,
      notes: new HandoffNotes(db.pool),
      savedReplies: new SavedReplies(db.pool),
      customerContext: new CustomerContext(db.pool, refundTables.billing),
      inboxChanges: new InboxChanges(db.pool),
      registry,
      knowledge,
      metrics,
      logger,
      close: async () => {
        // Stop taking work; what runs finishes (or is released to another worker).
        await queue.stop();
        await outbox.close();
        await outcomes.stop();
        await steps?.stop();
        await listener?.stop();
        leases.close();
        await handoffService.close();
        await modelCalls?.flush();
        await workerDeps?.close();
        await db.close();
      },
    };
  } catch (err) {
    await listener?.stop().catch(() => {});
    await workerDeps?.close().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}

/** How often outcomes are read back when this process's own queue settles them (see `OutcomeWaiter`). */
const IN_PROCESS_OUTCOME_POLL_MS = 2000;

/**
 * The inbox: graphile-worker on a Postgres server, the in-process queue on embedded Postgres
 * (JOB_QUEUE overrides either). graphile-worker also runs over PGlite's wire port: without named
 * prepared statements (the port's connections share one session) and without LISTEN/NOTIFY (the
 * port does not carry notifications), so its workers poll; jobs added in this process wake them
 * at once. It is not the embedded default: one process owns an embedded database anyway, and
 * graphile-worker needs several connections there (see `createApp`).
 */
async function createQueue(config: Config, db: Database, logger: Logger, concurrency: number): Promise<JobQueue> {
  const kind = config.jobQueue ?? (db.mode === "server" ? "postgres" : "memory");
  if (kind === "memory") {
    return new InProcessJobQueue({ logger, concurrency, maxAttempts: config.jobMaxAttempts });
  }
  const embedded = db.mode !== "server";
  // graphile-worker (and its dependencies) load only where it is the queue: not on embedded Postgres by default.
  const { GraphileJobQueue } = await import("./inbox/graphile-queue.ts");
  await GraphileJobQueue.installSchema(db.pool, logger, embedded);
  return new GraphileJobQueue({ pool: db.pool, logger, concurrency, maxAttempts: config.jobMaxAttempts, embedded, leaseMs: config.workerLeaseMs });
}

/** The channels every process has: HTTP (server-sent events, the webhook) and the terminal. */
function defaultChannels(config: Config, logger: Logger): ChannelAdapter[] {
  return [createHttpChannel(config, logger), createCliChannel()];
}

function buildRouter(config: Config, offline: OfflineRouter, model: BaseChatModel | undefined, registry: WorkerRegistry, llm: typeof import("../agents/engines/llm.ts") | undefined): Router {
  if (config.routerMode === "offline" || !model || !llm) return offline;
  const llmRouter = new llm.LlmRouter(model, registry.workers, offline);
  return config.routerMode === "llm" ? llmRouter : new llm.HybridRouter(offline, llmRouter, config.hybridThreshold);
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
