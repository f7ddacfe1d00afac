import type { Database } from "../db/database.ts";
import type { JobQueue } from "../inbox/job-queue.ts";
import type { ModelHealth, ModelState } from "./model-health.ts";

/** `GET /healthz` (DESIGN §4.1). */
export interface HealthReport {
  /** False when the database or, in a worker, the queue is unreachable (the answer is then 503). */
  ok: boolean;
  database: "ok" | "unreachable";
  /** `embedded`, `embedded-shared` (another process's embedded database) or `server`. */
  databaseMode: Database["mode"];
  /** `ok` / `unreachable` for the shared queue on Postgres; `in-process` for the embedded default. */
  queue: "ok" | "unreachable" | "in-process";
  /** `off` (no model configured), `ok`, or `degraded` (recent model calls failed; answering offline). */
  model: ModelState;
}

export interface HealthDeps {
  db: Pick<Database, "pool" | "mode">;
  queue: Pick<JobQueue, "kind" | "healthy">;
  modelHealth: Pick<ModelHealth, "state">;
}

/**
 * What a process can say about itself. The database is asked directly (`select 1`); the shared
 * queue says whether it can reach it and, in a worker, whether its workers are running. With
 * `requireQueue` (a worker: without the queue it does nothing) an unreachable queue fails the check.
 */
export async function checkHealth(deps: HealthDeps, options: { requireQueue?: boolean } = {}): Promise<HealthReport> {
  const database = await reachable(() => deps.db.pool.query("select 1"));
  const queue = deps.queue.kind === "memory" ? "in-process" : database === "ok" && (await deps.queue.healthy().catch(() => false)) ? "ok" : "unreachable";
  const ok = database === "ok" && (!options.requireQueue || queue !== "unreachable");
  return { ok, database, databaseMode: deps.db.mode, queue, model: deps.modelHealth.state() };
}

async function reachable(probe: () => Promise<unknown>): Promise<"ok" | "unreachable"> {
  try {
    await probe();
    return "ok";
  } catch {
    return "unreachable";
  }
}
