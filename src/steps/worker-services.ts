import type { WorkerRegistry } from "../../agents/workers/registry.ts";
import type { WorkerDefinition, WorkerDeps } from "../../agents/workers/types.ts";
import type { Config } from "../config.ts";
import { openDatabase, redactUrl, type Database } from "../db/database.ts";
import { migrate } from "../db/migrate.ts";
import { ConfigError, StorageError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";

/**
 * The workers this process runs, from `AGENTS` / `--agents`, checked against the registry.
 * Undefined: every worker (nothing is delegated).
 *
 * @param setting - how the user gave the list, for the error (`AGENTS` or `--agents`)
 */
export function localWorkers(agents: readonly string[] | undefined, registry: WorkerRegistry, setting = "AGENTS (or --agents)"): WorkerDefinition[] | undefined {
  if (!agents) return undefined;
  const unknown = agents.filter((a) => !registry.get(a));
  if (unknown.length) {
    throw new ConfigError(`${setting}: no worker named ${unknown.map((u) => `"${u}"`).join(", ")}; the workers are ${registry.names.join(", ")}`);
  }
  return registry.workers.filter((w) => agents.includes(w.name));
}

/** Delegating a worker's steps needs the shared queue on a Postgres server: said plainly at start. */
export function delegationNeedsServer(config: Pick<Config, "agents">, what: string): ConfigError {
  return new ConfigError(
    `${what} (AGENTS=${config.agents?.join(",") ?? ""}) hands the other workers' steps to their services through the shared queue, which needs a Postgres server: set DATABASE_URL. On the embedded database every worker runs in this one process (unset AGENTS).`,
  );
}

/**
 * A worker's own database setting, if it has one: its tools then use a pool of their own on it,
 * and only a process that runs the worker opens it (and holds its credentials).
 */
const OWN_DATABASE: Partial<Record<string, { setting: string; url: (c: Config) => string | undefined }>> = {
  billing: { setting: "BILLING_DATABASE_URL", url: (c) => c.billingDatabaseUrl },
};

/** The deps of each local worker, and what to close: a worker with its own database gets a pool there. */
export interface WorkerDepsSet {
  depsOf(worker: WorkerDefinition): WorkerDeps;
  close(): Promise<void>;
}

/**
 * Opens the databases of the `workers` that have one of their own (BILLING_DATABASE_URL), migrated
 * like the main one, with their demo data when DEMO_DATA=on; the other workers share `base.pool`.
 */
export async function openWorkerDeps(config: Config, workers: readonly WorkerDefinition[], base: WorkerDeps, logger: Logger): Promise<WorkerDepsSet> {
  const own = new Map<string, Database>();
  try {
    for (const w of workers) {
      const spec = OWN_DATABASE[w.name];
      const url = spec?.url(config);
      if (!spec || !url) continue;
      const db = await openDatabase({ databaseUrl: url, dataDir: config.dataDir, logger: logger.child({ component: "db", worker: w.name }) }).catch((err: unknown) => {
        throw new StorageError(`Cannot reach the ${w.name} database at ${spec.setting} (${redactUrl(url)}): ${errorMessage(err instanceof StorageError && err.cause ? err.cause : err)}`, { cause: err });
      });
      own.set(w.name, db);
      // The same schema as the main database (the worker's tables are among it), so its tools' queries
      // and the demo data apply unchanged.
      const applied = await migrate(db.pool);
      if (applied.length) logger.info({ worker: w.name, applied }, `${spec.setting} migrated`);
      if (config.demoData === "on" && w.demoSql) await db.pool.query(w.demoSql);
      logger.info({ worker: w.name }, `the ${w.name} worker uses its own database (${spec.setting})`);
    }
  } catch (err) {
    await Promise.all([...own.values()].map((d) => d.close().catch(() => {})));
    throw err;
  }
  return {
    depsOf: (w) => {
      const db = own.get(w.name);
      return db ? { ...base, pool: db.pool } : base;
    },
    close: async () => {
      await Promise.all([...own.values()].map((d) => d.close()));
    },
  };
}
